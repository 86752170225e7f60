package io.mthp4j.bench.pressure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.bench.pressure.PressureHarness.Config;
import io.mthp4j.bench.pressure.PressureHarness.Options;
import io.mthp4j.bench.pressure.PressureHarness.Planned;
import io.mthp4j.bench.pressure.PressureHarness.Pressure;
import io.mthp4j.bench.pressure.PressureHarness.Workload;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness's parts that need no root and change nothing: options, the plan, parsing, the report. */
class PressureHarnessTest {

    static PressureHarness harness(String... args) throws ReflectiveOperationException {
        Constructor<PressureHarness> c = PressureHarness.class.getDeclaredConstructor(Options.class);
        c.setAccessible(true);
        return c.newInstance(PressureHarness.parse(args));
    }

    @Test
    @DisplayName("the default plan: every cell 3 times, configurations rotated per repetition, pressures in blocks")
    void defaultPlan() throws ReflectiveOperationException {
        List<Planned> plan = harness().plan();
        assertEquals(4 * 4 * 3 + 3 * 4 * 3, plan.size(), "Redis: 4 pressures; the JVM service: 3; 4 configurations, 3 repetitions");
        for (Workload w : Workload.values()) {
            for (Pressure p : Pressure.values()) {
                for (Config c : Config.values()) {
                    long n = plan.stream().filter(x -> x.workload() == w && x.pressure() == p && x.config() == c).count();
                    assertEquals(w == Workload.JVM && p == Pressure.LIMIT_2G ? 0 : 3, n, w + " " + p + " " + c);
                }
            }
        }
        // blocks: once a pressure is left it does not come back (hugetlb pages and limits stay set within one)
        List<Pressure> order = new ArrayList<>();
        plan.forEach(x -> {
            if (order.isEmpty() || order.get(order.size() - 1) != x.pressure()) {
                order.add(x.pressure());
            }
        });
        assertEquals(List.of(Pressure.values()), order);
        // rotation: each repetition of a cell starts with another configuration
        Set<Config> firsts = new HashSet<>();
        for (int rep = 1; rep <= 3; rep++) {
            int r = rep;
            firsts.add(plan.stream().filter(x -> x.workload() == Workload.REDIS && x.pressure() == Pressure.GLOBAL && x.rep() == r)
                    .findFirst().orElseThrow().config());
        }
        assertEquals(3, firsts.size());
    }

    @Test
    @DisplayName("options select workloads, pressures and configurations; bad ones are one clear error")
    void options() throws ReflectiveOperationException {
        List<Planned> plan = harness("--reps", "2", "--workloads", "redis", "--pressures", "limit-2g", "--configs", "never,always+headroom")
                .plan();
        assertEquals(4, plan.size());
        assertTrue(plan.stream().allMatch(p -> p.workload() == Workload.REDIS && p.pressure() == Pressure.LIMIT_2G));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PressureHarness.parse(new String[] {"--pressures", "big"}));
        assertEquals("--pressures: unknown 'big'; one of none, global, limit-1.6g, limit-2g", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PressureHarness.parse(new String[] {"--reps", "0"}));
        assertEquals("--reps needs a whole number above 0, was '0'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PressureHarness.parse(new String[] {"--reps"}));
        assertTrue(e.getMessage().startsWith("--reps needs a value"));
        e = assertThrows(IllegalArgumentException.class, () -> PressureHarness.parse(new String[] {"--fast", "1"}));
        assertEquals("unknown option --fast; see --help", e.getMessage());
    }

    @Test
    @DisplayName("the cgroup mthp4j follows: the workload's own under a limit, the host's root otherwise")
    void followed() {
        assertEquals("/", Pressure.GLOBAL.followed());
        assertEquals("/", Pressure.NONE.followed());
        assertEquals("/mthp4j-eval", Pressure.LIMIT_1_6G.followed());
        assertEquals(1717986918L, Pressure.LIMIT_1_6G.limitBytes, "1.6 GiB");
    }

    @Test
    @DisplayName("sysfs choices and numeric sysctls parse; malformed text is an error naming the file")
    void parsing(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("enabled");
        Files.writeString(f, "always inherit madvise [never]\n");
        assertEquals("never", HostState.selected(f));
        Files.writeString(f, "always inherit madvise never\n");
        IOException e = assertThrows(IOException.class, () -> HostState.selected(f));
        assertTrue(e.getMessage().startsWith(f + ": expected a bracketed choice"), e.getMessage());
        Path n = dir.resolve("nr");
        Files.writeString(n, "9883\n");
        assertEquals("9883", HostState.sysctl(n));
        assertEquals("killed by SIGKILL", Child.describe(137));
        assertEquals("exit 1", Child.describe(1));
    }

