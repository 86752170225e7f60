package io.mthp4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs every benchmark in one go and prints one table, then one {@code name=value} line per target
 * (docs/benchmarks.md). Every timing is a ratio against a baseline measured in the same run, except the two
 * targets defined in absolute time. Started by {@code bench/run}, which builds the jar and the C loop.
 *
 * <p>Arguments: {@code --log FILE} (JMH's own output; default {@code bench/target/jmh.log}),
 * {@code --c-loop FILE} (the built {@code bpf_map_loop}; without it, or without {@code MTHP4J_BENCH_BPFFS}, the
 * two map targets are reported as skipped), {@code --quick} (short iterations, to check the harness only).
 */
public final class BenchMain {

    private static final String SLF4J_QUIET = "-Dslf4j.internal.verbosity=ERROR";

    private final List<Row> rows = new ArrayList<>();
    private Path log = Path.of("bench/target/jmh.log");
    private Path cLoop;
    private boolean quick;
    private java.util.Set<String> only = java.util.Set.of("gate", "faults", "footprint", "maps", "scan", "event");

    /** One group of targets. */
    private interface Step {
        void run() throws Exception;
    }

    /** One target: its value, goal, and how it was measured. */
    record Row(String name, double value, String goal, Boolean met, String how) {
    }

    public static void main(String[] args) throws Exception {
        BenchMain m = new BenchMain();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--log" -> m.log = Path.of(args[++i]);
                case "--c-loop" -> m.cLoop = Path.of(args[++i]);
                case "--quick" -> m.quick = true;
                case "--only" -> m.only = java.util.Set.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; use --log FILE, --c-loop FILE, --quick, --only gate,faults,footprint,maps,scan,event");
            }
        }
        m.run();
    }

    private void run() throws Exception {
        Files.createDirectories(log.toAbsolutePath().getParent());
        Files.deleteIfExists(log);
        java.util.Map<String, Step> steps = new java.util.LinkedHashMap<>();
        steps.put("gate", this::gate);
        steps.put("faults", this::faults);
        steps.put("footprint", this::footprint);
        steps.put("maps", this::maps);
        steps.put("scan", this::scan);
        steps.put("event", this::event);
        for (java.util.Map.Entry<String, Step> e : steps.entrySet()) {
            if (only.contains(e.getKey())) {
                e.getValue().run();
            }
        }
        print();
    }

    // ---- the targets ----

    private void gate() throws RunnerException {
        Collection<RunResult> rs = jmh(GateBench.class.getSimpleName(), true);
        RunResult none = find(rs, "policy", "none");
        RunResult ext = find(rs, "policy", "mthp_ext");
        double a = score(none);
        double b = score(ext);
        double t = score(find(rs, "policy", "table"));
        add("gate_policy_ratio", b / a, "<= 1.5", b / a <= 1.5, String.format(Locale.ROOT,
                "mthp_ext %.1f ns / no policy %.1f ns per thp_vma_allowable_orders call (a fixed table, no lookup: %.1f ns)",
                b, a, t));
        Result alloc = ext.getSecondaryResults().get("gc.alloc.rate.norm");
        double bytes = alloc.getScore();
        // JMH reports a few 1e-4 B/op of harness noise for code that allocates nothing: round to whole bytes.
        long whole = Math.round(bytes);
        add("gate_alloc_bytes", whole, "0", whole == 0, String.format(Locale.ROOT,
                "gc.alloc.rate.norm %.4f B per call with mthp_ext (JMH gc profiler)", bytes));
    }

    private void faults() throws RunnerException {
        Collection<RunResult> rs = jmh(FaultBench.class.getSimpleName(), false);
        double fake = score(find(rs, "kernel", "fake"));
        double real = score(find(rs, "kernel", "real"));
        long pages = FaultBench.LENGTH / FaultBench.PAGE;
        double ratio = real / fake;
        add("fake_vs_real_fault_ratio", ratio, ">= 10", ratio >= 10, String.format(Locale.ROOT,
                "1 GiB of 4 KiB write faults: fake %.1f ms (%.2f M faults/s), real %.1f ms (%.2f M faults/s)", fake,
                pages / fake / 1e3, real, pages / real / 1e3));
    }

    private void footprint() {
        double perPage = Footprint.bytesPerPage();
        add("fake_bytes_per_page", perPage, "<= 2", perPage <= 2, "live heap after full GC, before and after writing "
                + Footprint.GIB + " GiB of 4 KiB pages in the fake kernel");
    }

    private void maps() throws Exception {
        // The C loop and the Java calls (the same object JMH's MapBench measures) in turns, in this JVM.
        String why = null;
        if (cLoop == null) {
            why = "no --c-loop (bench/run builds it with gcc)";
        } else if (System.getenv("MTHP4J_BENCH_BPFFS") == null) {
            why = "MTHP4J_BENCH_BPFFS not set (bench/run sets it after mounting bpffs)";
        } else if (!"root".equals(System.getProperty("user.name"))) {
            why = "not root";
        }
        if (why != null) {
            skip("map_update_ratio", "<= 1.3", why);
            skip("map_batch_ratio", "<= 1.2", why);
            return;
        }
        int n = io.mthp4j.linux.MapBench.ENTRIES;
        int cap = io.mthp4j.linux.MapBench.CAPACITY;
        int updates = quick ? 20_000 : 200_000;
        int batches = quick ? 4 : 20;
        int rounds = quick ? 3 : 7;
        // Java and C take turns, round after round, and each round gives one ratio: on a shared machine the load
        // drifts within seconds, so a baseline measured minutes apart would compare different machines. Both sides
        // count the calling thread's CPU time (user + system, so the syscall's kernel work is in): wall time on a
        // machine with more runnable threads than CPUs mostly measures waiting for a CPU.
        double[] updateRatio = new double[rounds];
        double[] batchRatio = new double[rounds];
        double[] jU = new double[rounds];
        double[] jRaw = new double[rounds];
        double[] cU = new double[rounds];
        double[] jB = new double[rounds];
        double[] cB = new double[rounds];
        io.mthp4j.linux.MapBench bench = new io.mthp4j.linux.MapBench();
        bench.setUp();
        try {
            timeUpdates(bench, updates, false); // warm-up: the JIT compiles the publish path
            timeUpdates(bench, updates, true);
            timeBatches(bench, batches);
            for (int r = 0; r < rounds; r++) {
                cU[r] = cLoop("update", cap, n, updates);
                jU[r] = timeUpdates(bench, updates, false);
                jRaw[r] = timeUpdates(bench, updates, true);
                cB[r] = cLoop("batch", cap, n, batches);
                jB[r] = timeBatches(bench, batches);
                updateRatio[r] = jU[r] / cU[r];
                batchRatio[r] = jB[r] / cB[r];
            }
        } finally {
            bench.tearDown();
        }
        double u = median(updateRatio);
        double b = median(batchRatio);
        add("map_update_ratio", u, "<= 1.3", u <= 1.3, String.format(Locale.ROOT,
                "PolicyMap.put %.0f ns / C BPF_MAP_UPDATE_ELEM loop %.0f ns of thread CPU time (medians; median of %d per-round ratios;"
                + " the bare syscall through JNA, no encoding: %.0f ns)", median(jU), median(cU), rounds, median(jRaw)));
        add("map_batch_ratio", b, "<= 1.2", b <= 1.2, String.format(Locale.ROOT,
                "%d entries per BPF_MAP_UPDATE_BATCH: Java %.2f ms / C %.2f ms of thread CPU time (medians; median of %d per-round ratios)",
                n, median(jB) / 1e6, median(cB) / 1e6, rounds));
    }

    /** This thread's CPU time (user + system) in ns: the same clock as the C loop's {@code cpu} mode. */
    private static long cpuNanos() {
        return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    /** CPU ns per {@link io.mthp4j.linux.MapBench#update} (or {@code updateRaw}), over {@code count} calls. */
    private static double timeUpdates(io.mthp4j.linux.MapBench bench, int count, boolean raw) {
        long t0 = cpuNanos();
        for (int i = 0; i < count; i++) {
            if (raw) {
                bench.updateRaw();
            } else {
                bench.update(); // a syscall each: nothing for the JIT to remove
            }
        }
        return (double) (cpuNanos() - t0) / count;
    }

    /** CPU ns per {@link io.mthp4j.linux.MapBench#batch}, over {@code count} calls. */
    private static double timeBatches(io.mthp4j.linux.MapBench bench, int count) {
        long t0 = cpuNanos();
        for (int i = 0; i < count; i++) {
            bench.batch();
        }
        return (double) (cpuNanos() - t0) / count;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private void scan() throws RunnerException {
        double ms = score(find(jmh(ScanBench.class.getSimpleName(), false)));
        add("scan_10k_cgroups_ms", ms, "<= 20", ms <= 20, "one PolicyController scan (mthp_ext) of " + ScanBench.CGROUPS
                + " cgroups with a task each, fake kernel, steady state");
    }

    private void event() throws InterruptedException {
        EventLatency.Result r = EventLatency.run();
        double p99 = r.percentile(99);
        add("event_to_publish_p99_us", p99, "<= 1000", p99 <= 1000, String.format(Locale.ROOT,
                "fake kernel, %d cgroups, %d events after %d warm-up: p50 %.0f us, p99 %.0f us, max %.0f us",
                r.cgroups(), r.nanos().length, EventLatency.WARMUP, r.percentile(50), p99, r.percentile(100)));
    }

    // ---- helpers ----

    private Collection<RunResult> jmh(String benchmark, boolean gcProfiler) throws RunnerException {
        ChainedOptionsBuilder o = new OptionsBuilder().include("\\." + benchmark + "\\.").jvmArgsAppend(SLF4J_QUIET);
        if (gcProfiler) {
            o.addProfiler("gc");
        }
        if (quick) {
            o.warmupIterations(1).measurementIterations(2).warmupTime(org.openjdk.jmh.runner.options.TimeValue.milliseconds(200))
                    .measurementTime(org.openjdk.jmh.runner.options.TimeValue.milliseconds(200));
        }
        // JMH's output option truncates the file; keep every benchmark's output by appending it to the log.
        Path part = Path.of(log + ".part");
        o.output(part.toString());
        Collection<RunResult> rs = new Runner(o.build()).run();
        try {
            Files.writeString(log, Files.readString(part, StandardCharsets.UTF_8), StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            Files.deleteIfExists(part);
        } catch (IOException e) {
            System.err.println("could not append JMH output to " + log + ": " + e);
        }
        if (rs.isEmpty()) {
            throw new IllegalStateException("JMH ran nothing for " + benchmark + "; see " + log);
        }
        return rs;
    }

    private static RunResult find(Collection<RunResult> rs, String param, String value) {
        for (RunResult r : rs) {
            if (value.equals(r.getParams().getParam(param))) {
                return r;
            }
        }
        throw new IllegalStateException("no JMH result with " + param + "=" + value);
    }

    private static RunResult find(Collection<RunResult> rs) {
        return rs.iterator().next();
    }

    /** The median of the measurement iterations (robust to a burst of load from other processes). */
    private static double score(RunResult r) {
        return r.getPrimaryResult().getStatistics().getPercentile(50);
    }

    private double cLoop(String mode, int capacity, int n, int iters) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cLoop.toString(), mode, Integer.toString(capacity), Integer.toString(n),
                Integer.toString(iters), "1", "cpu")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (p.waitFor() != 0 || !out.startsWith("ns=")) {
            throw new IllegalStateException(cLoop + " " + mode + " failed: " + out);
        }
        return Double.parseDouble(out.substring(3));
    }

    private void add(String name, double value, String goal, boolean met, String how) {
        rows.add(new Row(name, value, goal, met, how));
    }

    private void skip(String name, String goal, String why) {
        rows.add(new Row(name, Double.NaN, goal, null, "skipped: " + why));
    }

    private void print() {
        System.out.printf(Locale.ROOT, "%-26s %12s %9s %-5s %s%n", "target", "value", "goal", "met", "measured");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-26s %12s %9s %-5s %s%n", r.name(), format(r.value()), r.goal(),
                    r.met() == null ? "-" : r.met() ? "yes" : "NO", r.how());
        }
        System.out.println();
        for (Row r : rows) {
            System.out.println(r.name() + "=" + format(r.value()));
        }
    }

    private static String format(double v) {
        if (Double.isNaN(v)) {
            return "skipped";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.3f", v);
    }
}
