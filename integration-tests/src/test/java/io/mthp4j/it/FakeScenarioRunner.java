package io.mthp4j.it;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeKernelConfig;
import io.mthp4j.fake.FakeProcess;
import io.mthp4j.linux.Scenario;
import io.mthp4j.linux.ScenarioResult;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The fake half of the differential suite: runs a {@link Scenario} on a fresh {@link FakeKernel} the way
 * {@code ScenarioRunner} runs it on this JVM (settings, prctl, a PMD-aligned private mapping, advice, a write to
 * every page, optional MADV_COLLAPSE) and reports the same {@link ScenarioResult}: folios by order, absent
 * pages, the collapse errno and the counters that moved, named as {@code ThpCounters} names them.
 */
final class FakeScenarioRunner {

    private static final String[] SIZE_STATS = {"anon_fault_alloc", "anon_fault_fallback", "anon_fault_fallback_charge",
            "split_deferred", "nr_anon", "nr_anon_partially_mapped", "shmem_alloc", "shmem_fallback",
            "shmem_fallback_charge", "zswpout", "swpin", "swpin_fallback", "swpin_fallback_charge", "swpout",
            "swpout_fallback", "split", "split_failed"};

    /** Runs {@code s} on top of {@code base}, the settings the real run starts from. */
    ScenarioResult run(Scenario s, io.mthp4j.api.ThpSettings base) {
        FakeKernel kernel = FakeKernel.create(FakeKernelConfig.x86_64());
        PageGeometry g = kernel.geometry();
        kernel.thp().apply(s.settings(base));
        FakeProcess p = kernel.spawn(kernel.cgroups().root());
        p.setThpMode(s.prctl());
        long length = g.pmdSize() * s.pmdBlocks();
        long region = p.mmapAnonymous(length);
        SortedMap<String, Long> before = counters(kernel);
        if (s.advice() != null) {
            p.madvise(region, length, s.advice());
        }
        p.write(region, length);
        Errno collapseError = null;
        if (s.collapse()) {
            try {
                p.madvise(region, length, Madvice.COLLAPSE);
            } catch (KernelException e) {
                collapseError = e.errno();
            }
        }
        SortedMap<Integer, Long> folios = new TreeMap<>();
        long present = 0;
        for (Map.Entry<Long, Long> e : p.census(region, length).entrySet()) {
            int order = Orders.order(e.getKey(), g.pageSize());
            folios.put(order, e.getValue() / e.getKey());
            present += e.getValue() / g.pageSize();
        }
        SortedMap<String, Long> after = counters(kernel);
        SortedMap<String, Long> deltas = new TreeMap<>();
        after.forEach((k, v) -> {
            long d = v - before.getOrDefault(k, 0L);
            if (d != 0) {
                deltas.put(k, d);
            }
        });
        kernel.checkInvariants();
        return new ScenarioResult(s, folios, length / g.pageSize() - present, collapseError, deltas);
    }

    /** The fake's counters under ThpCounters' names: {@code vmstat/thp_*} and {@code <size>/<stat>}. */
    static SortedMap<String, Long> counters(FakeKernel kernel) {
        SortedMap<String, Long> out = new TreeMap<>();
        for (String line : kernel.readFile("/proc/vmstat").split("\n")) {
            String[] kv = line.split(" ");
            if (kv[0].startsWith("thp_")) {
                out.put("vmstat/" + kv[0], Long.parseLong(kv[1]));
            }
        }
        PageGeometry g = kernel.geometry();
        for (long rest = g.sysfsOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            for (String name : SIZE_STATS) {
                String file = "/sys/kernel/mm/transparent_hugepage/" + g.sizeDirectory(order) + "/stats/" + name;
                try {
                    out.put(Orders.formatSize(g.bytes(order)) + "/" + name, Long.parseLong(kernel.readFile(file).strip()));
                } catch (KernelException absent) {
                    // this size has no such counter (anon counters for file-only sizes)
                }
            }
        }
        return out;
    }
}
