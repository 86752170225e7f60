package io.mthp4j.cli;

import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.kernel.ThpSysfs;
import io.mthp4j.linux.FolioCensus;
import io.mthp4j.linux.LinuxKernel;
import io.mthp4j.linux.ThpCounters;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code mthp4j status [--pid PID]}: THP settings, per-size counters, and a process's folio census. */
final class StatusCommand implements Command {

    static final List<String> SETTINGS = List.of("enabled", "defrag", "shmem_enabled", "use_zero_page",
            "khugepaged/defrag", "khugepaged/pages_to_scan", "khugepaged/scan_sleep_millisecs", "khugepaged/max_ptes_none",
            "khugepaged/max_ptes_swap", "khugepaged/max_ptes_shared", "khugepaged/pages_collapsed", "khugepaged/full_scans");
    static final List<String> SIZE_COUNTERS = List.of("anon_fault_alloc", "anon_fault_fallback", "anon_fault_fallback_charge",
            "swpout", "swpin", "split", "nr_anon", "nr_anon_partially_mapped", "shmem_alloc");
    /** Column titles of {@link #SIZE_COUNTERS} in the text table. */
    static final List<String> SIZE_TITLES = List.of("fault_alloc", "fallback", "fb_charge", "swpout", "swpin", "split",
            "nr_anon", "partial", "shmem_alloc");

    private final Options options = Options.builder("mthp4j status", "[options]", """
            Prints the THP settings of this host (/sys/kernel/mm/transparent_hugepage: the top level, khugepaged,
            and per size enabled and shmem_enabled), the per-size counters (hugepages-<N>kB/stats) and the
            PMD-only thp_* lines of /proc/vmstat. With --pid, also which folio sizes back that process's memory
            (from pagemap and kpageflags, as tools/mm/thpmaps; needs root). Reads only.""")
            .option("pid", 'p', "PID", "also the folio census of this process")
            .flag("json", 'j', "print the status as JSON")
            .build();

    @Override
    public String name() {
        return "status";
    }

