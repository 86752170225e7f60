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
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; use --log FILE, --c-loop FILE, --quick");
            }
        }
        m.run();
    }

    private void run() throws Exception {
        Files.createDirectories(log.toAbsolutePath().getParent());
        Files.deleteIfExists(log);
        gate();
        faults();
        footprint();
        maps();
        scan();
        event();
        print();
    }

    // ---- the targets ----

    private void gate() throws RunnerException {
        Collection<RunResult> rs = jmh(GateBench.class.getSimpleName(), true);
        RunResult none = find(rs, "policy", "none");
        RunResult ext = find(rs, "policy", "mthp_ext");
        double a = score(none);
        double b = score(ext);
        add("gate_policy_ratio", b / a, "<= 1.5", b / a <= 1.5, String.format(Locale.ROOT,
                "mthp_ext %.1f ns / no policy %.1f ns per thp_vma_allowable_orders call", b, a));
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
        // The C loop runs before and after the JMH run; the baseline is the mean of the two (drift on a shared machine).
        double cUpdate1 = cLoop("update", cap, n, quick ? 100_000 : 1_000_000);
        double cBatch1 = cLoop("batch", cap, n, quick ? 2 : 20);
        Collection<RunResult> rs = jmh(io.mthp4j.linux.MapBench.class.getSimpleName(), false);
        double cUpdate2 = cLoop("update", cap, n, quick ? 100_000 : 1_000_000);
        double cBatch2 = cLoop("batch", cap, n, quick ? 2 : 20);
        double javaUpdate = score(find(rs, "update"));
        double javaBatch = score(find(rs, "batch"));
        double cUpdate = (cUpdate1 + cUpdate2) / 2;
        double cBatch = (cBatch1 + cBatch2) / 2;
        add("map_update_ratio", javaUpdate / cUpdate, "<= 1.3", javaUpdate / cUpdate <= 1.3, String.format(Locale.ROOT,
                "PolicyMap.put %.0f ns / C BPF_MAP_UPDATE_ELEM loop %.0f ns (%.0f before, %.0f after)", javaUpdate, cUpdate,
                cUpdate1, cUpdate2));
        add("map_batch_ratio", javaBatch / cBatch, "<= 1.2", javaBatch / cBatch <= 1.2, String.format(Locale.ROOT,
                "%d entries: Java %.2f ms / C %.2f ms per BPF_MAP_UPDATE_BATCH (%.2f before, %.2f after)", n, javaBatch / 1e6,
                cBatch / 1e6, cBatch1 / 1e6, cBatch2 / 1e6));
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

    private static RunResult find(Collection<RunResult> rs, String method) {
        for (RunResult r : rs) {
            if (r.getParams().getBenchmark().endsWith("." + method)) {
                return r;
            }
        }
        throw new IllegalStateException("no JMH result for method " + method);
    }

    private static RunResult find(Collection<RunResult> rs) {
        return rs.iterator().next();
    }

    private static double score(RunResult r) {
        return r.getPrimaryResult().getScore();
    }

    private double cLoop(String mode, int capacity, int n, int iters) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cLoop.toString(), mode, Integer.toString(capacity), Integer.toString(n),
                Integer.toString(iters), "5")
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
