package io.mthp4j.cli.sim;

import io.mthp4j.cli.Units;
import io.mthp4j.cli.sim.RunResult.Metric;
import io.mthp4j.cli.sim.Scenario.Condition;
import io.mthp4j.cli.sim.Scenario.Limit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The tables of {@code mthp4j simulate} in the shape of the seed's evaluation (pressure-experiment.md): one
 * table per condition, one column per configuration, the difference from {@code always} in brackets; and the
 * same numbers as JSON.
 */
public final class Report {

    /** Said before every table: the figures are the model's, and which parts of it are faithful. */
    static final String MODELED_NOTICE = """
            MODELED, NOT MEASURED. Every figure comes from mthp4j's fake Linux 6.18 kernel, not from this machine.
              Emulated (the kernel's rules): the order gate with sysfs, prctl and madvise; the anonymous and shmem
              fault paths with mTHP fallback and the per-size counters; memcg charging; khugepaged; PSI averages
              and triggers (ported from psi.c), which drive the controller.
              Modeled (deterministic stand-ins): reclaim (a clock over page tables that swaps folios out whole),
              swap (a zram-like device: folios come back at the largest allowed size below 2M, as 6.18
              does without zswap, the main cost of 'always' in the seed's measurement), stall (a fixed cost per reclaimed and per
              swapped-in page plus the memory.high throttling penalty), physical memory as a page count.
              Not modeled: compaction, zones, the memcg charge batch.
              Compare the configurations with each other, not with a real host: docs/fidelity.md says what is
              emulated and what is modeled, and the known differences from a real kernel.
            """;

    private Report() {
    }

    /** The text report. {@code results} hold one run per condition × configuration. */
    public static String text(Scenario scenario, List<Configuration> configurations, List<RunResult> results) {
        StringBuilder b = new StringBuilder();
        b.append("mthp4j simulate: scenario \"").append(scenario.name()).append("\", seed ").append(scenario.seed())
                .append(", ").append(Units.formatDuration(scenario.duration())).append(" of virtual time per run in steps of ")
                .append(Units.formatDuration(scenario.step())).append(", host ").append(Units.formatBytes(scenario.memoryBytes()))
                .append(" memory, ").append(Units.formatBytes(scenario.swapBytes())).append(" swap\n");
        b.append(workloads(scenario));
        b.append('\n').append(MODELED_NOTICE);
        for (Condition c : scenario.conditions()) {
            b.append('\n').append("Condition: ").append(c.name()).append(limits(c)).append("\n\n");
            b.append(table(configurations, results.stream().filter(r -> r.condition().equals(c.name())).toList()));
        }
        b.append('\n').append("""
                Differences in brackets are relative to 'always'. Writes/s: per process, its page writes divided by
                the run time plus the mean modeled stall of the workload's processes, summed over them (the proxy
                of throughput the model allows); p99 stall per step:
                the 99th percentile of the stall one process met in one step, a bound on the extra latency of a
                request in that step. A '-' means not applicable to that configuration.
                """);
        return b.toString();
    }

    static String workloads(Scenario s) {
        StringBuilder b = new StringBuilder("workloads:");
        for (Scenario.Workload w : s.workloads()) {
            b.append(' ').append(w.name()).append(" (").append(w.count() > 1 ? w.count() + " x " : "");
            List<String> regions = new ArrayList<>();
            for (Scenario.Region r : w.regions()) {
                regions.add(Units.formatBytes(r.bytes()) + " " + r.pattern().name().toLowerCase(Locale.ROOT));
            }
            b.append(String.join(" + ", regions)).append(" in ").append(w.cgroup()).append(')');
        }
        return b.append('\n').toString();
    }

    static String limits(Condition c) {
        List<String> parts = new ArrayList<>();
        if (c.hostMemory() != 0) {
            parts.add("host memory " + Units.formatBytes(c.hostMemory()));
        }
        if (c.limits().isEmpty() && parts.isEmpty()) {
            return " (no limits)";
        }
        for (Limit l : c.limits()) {
            parts.add(l.cgroup() + " " + l.file() + "=" + (l.bytes() == Long.MAX_VALUE ? "max" : Units.formatBytes(l.bytes())));
        }
        return " (" + String.join(", ", parts) + ")";
    }