    @Override
    public String summary() {
        return "print THP settings, per-size counters and, with --pid, a process's folios by size";
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public int run(Options.Parsed args, Io io) {
        long pid = args.longValue("pid", 0, 1, Integer.MAX_VALUE);
        try (LinuxKernel kernel = Host.open(null)) {
            ThpSysfs thp = ((KernelBackend) kernel).thp();
            PageGeometry g = kernel.geometry();
            Map<String, Object> status = new LinkedHashMap<>();
            Map<String, Object> settings = new LinkedHashMap<>();
            for (String s : SETTINGS) {
                String v = thp.readFile(s);
                if (v != null) {
                    settings.put(s, selected(v));
                }
            }
            status.put("settings", settings);
            ThpCounters counters = kernel.counters();
            List<Object> sizes = new ArrayList<>();
            for (long rest = g.sysfsOrders(); rest != 0; rest &= rest - 1) {
                int order = Long.numberOfTrailingZeros(rest);
                String dir = g.sizeDirectory(order);
                Map<String, Object> size = new LinkedHashMap<>();
                size.put("size", Orders.formatSize(g.bytes(order)));
                String enabled = thp.readFile(dir + "/enabled");
                String shmem = thp.readFile(dir + "/shmem_enabled");
                size.put("enabled", enabled == null ? null : selected(enabled));
                size.put("shmem_enabled", shmem == null ? null : selected(shmem));
                Map<String, Object> stats = new LinkedHashMap<>();
                for (String c : SIZE_COUNTERS) {
                    String key = Orders.formatSize(g.bytes(order)) + "/" + c;
                    if (counters.values().containsKey(key)) {
                        stats.put(c, counters.get(key));
                    }
                }
                size.put("stats", stats);
                sizes.add(size);
            }
            status.put("sizes", sizes);
            Map<String, Object> vmstat = new LinkedHashMap<>();
            counters.values().forEach((k, v) -> {
                if (k.startsWith("vmstat/")) {
                    vmstat.put(k.substring(7), v);
                }
            });
            status.put("vmstat", vmstat);
            FolioCensus census = null;
            if (pid != 0) {
                try {
                    census = FolioCensus.ofProcess(pid, g);
                } catch (io.mthp4j.api.KernelException e) {
                    throw Host.fromKernel(e);
                }
                Map<String, Object> cm = new LinkedHashMap<>();
                cm.put("pid", pid);
                Map<String, Object> bySize = new LinkedHashMap<>();
                census.foliosByOrder().forEach((order, n) -> bySize.put(Orders.formatSize(g.bytes(order)), n));
                cm.put("folios", bySize);
                cm.put("partial_pages", census.partialPages());
                cm.put("zero_pages", census.zeroPages());
                cm.put("absent_pages", census.absentPages());
                status.put("census", cm);
            }
            io.out().print(args.has("json") ? Json.write(status) : text(status, census, g, pid));
            return ExitCode.OK;
        }
    }

    /** The selected word of a sysfs choice ({@code always [madvise] never} gives {@code madvise}). */
    static String selected(String text) {
        String t = text.strip();
        int open = t.indexOf('[');
        int close = t.indexOf(']', open + 1);
        return open >= 0 && close > open ? t.substring(open + 1, close) : t;
    }

    @SuppressWarnings("unchecked")
    private static String text(Map<String, Object> status, FolioCensus census, PageGeometry g, long pid) {
        StringBuilder b = new StringBuilder("THP settings (/sys/kernel/mm/transparent_hugepage)\n");
        ((Map<String, Object>) status.get("settings")).forEach((k, v) -> b.append(String.format(Locale.ROOT, "  %-32s %s%n", k, v)));
        b.append("\nPer size (enabled, shmem_enabled, hugepages-<N>kB/stats: anon_fault_alloc, anon_fault_fallback,\n")
                .append("anon_fault_fallback_charge, swpout, swpin, split, nr_anon, nr_anon_partially_mapped, shmem_alloc)\n");
        List<String> header = new ArrayList<>(List.of("size", "enabled", "shmem"));
        header.addAll(SIZE_TITLES);
        List<List<String>> rows = new ArrayList<>();
        rows.add(header);
        for (Object o : (List<Object>) status.get("sizes")) {
            Map<String, Object> s = (Map<String, Object>) o;
            Map<String, Object> stats = (Map<String, Object>) s.get("stats");
            List<String> row = new ArrayList<>();
            row.add((String) s.get("size"));
            row.add(s.get("enabled") == null ? "-" : (String) s.get("enabled"));
            row.add(s.get("shmem_enabled") == null ? "-" : (String) s.get("shmem_enabled"));
            for (String c : SIZE_COUNTERS) {
                row.add(stats.containsKey(c) ? stats.get(c).toString() : "-");
            }
            rows.add(row);
        }
        b.append(columns(rows));
        b.append("\n/proc/vmstat (PMD order only)\n");
        ((Map<String, Object>) status.get("vmstat")).forEach((k, v) -> {
            if (!(v instanceof Long l && l == 0)) {
                b.append(String.format(Locale.ROOT, "  %-32s %s%n", k, v));
            }
        });
        if (census != null) {
            b.append("\nFolios of process ").append(pid).append(" (pagemap + kpageflags)\n");
            List<List<String>> cr = new ArrayList<>();
            cr.add(List.of("size", "folios", "bytes"));
            census.foliosByOrder().forEach((order, n) -> cr.add(List.of(Orders.formatSize(g.bytes(order)), Long.toString(n),
                    Units.formatBytes(n * g.bytes(order)))));
            b.append(columns(cr));
            b.append(String.format(Locale.ROOT, "  partly mapped large folios: %d pages; zero page: %d pages; not present: %d pages%n",
                    census.partialPages(), census.zeroPages(), census.absentPages()));
        }
        return b.toString();
    }

    static String columns(List<List<String>> rows) {
        int[] w = new int[rows.get(0).size()];
        for (List<String> r : rows) {
            for (int i = 0; i < r.size(); i++) {
                w[i] = Math.max(w[i], r.get(i).length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (List<String> r : rows) {
            StringBuilder line = new StringBuilder(" ");
            for (int i = 0; i < r.size(); i++) {
                line.append(' ').append(i == 0 ? r.get(i) + " ".repeat(w[i] - r.get(i).length())
                        : " ".repeat(w[i] - r.get(i).length()) + r.get(i));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }
}
