package io.mthp4j.bench.pressure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One reading of the counters a run is judged by: every per-size {@code stats/} file (kernel-semantics.md §3.3;
 * named {@code 64kB.swpout}), every {@code /proc/vmstat} line, the memory PSI totals of the system and of the
 * evaluation's v2 cgroup (µs), and the v1 memcg's OOM kills. {@link #minus} gives a run's deltas; gauges
 * ({@code nr_anon}, {@code nr_anon_partially_mapped}, {@code nr_*} in vmstat) are deltas too, which is what a
 * run did to them.
 */
record Counters(Map<String, Long> values) {
    private static final Path PSI = Path.of("/proc/pressure/memory");

    static Counters read() throws IOException {
        Map<String, Long> v = new TreeMap<>();
        for (String knob : HostState.sizeKnobs()) {
            Path dir = HostState.THP.resolve(knob).getParent();
            String size = dir.getFileName().toString().substring("hugepages-".length());
            try (var stats = Files.list(dir.resolve("stats"))) {
                for (Path f : (Iterable<Path>) stats::iterator) {
                    v.put(size + "." + f.getFileName(), Long.parseLong(Files.readString(f).trim()));
                }
            }
        }
        for (String l : Files.readAllLines(Path.of("/proc/vmstat"))) {
            String[] f = l.split(" ");
            if (f.length == 2) {
                v.put("vmstat." + f[0], Long.parseLong(f[1]));
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

    Counters minus(Counters before) {
        Map<String, Long> d = new TreeMap<>();
        for (Map.Entry<String, Long> e : values.entrySet()) {
            Long b = before.values.get(e.getKey());
            if (b != null) {
                d.put(e.getKey(), e.getValue() - b);
            }
        }
        return new Counters(d);
    }

    long get(String key) {
        return values.getOrDefault(key, 0L);
    }

    /** The sum of {@code <size>.<stat>} over every size. */
    long allSizes(String stat) {
        long sum = 0;
        for (Map.Entry<String, Long> e : values.entrySet()) {
            if (e.getKey().endsWith("kB." + stat)) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    /** {@code <size>.<stat>} for each size with a nonzero value, smallest first: {@code 16kB=120 2048kB=3}. */
    Map<String, Long> bySize(String stat) {
        Map<String, Long> out = new LinkedHashMap<>();
        try {
            for (String knob : HostState.sizeKnobs()) {
                String size = knob.substring("hugepages-".length(), knob.indexOf('/'));
                long n = get(size + "." + stat);
                if (n != 0) {
                    out.put(size, n);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** The nonzero deltas, for the run record. */
    Map<String, Long> nonZero(List<String> prefixes) {
        Map<String, Long> out = new TreeMap<>();
        values.forEach((k, n) -> {
            if (n != 0 && prefixes.stream().anyMatch(k::startsWith)) {
                out.put(k, n);
            }
        });
        return out;
    }
}