    /** One condition's table. */
    static String table(List<Configuration> configurations, List<RunResult> runs) {
        Map<Configuration, RunResult> byConfig = new LinkedHashMap<>();
        for (RunResult r : runs) {
            byConfig.put(r.configuration(), r);
        }
        RunResult base = byConfig.get(Configuration.ALWAYS);
        List<Metric> metrics = runs.isEmpty() ? List.of() : runs.get(0).metrics();
        List<String[]> rows = new ArrayList<>();
        String section = null;
        String[] header = new String[configurations.size() + 1];
        header[0] = "";
        for (int i = 0; i < configurations.size(); i++) {
            header[i + 1] = configurations.get(i).title();
        }
        rows.add(header);
        for (Metric m : metrics) {
            if (skip(m, runs)) {
                continue;
            }
            if (!m.section().equals(section)) {
                section = m.section();
                rows.add(new String[] {section + (m.unit().equals("MiB") && section.startsWith("Folios") ? " (MiB)" : "")});
            }
            String[] row = new String[configurations.size() + 1];
            row[0] = "  " + m.label() + (m.unit().isEmpty() || section.startsWith("Folios") ? "" : " (" + m.unit() + ")");
            for (int i = 0; i < configurations.size(); i++) {
                RunResult r = byConfig.get(configurations.get(i));
                Double v = r == null ? null : r.value(m.key());
                String cell = v == null ? "-" : format(v, m.unit());
                Double bv = base == null || r == base ? null : base.value(m.key());
                if (v != null && bv != null) {
                    cell += " " + difference(v, bv);
                }
                row[i + 1] = cell;
            }
            rows.add(row);
        }
        return render(rows);
    }

    /** Folio sizes no run has any memory in are left out; so are the controller rows when nothing ran one. */
    private static boolean skip(Metric m, List<RunResult> runs) {
        if (!m.key().startsWith("folios.") && !m.key().startsWith("controller.")) {
            return false;
        }
        for (RunResult r : runs) {
            Double v = r.value(m.key());
            if (v != null && (v != 0 || m.key().startsWith("controller."))) {
                return false;
            }
        }
        return true;
    }

    private static String render(List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] width = new int[cols];
        for (String[] row : rows) {
            if (row.length == 1) {
                continue;
            }
            for (int i = 0; i < cols; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] row : rows) {
            if (row.length == 1) {
                b.append(row[0]).append('\n');
                continue;
            }
            StringBuilder line = new StringBuilder();
            line.append(row[0]).append(" ".repeat(width[0] - row[0].length()));
            for (int i = 1; i < cols; i++) {
                line.append("  ").append(" ".repeat(width[i] - row[i].length())).append(row[i]);
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }

    /** A value as the tables show it: 1.2k, 3.4M for large counts; one decimal for MiB and small ms. */
    static String format(double v, String unit) {
        if (unit.equals("MiB")) {
            return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
        }
        if (unit.equals("ms")) {
            return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
        }
        double a = Math.abs(v);
        if (a >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (a >= 1e4) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return v == Math.rint(v) || a >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    /** {@code (+78%)}, {@code (-70%)}, {@code (=)}; {@code (n/a)} when 'always' has 0 and this does not. */
    static String difference(double v, double base) {
        if (v == base) {
            return "(=)";
        }
        if (base == 0) {
            return "(n/a)";
        }
        double pct = (v - base) / Math.abs(base) * 100;
        String s = Math.abs(pct) < 9.95 ? String.format(Locale.ROOT, "%+.1f%%", pct) : String.format(Locale.ROOT, "%+.0f%%", pct);
        return "(" + s + ")";
    }

    /** The JSON report: the scenario, the metric definitions, and per condition a value map per configuration. */
    public static String json(Scenario scenario, List<Configuration> configurations, List<RunResult> results) {
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> sc = new LinkedHashMap<>();
        sc.put("name", scenario.name());
        sc.put("seed", scenario.seed());
        sc.put("duration_ms", scenario.duration().toMillis());
        sc.put("step_ms", scenario.step().toMillis());
        sc.put("memory_bytes", scenario.memoryBytes());
        sc.put("swap_bytes", scenario.swapBytes());
        root.put("scenario", sc);
        root.put("modeled", true);
        root.put("fidelity", "docs/fidelity.md");
        root.put("configurations", configurations.stream().map(Configuration::option).toList());
        List<Object> metrics = new ArrayList<>();
        if (!results.isEmpty()) {
            for (Metric m : results.get(0).metrics()) {
                Map<String, Object> mm = new LinkedHashMap<>();
                mm.put("key", m.key());
                mm.put("section", m.section());
                mm.put("label", m.label().strip());
                mm.put("unit", m.unit());
                metrics.add(mm);
            }
        }
        root.put("metrics", metrics);
        List<Object> conditions = new ArrayList<>();
        for (Condition c : scenario.conditions()) {
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("name", c.name());
            List<Object> limits = new ArrayList<>();
            for (Limit l : c.limits()) {
                Map<String, Object> lm = new LinkedHashMap<>();
                lm.put("cgroup", l.cgroup());
                lm.put("file", l.file());
                lm.put("bytes", l.bytes() == Long.MAX_VALUE ? "max" : (Object) l.bytes());
                limits.add(lm);
            }
            cm.put("limits", limits);
            cm.put("memory_bytes", scenario.memoryBytes(c));
            Map<String, Object> runs = new LinkedHashMap<>();
            for (RunResult r : results) {
                if (r.condition().equals(c.name())) {
                    runs.put(r.configuration().option(), new LinkedHashMap<>(r.values()));
                }
            }
            cm.put("runs", runs);
            conditions.add(cm);
        }
        root.put("conditions", conditions);
        return io.mthp4j.cli.Json.write(root);
    }
}