    @Test
    @DisplayName("a run record is one line of JSON; a run without figures has nulls")
    void json() {
        RunRecord r = record("redis", "global", Config.ALWAYS, 1, true, "ok", Double.NaN, 2.5, Map.of("vmstat/pswpout", 7L),
                List.of("  +1.000s host THP: \"x\" -> never"));
        String j = r.json();
        assertTrue(j.contains("\"opsPerSec\":null"), j);
        assertTrue(j.contains("\"p99Ms\":2.5000"), j);
        assertTrue(j.contains("host THP: \\\"x\\\" -> never"), j);
        assertTrue(j.contains("\"deltas\":{\"vmstat/pswpout\":7}"), j);
        assertEquals(-1, j.indexOf('\n'));
    }

    @Test
    @DisplayName("medians skip runs without a figure; counters subtract")
    void statistics() {
        List<RunRecord> rs = List.of(ops(3), ops(1), ops(Double.NaN), ops(2), ops(10));
        assertEquals(2.5, Report.median(rs, RunRecord::opsPerSec));
        assertEquals(2.0, Report.median(rs.subList(0, 4), RunRecord::opsPerSec));
        assertTrue(Double.isNaN(Report.median(List.of(ops(Double.NaN)), RunRecord::opsPerSec)));
        Counters d = new Counters(Map.of("a", 10L, "b", 5L)).minus(new Counters(Map.of("a", 4L)));
        assertEquals(Map.of("a", 6L), d.values(), "a key missing before is not a delta");
        RunRecord sizes = record("redis", "none", Config.ALWAYS, 1, true, "ok", 1, 1,
                Map.of("64K/swpout", 3L, "2M/swpout", 2L, "2M/swpin", 5L, "vmstat/thp_swpout", 2L), List.of());
        assertEquals(5, sizes.allSizes("swpout"), "per-size counters only, not vmstat's thp_swpout");
    }

    @Test
    @DisplayName("targets: the hard limit is met only without a kill and at 90% of never; global needs the p99 too")
    void targets() throws ReflectiveOperationException {
        List<RunRecord> rs = new ArrayList<>();
        for (int rep = 1; rep <= 3; rep++) {
            rs.add(record("redis", "limit-1.6g", Config.ALWAYS, rep, false, "killed by SIGKILL (OOM kill)", Double.NaN, Double.NaN, Map.of(), List.of()));
            rs.add(record("redis", "limit-1.6g", Config.NEVER, rep, true, "ok", 100_000, 4, Map.of(), List.of()));
            rs.add(record("redis", "limit-1.6g", Config.HEADROOM, rep, true, "ok", 95_000, 5, Map.of(), List.of()));
            rs.add(record("redis", "limit-1.6g", Config.MTHP_EXT, rep, rep != 2, rep == 2 ? "killed by SIGKILL (OOM kill)" : "ok",
                    rep == 2 ? Double.NaN : 99_000, 5, Map.of(), List.of()));
            rs.add(record("redis", "global", Config.NEVER, rep, true, "ok", 200_000, 5, Map.of(), List.of()));
            rs.add(record("redis", "global", Config.HEADROOM, rep, true, "ok", 190_000, 8, Map.of(), List.of()));
        }
        String md = Report.markdown(rs, PressureHarness.parse(new String[0]), 1.0);
        assertTrue(md.contains("- limit-1.6g, always+headroom: **met**: killed in 0 of 3 runs (always alone: 3 of 3), 95k ops/s"), md);
        assertTrue(md.contains("- limit-1.6g, always+mthp-ext: **missed**: killed in 1 of 3 runs"), md);
        assertTrue(md.contains("- global, always+headroom: **missed**: 190k ops/s ≥ 90% of never's 200k (95%), p99 8.00 ms ≤ 1.5 × never's"
                + " 5.00 ms (1.60×)"), md);
        assertTrue(md.contains("| survived | 0/3 (3 OOM-killed) | 3/3 |"), md);
        assertTrue(md.contains("| ops/s (median) | killed | 100k |"), md);
    }

    static RunRecord ops(double v) {
        return record("redis", "none", Config.ALWAYS, 1, true, "ok", v, 1, Map.of(), List.of());
    }

    static RunRecord record(String w, String p, Config c, int rep, boolean survived, String outcome, double ops, double p99,
                            Map<String, Long> deltas, List<String> switches) {
        return new RunRecord(w, p, c.label, rep, survived, outcome, ops, p99 / 4, p99 / 2, p99, 10, switches, deltas, 0, 0, 0);
    }
}
