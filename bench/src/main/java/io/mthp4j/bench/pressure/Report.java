package io.mthp4j.bench.pressure;

import io.mthp4j.bench.pressure.PressureHarness.Config;
import io.mthp4j.bench.pressure.PressureHarness.Options;
import io.mthp4j.bench.pressure.PressureHarness.Pressure;
import io.mthp4j.bench.pressure.PressureHarness.Workload;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The seed's table shape from the runs: for each workload and pressure, one column per configuration, medians
 * with the spread (min–max) of the repetitions and the change against {@code always}; then the counters that
 * explain them and the targets, each said to be met or missed.
 */
final class Report {
    private Report() {
    }

    static String markdown(List<RunRecord> records, Options o, double minutes) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "# Pressure evaluation: %d runs in %.1f minutes%n", records.size(), minutes));
        for (Workload w : Workload.values()) {
            for (Pressure p : Pressure.values()) {
                List<RunRecord> cell = records.stream().filter(r -> r.workload().equals(w.label) && r.pressure().equals(p.label)).toList();
                if (!cell.isEmpty()) {
                    table(b, w, p, cell, o.configs);
                }
            }
        }
        b.append("\n## Targets\n\n");
        for (Workload w : Workload.values()) {
            targets(b, w, records.stream().filter(r -> r.workload().equals(w.label)).toList(), o.configs);
        }
        return b.toString();
    }

    private static List<RunRecord> of(List<RunRecord> cell, Config c) {
        return cell.stream().filter(r -> r.config().equals(c.label)).toList();
    }

    private static void table(StringBuilder b, Workload w, Pressure p, List<RunRecord> cell, List<Config> configs) {
        List<Config> cols = configs.stream().filter(c -> !of(cell, c).isEmpty()).toList();
        b.append("\n## ").append(w.label).append(", pressure: ").append(p.label).append("\n\n|  |");
        cols.forEach(c -> b.append(' ').append(c.label).append(" |"));
        b.append("\n|---|");
        cols.forEach(c -> b.append("---|"));
        b.append('\n');
        List<RunRecord> always = of(cell, Config.ALWAYS);
        double alwaysOps = median(always, RunRecord::opsPerSec);
        double alwaysP99 = median(always, RunRecord::p99Ms);
        row(b, "ops/s (median)", cols, cell, c -> {
            double m = median(of(cell, c), RunRecord::opsPerSec);
            return Double.isNaN(m) ? "killed" : kilo(m) + vs(m, alwaysOps, c);
        });
        row(b, "ops/s (min–max)", cols, cell, c -> spread(of(cell, c), RunRecord::opsPerSec, true));
        row(b, "p50 ms", cols, cell, c -> ms(median(of(cell, c), RunRecord::p50Ms)));
        row(b, "p95 ms", cols, cell, c -> ms(median(of(cell, c), RunRecord::p95Ms)));
        row(b, "p99 ms (median)", cols, cell, c -> {
            double m = median(of(cell, c), RunRecord::p99Ms);
            return ms(m) + (Double.isNaN(m) ? "" : vs(m, alwaysP99, c));
        });
        row(b, "p99 ms (min–max)", cols, cell, c -> spread(of(cell, c), RunRecord::p99Ms, false));
        row(b, "survived", cols, cell, c -> {
            List<RunRecord> rs = of(cell, c);
            long ok = rs.stream().filter(RunRecord::survived).count();
            long oom = rs.stream().filter(RunRecord::oomKilled).count();
            return ok + "/" + rs.size() + (oom > 0 ? " (" + oom + " OOM-killed)" : "");
        });
        row(b, "pages swapped out (pswpout)", cols, cell, c -> kilo(median(of(cell, c), r -> r.pswpout())));
        row(b, "pages swapped in (pswpin)", cols, cell, c -> kilo(median(of(cell, c), r -> r.pswpin())));
        row(b, "large folios swapped out (swpout, all sizes)", cols, cell, c -> kilo(median(of(cell, c), r -> r.allSizes("swpout"))));
        row(b, "large folios faulted (anon_fault_alloc)", cols, cell, c -> kilo(median(of(cell, c), r -> r.allSizes("anon_fault_alloc"))));
        row(b, "large fault fallbacks (anon_fault_fallback)", cols, cell,
                c -> kilo(median(of(cell, c), r -> r.allSizes("anon_fault_fallback"))));
        row(b, "memory stall, full (s)", cols, cell, c -> String.format(Locale.ROOT, "%.1f",
                median(of(cell, c), r -> r.delta(p.limited() ? "psi.cgroup.full" : "psi.system.full") / 1e6)));
        row(b, "policy switches", cols, cell, c -> String.format(Locale.ROOT, "%.0f", median(of(cell, c), r -> r.switches().size())));
        if (p == Pressure.GLOBAL) {
            row(b, "MemFree at the start (MiB)", cols, cell, c -> String.format(Locale.ROOT, "%.0f",
                    median(of(cell, c), r -> r.freeAtStart() / 1048576.0)));
        }
        if (p.limited()) {
            row(b, "peak usage (MiB)", cols, cell, c -> String.format(Locale.ROOT, "%.0f", median(of(cell, c), r -> r.peakBytes() / 1048576.0)));
        }
    }

    private interface Cell {
        String text(Config c);
    }

    private static void row(StringBuilder b, String name, List<Config> cols, List<RunRecord> cell, Cell f) {
        b.append("| ").append(name).append(" |");
        cols.forEach(c -> b.append(' ').append(f.text(c)).append(" |"));
        b.append('\n');
    }

    static double median(List<RunRecord> rs, ToDoubleFunction<RunRecord> f) {
        double[] v = rs.stream().mapToDouble(f).filter(Double::isFinite).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static double min(List<RunRecord> rs, ToDoubleFunction<RunRecord> f) {
        return rs.stream().mapToDouble(f).filter(Double::isFinite).min().orElse(Double.NaN);
    }

    static double max(List<RunRecord> rs, ToDoubleFunction<RunRecord> f) {
        return rs.stream().mapToDouble(f).filter(Double::isFinite).max().orElse(Double.NaN);
    }

    private static String spread(List<RunRecord> rs, ToDoubleFunction<RunRecord> f, boolean kilo) {
        double lo = min(rs, f), hi = max(rs, f);
        if (Double.isNaN(lo)) {
            return "–";
        }
        return kilo ? kilo(lo) + "–" + kilo(hi) : ms(lo) + "–" + ms(hi);
    }

    private static String vs(double v, double always, Config c) {
        if (c == Config.ALWAYS || Double.isNaN(always) || always == 0) {
            return "";
        }
        return String.format(Locale.ROOT, " (%+.0f%%)", (v / always - 1) * 100);
    }

    static String kilo(double v) {
        if (Double.isNaN(v)) {
            return "–";
        }
        if (Math.abs(v) >= 10e6) {
            return String.format(Locale.ROOT, "%.1fM", v / 1e6);
        }
        if (Math.abs(v) >= 10e3) {
            return String.format(Locale.ROOT, "%.0fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String ms(double v) {
        if (Double.isNaN(v)) {
            return "–";
        }
        return String.format(Locale.ROOT, v >= 10 ? "%.1f" : v >= 0.1 ? "%.2f" : "%.4f", v);
    }

    /** The targets for one workload, each met or missed with its numbers. */
    private static void targets(StringBuilder b, Workload w, List<RunRecord> rs, List<Config> configs) {
        if (rs.isEmpty()) {
            return;
        }
        b.append("### ").append(w.label).append("\n\n");
        List<Config> ours = configs.stream().filter(c -> c.policy != null).toList();
        for (Pressure p : Pressure.values()) {
            List<RunRecord> cell = rs.stream().filter(r -> r.pressure().equals(p.label)).toList();
            if (cell.isEmpty()) {
                continue;
            }
            List<RunRecord> never = of(cell, Config.NEVER), always = of(cell, Config.ALWAYS);
            double neverOps = median(never, RunRecord::opsPerSec), neverP99 = median(never, RunRecord::p99Ms);
            for (Config c : ours) {
                List<RunRecord> mine = of(cell, c);
                if (mine.isEmpty()) {
                    continue;
                }
                double ops = median(mine, RunRecord::opsPerSec), p99 = median(mine, RunRecord::p99Ms);
                String line;
                boolean met;
                switch (p) {
                    case NONE -> {
                        double lo = min(always, RunRecord::opsPerSec), hi = max(always, RunRecord::opsPerSec);
                        met = ops >= lo && ops <= hi;
                        line = String.format(Locale.ROOT, "median %s ops/s within always's spread %s–%s", kilo(ops), kilo(lo), kilo(hi));
                    }
                    case GLOBAL -> {
                        met = ops >= 0.9 * neverOps && p99 <= 1.5 * neverP99;
                        line = String.format(Locale.ROOT, "%s ops/s ≥ 90%% of never's %s (%.0f%%), p99 %s ms ≤ 1.5 × never's %s ms (%.2f×)",
                                kilo(ops), kilo(neverOps), 100 * ops / neverOps, ms(p99), ms(neverP99), p99 / neverP99);
                    }
                    default -> {
                        long killed = mine.stream().filter(r -> !r.survived()).count();
                        long alwaysKilled = always.stream().filter(r -> !r.survived()).count();
                        met = killed == 0 && ops >= 0.9 * neverOps;
                        line = String.format(Locale.ROOT, "killed in %d of %d runs (always alone: %d of %d), %s ops/s ≥ 90%% of never's %s (%.0f%%)",
                                killed, mine.size(), alwaysKilled, always.size(), kilo(ops), kilo(neverOps), 100 * ops / neverOps);
                    }
                }
                if (p.limited() && c != Config.HEADROOM) {
                    line += " (the target names the headroom policy; shown for comparison)";
                }
                b.append("- ").append(p.label).append(", ").append(c.label).append(": ").append(met ? "**met**" : "**missed**")
                        .append(": ").append(line).append('\n');
            }
        }
        b.append('\n');
    }
}
