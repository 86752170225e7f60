package io.mthp4j.linux;

import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.kernel.ThpSysfs;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A snapshot of the THP counters: {@code /proc/vmstat thp_*} (PMD order only) as {@code vmstat/<name>} and the
 * per-size {@code hugepages-<N>kB/stats/<name>} as {@code <size>/<name>} (e.g. {@code 64K/anon_fault_alloc}) (kernel-semantics.md §3.3). All are
 * system-wide, so deltas include other processes' activity (linux-interfaces.md §6.2: assert with a
 * tolerance). {@code nr_anon} and {@code nr_anon_partially_mapped} are gauges; everything else only grows.
 *
 * @param values counter name to value
 */
public record ThpCounters(SortedMap<String, Long> values) {

    static final Path VMSTAT = Path.of("/proc/vmstat");

    public ThpCounters {
        values = Collections.unmodifiableSortedMap(new TreeMap<>(values));
    }

    /** Reads every counter now. */
    static ThpCounters read(ThpSysfs sysfs, Path thpRoot) {
        SortedMap<String, Long> out = new TreeMap<>();
        ProcText.keyValues(ProcText.read(VMSTAT, null)).forEach((k, v) -> {
            if (k.startsWith("thp_")) {
                out.put("vmstat/" + k, v);
            }
        });
        PageGeometry g = sysfs.geometry();
        for (long rest = g.sysfsOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            String dir = g.sizeDirectory(order);
            try (DirectoryStream<Path> s = Files.newDirectoryStream(thpRoot.resolve(dir).resolve("stats"))) {
                for (Path p : s) {
                    String name = p.getFileName().toString();
                    out.put(sizeKey(order, g, name), sysfs.sizeStat(order, name));
                }
            } catch (IOException e) {
                // no stats directory for this size on this kernel
            }
        }
        return new ThpCounters(out);
    }

    static String sizeKey(int order, PageGeometry g, String name) {
        return Orders.formatSize(g.bytes(order)) + "/" + name;
    }

    /** One counter, 0 if absent. */
    public long get(String name) {
        return values.getOrDefault(name, 0L);
    }

    /** {@code this - before} for every counter, keeping only those that moved. */
    public SortedMap<String, Long> since(ThpCounters before) {
        SortedMap<String, Long> out = new TreeMap<>();
        values.forEach((k, v) -> {
            long d = v - before.get(k);
            if (d != 0) {
                out.put(k, d);
            }
        });
        return Collections.unmodifiableSortedMap(out);
    }
}
