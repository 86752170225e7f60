package io.mthp4j.bench.pressure;

import io.mthp4j.linux.LinuxKernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One reading of the counters a run is judged by: linux-backend's THP counters (every per-size {@code stats/}
 * file as {@code 64K/swpout}, and {@code vmstat/thp_*}, kernel-semantics.md §3.3), the other {@code /proc/vmstat}
 * lines the evaluation reads ({@link #VMSTAT}, as {@code vmstat/<name>}), the memory PSI totals of the system and of
 * the evaluation's v2 cgroup (µs), and the v1 memcg's OOM kills. {@link #minus} gives a run's deltas; gauges
 * ({@code nr_anon}, {@code nr_anon_partially_mapped}) are deltas too, which is what a run did to them.
 */
record Counters(Map<String, Long> values) {
    private static final Path PSI = Path.of("/proc/pressure/memory");
    /** The vmstat counters kept besides {@code thp_*}: swap, reclaim, stalls, OOM kills. */
    static final List<String> VMSTAT = List.of("pswp", "pgmajfault", "pgsteal", "pgscan", "allocstall", "compact_stall",
            "oom_kill", "workingset");

    static Counters read(LinuxKernel kernel) throws IOException {
        Map<String, Long> v = new TreeMap<>(kernel.counters().values());
        for (String l : Files.readAllLines(Path.of("/proc/vmstat"))) {
            String[] f = l.split(" ");
            if (f.length == 2 && VMSTAT.stream().anyMatch(f[0]::startsWith)) {
                v.put("vmstat/" + f[0], Long.parseLong(f[1]));
            }
        }
        psi(v, "psi.system.", PSI);
        Path cg = Cgroups.V2.resolve("memory.pressure");
        if (Files.exists(cg)) {
            psi(v, "psi.cgroup.", cg);
        }
        if (Files.exists(Cgroups.V1.resolve("memory.oom_control"))) {
            v.put("memcg.oom_kill", Cgroups.oomKills());
            v.put("memcg.failcnt", Cgroups.v1("memory.failcnt"));
        }
        return new Counters(v);
    }

    /** {@code some avg10=… total=N} lines: {@code prefix + "some"} / {@code "full"} = total µs. */
    private static void psi(Map<String, Long> v, String prefix, Path file) throws IOException {
        for (String l : Files.readAllLines(file)) {
            String[] f = l.split(" ");
            for (String field : f) {
                if (field.startsWith("total=")) {
                    v.put(prefix + f[0], Long.parseLong(field.substring(6)));
                }
            }
        }
    }

    /** {@code this - before} for every counter both readings have, keeping only those that moved. */
    Counters minus(Counters before) {
        Map<String, Long> d = new TreeMap<>();
        for (Map.Entry<String, Long> e : values.entrySet()) {
            Long b = before.values.get(e.getKey());
            if (b != null && e.getValue() - b != 0) {
                d.put(e.getKey(), e.getValue() - b);
            }
        }
        return new Counters(d);
    }

    long get(String key) {
        return values.getOrDefault(key, 0L);
    }
}
