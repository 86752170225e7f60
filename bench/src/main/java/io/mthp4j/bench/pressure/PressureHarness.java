package io.mthp4j.bench.pressure;

import io.mthp4j.linux.LinuxKernel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The seed's evaluation on a real kernel (issue 10): Redis and a JVM key-value service under three kinds of memory
 * pressure and four THP configurations, interleaved, with every global change recorded and undone. Started by
 * {@code bench/pressure/run}; what it does and why: docs/evaluation.md; the set-up it follows:
 * pressure-experiment.md.
 */
public final class PressureHarness {

    /** The workloads: Redis (the seed's) and the JVM service (self-registration is the JVM-specific path). */
    enum Workload {
        REDIS("redis"), JVM("jvm-kv");

        final String label;

        Workload(String label) {
            this.label = label;
        }
    }

    /** pressure-experiment.md, Setup: none; hugetlb held until MemFree is about 2 GiB; a v1 memcg limit. */
    enum Pressure {
        NONE("none", -1), GLOBAL("global", -1), LIMIT_1_6G("limit-1.6g", 1717986918L), LIMIT_2G("limit-2g", 2L << 30);

        final String label;
        final long limitBytes;

        Pressure(String label, long limitBytes) {
            this.label = label;
            this.limitBytes = limitBytes;
        }

        boolean limited() {
            return limitBytes > 0;
        }

        /**
         * The cgroup mthp4j follows: the workload's own when a limit binds it, else the host's root (its headroom
         * is MemAvailable, its PSI the system's).
         */
        String followed() {
            return limited() ? "/" + Cgroups.NAME : "/";
        }
    }

    /** Every size's {@code enabled} is written with {@code knobs}; a policy, if any, runs on top. */
    enum Config {
        ALWAYS("always", "always", null), NEVER("never", "never", null),
        MTHP_EXT("always+mthp-ext", "always", "mthp-ext"), HEADROOM("always+headroom", "always", "headroom");

        final String label;
        final String knobs;
        final String policy;

        Config(String label, String knobs, String policy) {
            this.label = label;
            this.knobs = knobs;
            this.policy = policy;
        }
    }

    static final long GLOBAL_FREE_BYTES = 2L << 30;
    static final String REDIS_BENCH = "-r 3000000 -n 3000000 -d 1024 -c 16 -P 32 -t set";
    static final String REDIS_WARMUP = "-r 100000 -n 100000 -d 1024 -c 16 -P 32 -t set";
    /** Seconds per run, measured on our machines (2 vCPUs): the estimate printed up front. */
    static final Map<String, Integer> ESTIMATE = Map.of("redis", 24, "jvm-kv", 17);

    private final Options o;
    private final HostState state;
    private final Object lock = new Object();
    private final Set<Child> children = ConcurrentHashMap.newKeySet();
    private volatile boolean stopping;
    private boolean cleanedUp;
    private final List<RunRecord> records = new ArrayList<>();
    private Path runs;
    /** linux-backend, for the THP counters; opened by {@link #run()}. */
    private LinuxKernel kernel;

    private PressureHarness(Options o) {
        this.o = o;
        this.state = new HostState(o.stateFile);
    }

    /** The harness's options; see {@link #usage()}. */
    static final class Options {
        int reps = 3;
        List<Workload> workloads = List.of(Workload.REDIS, Workload.JVM);
        List<Pressure> pressures = List.of(Pressure.values());
        List<Pressure> jvmPressures = List.of(Pressure.NONE, Pressure.GLOBAL, Pressure.LIMIT_1_6G);
        List<Config> configs = List.of(Config.values());
        Path out;
        Path cliJar = Path.of("cli/target/mthp4j.jar");
        Path benchJar = Path.of("bench/target/benchmarks.jar");
        Path stateFile = HostState.DEFAULT_STATE;
        int port = 6390;
        int timeoutSeconds = 150;
        /**
         * 4 M sets on 3 M keys: about 1.9 M keys appear in the first 3 M (as in Redis's run), the last million
         * overwrite values across the whole working set. With 3 M the measured phase was 3–9 s, 60–80% of it the
         * first touch of new slabs, whose cost the VM host decides (docs/evaluation.md).
         */
        long jvmOps = 4_000_000;
        boolean planOnly;
        boolean restoreOnly;
        boolean warmUp = true;
    }

    static String usage() {
        return """
                usage: bench/pressure/run [options]
                  --reps N               repetitions per cell (default 3)
                  --workloads LIST       redis,jvm-kv (default both)
                  --pressures LIST       none,global,limit-1.6g,limit-2g for Redis (default all)
                  --jvm-pressures LIST   the same for the JVM service (default none,global,limit-1.6g)
                  --configs LIST         always,never,always+mthp-ext,always+headroom (default all)
                  --jvm-ops N            the JVM service's measured sets on 3 M keys (default 4000000)
                  --timeout S            longest measured phase before a run is stopped (default 150)
                  --port N               Redis's port on 127.0.0.1 (default 6390)
                  --out DIR              results (default bench/target/pressure/<date-time>)
                  --no-warm-up           skip the unmeasured first run of each workload
                  --plan                 print the plan and the time it takes; change nothing
                  --restore              only put back what a killed run left (the state file) and exit
                """;
    }

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--plan" -> o.planOnly = true;
                case "--restore" -> o.restoreOnly = true;
                case "--no-warm-up" -> o.warmUp = false;
                case "-h", "--help" -> {
                    System.out.print(usage());
                    System.exit(0);
                }
                default -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(a + " needs a value, or is unknown; see --help");
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--reps" -> o.reps = positive(a, v);
                        case "--workloads" -> o.workloads = list(a, v, Workload.values(), w -> w.label);
                        case "--pressures" -> o.pressures = list(a, v, Pressure.values(), p -> p.label);
                        case "--jvm-pressures" -> o.jvmPressures = list(a, v, Pressure.values(), p -> p.label);
                        case "--configs" -> o.configs = list(a, v, Config.values(), c -> c.label);
                        case "--jvm-ops" -> o.jvmOps = positive(a, v);
                        case "--timeout" -> o.timeoutSeconds = positive(a, v);
                        case "--port" -> o.port = positive(a, v);
                        case "--out" -> o.out = Path.of(v);
                        case "--cli-jar" -> o.cliJar = Path.of(v);
                        case "--bench-jar" -> o.benchJar = Path.of(v);
                        case "--state" -> o.stateFile = Path.of(v);
                        default -> throw new IllegalArgumentException("unknown option " + a + "; see --help");
                    }
                }
            }
        }
        if (o.out == null) {
            o.out = Path.of("bench/target/pressure", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        return o;
    }

    private static int positive(String option, String v) {
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException(option + " needs a whole number above 0, was '" + v + "'");
    }

    private static <T> List<T> list(String option, String v, T[] all, java.util.function.Function<T, String> label) {
        List<T> out = new ArrayList<>();
        for (String part : v.split(",")) {
            T found = Arrays.stream(all).filter(t -> label.apply(t).equals(part.strip())).findFirst().orElseThrow(() ->
                    new IllegalArgumentException(option + ": unknown '" + part + "'; one of "
                            + String.join(", ", Arrays.stream(all).map(label).toList())));
            out.add(found);
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("pressure: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(new PressureHarness(o).run());
    }

    // --- the plan --------------------------------------------------------------------------------------------------

    /** One cell's run, in the order they run. */
    record Planned(Workload workload, Pressure pressure, Config config, int rep) {
    }

    /**
     * Pressures one after another (global pressure's hugetlb pages and a limit stay set between runs of a block);
     * within one, repetitions, and within one repetition each workload's configurations, rotated by one per
     * repetition so that no configuration always runs first or last.
     */
    List<Planned> plan() {
        List<Planned> plan = new ArrayList<>();
        for (Pressure p : Pressure.values()) {
            for (int rep = 1; rep <= o.reps; rep++) {
                for (Workload w : o.workloads) {
                    if (!(w == Workload.REDIS ? o.pressures : o.jvmPressures).contains(p)) {
                        continue;
                    }
                    for (int i = 0; i < o.configs.size(); i++) {
                        plan.add(new Planned(w, p, o.configs.get((i + rep - 1) % o.configs.size()), rep));
                    }
                }
            }
        }
        return plan;
    }

    int estimateSeconds(List<Planned> plan) {
        int s = 60; // set-up, zram, restore
        if (o.warmUp) {
            s += o.workloads.stream().mapToInt(w -> ESTIMATE.get(w.label)).sum();
            s += plan.stream().filter(p -> p.pressure == Pressure.GLOBAL).findFirst().map(p -> ESTIMATE.get(p.workload.label)).orElse(0);
        }
        for (Planned p : plan) {
            s += ESTIMATE.get(p.workload.label);
        }
        return s;
    }

    // --- the run ---------------------------------------------------------------------------------------------------

    int run() throws Exception {
        if (!System.getProperty("os.name").equals("Linux")) {
            System.err.println("pressure: needs Linux (it measures a real kernel)");
            return 4;
        }
        List<Planned> plan = plan();
        int minutes = (estimateSeconds(plan) + 59) / 60;
        if (o.restoreOnly) {
            return restoreLeftovers() ? 0 : 1;
        }
        System.out.printf(Locale.ROOT, "pressure: %d measured runs (%s; %d repetitions), about %d minutes (the budget is 40)%n",
                plan.size(), describe(plan), o.reps, minutes);
        System.out.println("pressure: it changes, and restores at the end (also on Ctrl-C or a failure): every"
                + " hugepages-*kB/enabled, vm.overcommit_memory, vm.nr_hugepages, a zram0 swap device, the page cache"
                + " (dropped), and its own cgroups " + Cgroups.V1 + " and " + Cgroups.V2);
        if (o.planOnly) {
            plan.forEach(p -> System.out.println("  " + p.workload.label + " " + p.pressure.label + " " + p.config.label + " #" + p.rep));
            return 0;
        }
        String problem = preflight(plan);
        if (problem == null) {
            problem = LinuxKernel.unavailableReason();
        }
        if (problem != null) {
            System.err.println("pressure: " + problem);
            return 4;
        }
        kernel = LinuxKernel.open();
        if (!restoreLeftovers()) {
            return 1;
        }
        Files.createDirectories(o.out.resolve("logs"));
        runs = o.out.resolve("runs.jsonl");
        Map<String, String> before = HostState.snapshot();
        Thread hook = new Thread(() -> {
            stopping = true;
            if (cleanUp().isEmpty() && !state.log().isEmpty()) {
                System.err.println("pressure: stopped; the children are stopped and every setting is restored");
            }
        }, "pressure-restore");
        Runtime.getRuntime().addShutdownHook(hook);
        long started = System.nanoTime();
        int status = 0;
        try {
            setUp();
            if (o.warmUp) {
                for (Workload w : o.workloads) {
                    System.out.println("pressure: warm-up run of " + w.label + " (unmeasured: first touches of memory the VM host"
                            + " took back are slow)");
                    runOne(new Planned(w, Pressure.NONE, Config.NEVER, 0));
                }
            }
            Pressure current = null;
            for (Planned p : plan) {
                if (stopping) {
                    break;
                }
                if (p.pressure != current) {
                    endPressure(current);
                    current = p.pressure;
                    if (current == Pressure.GLOBAL && o.warmUp) {
                        // The first run under held hugetlb pages found about 650 MiB more than MemFree showed, freed by
                        // reclaim without swapping (its always run swapped 155 pages, the next ones 4 M): one
                        // unmeasured run takes it before the block is measured.
                        System.out.println("pressure: warm-up run of " + p.workload.label + " under global pressure (unmeasured)");
                        runOne(new Planned(p.workload, Pressure.GLOBAL, Config.NEVER, 0));
                    }
                }
                RunRecord r = runOne(p);
                records.add(r);
                Files.writeString(runs, r.json() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                System.out.println(summaryLine(r));
            }
            endPressure(current);
        } catch (Exception e) {
            System.err.println("pressure: stopped by an error: " + e);
            e.printStackTrace();
            status = 1;
        } finally {
            List<String> failures = cleanUp();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down: the hook has run
            }
            if (!failures.isEmpty()) {
                status = 1;
            }
        }
        Map<String, String> after = HostState.snapshot();
        System.out.println();
        System.out.println(compare(before, after));
        String report = Report.markdown(records, o, (System.nanoTime() - started) / 60e9);
        Files.writeString(o.out.resolve("summary.md"), report);
        System.out.println(report);
        kernel.close();
        System.out.println("pressure: runs in " + runs + ", logs in " + o.out.resolve("logs") + ", tables in " + o.out.resolve("summary.md"));
        return status;
    }

    private static String describe(List<Planned> plan) {
        Map<String, Integer> n = new LinkedHashMap<>();
        plan.forEach(p -> n.merge(p.workload.label + " " + p.pressure.label, 1, Integer::sum));
        List<String> parts = new ArrayList<>();
        n.forEach((k, v) -> parts.add(k + " " + v));
        return String.join(", ", parts);
    }

    /** What must be there before anything is changed; null if all is. */
    private String preflight(List<Planned> plan) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root (it writes sysfs, sysctls, swap and cgroups)";
        }
        if (plan.stream().anyMatch(p -> p.pressure.limited()) && Cgroups.limitUnavailable() != null) {
            return Cgroups.limitUnavailable();
        }
        for (String tool : List.of("redis-server", "redis-benchmark", "redis-cli", "mkswap", "swapon", "swapoff")) {
            if (!tool.startsWith("redis") || o.workloads.contains(Workload.REDIS)) {
                if (!onPath(tool)) {
                    return tool + " is not on the PATH (bench/pressure/run installs Redis from Debian: apt-get install redis-server redis-tools)";
                }
            }
        }
        if (plan.stream().anyMatch(p -> p.config.policy != null && p.workload == Workload.REDIS) && !Files.isRegularFile(o.cliJar)) {
            return o.cliJar + " is missing (bench/pressure/run builds it: mvn package -pl cli -am -DskipTests)";
        }
        if (o.workloads.contains(Workload.JVM) && !Files.isRegularFile(o.benchJar)) {
            return o.benchJar + " is missing (bench/pressure/run builds it: mvn package -pl bench -am -DskipTests -Pbenchmarks-jar)";
        }
        if (HostState.sizeKnobs().isEmpty()) {
            return "no " + HostState.THP + "/hugepages-*kB/enabled: this kernel has no mTHP sizes";
        }
        if (!HostState.swapDevices().isEmpty()) {
            return "swap is already on (" + String.join(", ", HostState.swapDevices()) + "): the evaluation's only swap is its"
                    + " own zram device; swapoff first, or measure on a machine without swap";
        }
        if (!HostState.sysctl(HostState.NR_HUGEPAGES).equals("0")) {
            return "vm.nr_hugepages is not 0: the global pressure holds hugetlb pages itself and would count others'";
        }
        return null;
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
    }

    /** A state file a killed harness left: restore from it. False if that failed. */
    private boolean restoreLeftovers() throws IOException {
        if (!state.stateFileExists()) {
            if (o.restoreOnly) {
                System.out.println("pressure: nothing to restore (no " + o.stateFile + ")");
            }
            return true;
        }
        System.out.println("pressure: " + o.stateFile + " was left by a run that did not finish; restoring from it first");
        state.load();
        List<String> failures = state.restore();
        state.log().forEach(l -> System.out.println("pressure: " + l));
        failures.forEach(f -> System.err.println("pressure: could not restore " + f));
        return failures.isEmpty();
    }

    private void setUp() throws IOException, InterruptedException {
        synchronized (lock) {
            state.record();
            HostState.write(HostState.OVERCOMMIT, "1");
            state.setUpZram(8L << 30);
            Cgroups.create(state);
        }
        state.log().forEach(l -> System.out.println("pressure: " + l));
    }

    private void endPressure(Pressure p) throws IOException {
        if (p == null) {
            return;
        }
        synchronized (lock) {
            if (p == Pressure.GLOBAL) {
                HostState.write(HostState.NR_HUGEPAGES, "0");
            }
            if (p.limited()) {
                Cgroups.limit(-1);
            }
        }
    }

    /** Stops every child, then puts everything back; once. The failures (empty: all restored). */
    private List<String> cleanUp() {
        synchronized (lock) {
            if (cleanedUp) {
                return List.of();
            }
            cleanedUp = true;
            stopping = true;
            for (Child c : children) {
                c.close();
            }
            List<String> failures = state.restore();
            if (!failures.isEmpty()) {
                failures.forEach(f -> System.err.println("pressure: could not restore " + f));
                System.err.println("pressure: the originals are kept in " + o.stateFile + "; 'bench/pressure/run --restore' retries");
            }
            return failures;
        }
    }

    /** Before/after of everything the harness may change. */
    static String compare(Map<String, String> before, Map<String, String> after) {
        StringBuilder b = new StringBuilder("The machine before and after:\n");
        boolean same = true;
        for (String k : before.keySet()) {
            String a = after.get(k);
            boolean eq = before.get(k).equals(a);
            same &= eq;
            b.append(String.format(Locale.ROOT, "  %-32s %-12s %-12s %s%n", k, before.get(k), a, eq ? "" : "CHANGED"));
        }
        return b.append(same ? "  everything as it was\n" : "  NOT everything is as it was: see CHANGED\n").toString();
    }

    // --- one run ---------------------------------------------------------------------------------------------------

    private static final Pattern KV_RESULT = Pattern.compile("\"(opsPerSec|p50Ms|p95Ms|p99Ms|seconds)\":([-0-9.eE]+|null)");

    RunRecord runOne(Planned p) throws IOException, InterruptedException {
        String name = p.workload.label + "-" + p.pressure.label + "-" + p.config.label + "-" + (p.rep == 0 ? "warmup" : p.rep);
        Path log = o.out.resolve("logs").resolve(name + ".log");
        long t0 = System.nanoTime();
        Child daemon = null;
        Child workload = null;
        long hugetlb = 0;
        try {
            synchronized (lock) {
                checkStopping();
                HostState.allSizes(p.config.knobs);
            }
            if (p.config.policy != null && p.workload == Workload.REDIS) {
                daemon = startDaemon(p, t0, log);
            }
            synchronized (lock) {
                checkStopping();
                HostState.dropCaches();
                Cgroups.limit(p.pressure.limited() ? p.pressure.limitBytes : -1);
                if (p.pressure == Pressure.GLOBAL) {
                    hugetlb = HostState.holdHugetlbUntilFree(GLOBAL_FREE_BYTES);
                }
            }
            workload = track(Child.start(p.workload.label, Cgroups.joining(p.pressure.limited(), workloadCommand(p)), t0, log));
            return p.workload == Workload.REDIS ? measureRedis(p, workload, daemon, t0, log, hugetlb)
                    : measureJvm(p, workload, t0, hugetlb);
        } finally {
            if (workload != null) {
                workload.close();
                untrack(workload);
            }
            if (daemon != null) {
                int status = daemon.stop(30_000);
                daemon.close();
                untrack(daemon);
                if (status != 143 && status != 130 && status != 0) {
                    System.err.println("pressure: the mthp4j daemon of " + name + " ended with " + Child.describe(status) + "; see " + log);
                }
            }
            if (!stopping) {
                // the daemon restores the knobs it changed to the configuration's value; check it did
                for (String k : HostState.sizeKnobs()) {
                    String v = HostState.selected(HostState.THP.resolve(k));
                    if (!v.equals(p.config.knobs)) {
                        System.err.println("pressure: after " + name + " " + k + " is " + v + ", not " + p.config.knobs
                                + " (the daemon did not restore it)");
                    }
                }
            }
        }
    }

    private void checkStopping() throws InterruptedException {
        if (stopping) {
            throw new InterruptedException("stopping");
        }
    }

    /** A child the harness started: stopped at clean-up, and recorded so a restore after a kill -9 stops it too. */
    private Child track(Child c) throws IOException {
        children.add(c);
        state.markChild(c.pid(), c.name());
        return c;
    }

    private void untrack(Child c) throws IOException {
        children.remove(c);
        state.unmarkChild(c.pid());
    }

    private List<String> workloadCommand(Planned p) {
        if (p.workload == Workload.REDIS) {
            return List.of("redis-server", "--port", Integer.toString(o.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--disable-thp", "no", "--daemonize", "no", "--logfile", "");
        }
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-Xmx256m", "-XX:MaxDirectMemorySize=8g", "-cp",
                o.benchJar.toAbsolutePath().toString(), "io.mthp4j.bench.pressure.KvService",
                "--ops", Long.toString(o.jvmOps), "--policy", p.config.policy == null ? "none" : p.config.policy));
        return cmd;
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** {@code mthp4j run --enforce host} following the pressure's cgroup; waits for its start line. */
    private Child startDaemon(Planned p, long t0, Path log) throws IOException, InterruptedException {
        List<String> cmd = List.of(javaBinary(), "-Xmx128m", "-XX:+UseSerialGC", "-jar", o.cliJar.toAbsolutePath().toString(),
                "run", "-r", p.pressure.followed(), "-p", p.config.policy, "--enforce", "host",
                "--state", o.out.resolve("host-thp.state").toAbsolutePath().toString());
        Child d = track(Child.start("mthp4j", cmd, t0, log));
        if (d.await(l -> l.contains("stop with Ctrl-C"), 30_000) == null) {
            throw new IOException("mthp4j run did not start within 30 s; see " + log);
        }
        return d;
    }

    private RunRecord measureRedis(Planned p, Child redis, Child daemon, long t0, Path log, long hugetlb)
            throws IOException, InterruptedException {
        String port = Integer.toString(o.port);
        for (int i = 0; ; i++) {
            try {
                if (Proc.run(List.of("redis-cli", "-p", port, "ping"), 10).contains("PONG")) {
                    break;
                }
            } catch (IOException e) {
                if (i >= 100 || !redis.alive()) {
                    throw new IOException("redis-server did not answer within 10 s: " + e.getMessage() + "; see " + log);
                }
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
        List<String> bench = new ArrayList<>(List.of("redis-benchmark", "-p", port, "--csv"));
        Proc.run(concat(bench, REDIS_WARMUP), 120);
        Proc.run(List.of("redis-cli", "-p", port, "flushall"), 60);
        Start start = beginMeasurement();
        Child b = track(Child.start("redis-benchmark", concat(bench, REDIS_BENCH), t0, log));
        Integer status = null;
        long deadline = start.nanos() + TimeUnit.SECONDS.toNanos(o.timeoutSeconds);
        while (status == null && System.nanoTime() < deadline && !stopping) {
            status = b.waitFor(200);
            if (status == null && !redis.alive()) {
                status = b.waitFor(3_000); // it notices the closed connection
            }
        }
        double seconds = (System.nanoTime() - start.nanos()) / 1e9;
        b.close();
        untrack(b);
        Counters delta = Counters.read(kernel).minus(start.counters());
        boolean alive = redis.alive();
        double[] csv = {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
        for (Child.Line l : b.lines()) {
            String[] f = l.text().replace("\"", "").split(",");
            if (f.length >= 7 && f[0].equals("SET")) {
                csv = new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6])};
            }
        }
        String outcome = outcome(alive, redis, delta, status == null && alive ? "timeout after " + o.timeoutSeconds + " s" : null);
        boolean ok = alive && status != null && status == 0 && Double.isFinite(csv[0]);
        if (alive && !ok && outcome.equals("ok")) {
            outcome = "failed: redis-benchmark " + (status == null ? "did not finish" : Child.describe(status));
        }
        return new RunRecord(p.workload.label, p.pressure.label, p.config.label, p.rep, alive, outcome,
                ok ? csv[0] : Double.NaN, ok ? csv[1] : Double.NaN, ok ? csv[2] : Double.NaN, ok ? csv[3] : Double.NaN, seconds,
                switches(daemon, "host THP:"), delta.values(), hugetlb, peak(), start.memFree());
    }

    /** Where a measured phase starts: the counters, MemFree and the time. */
    private record Start(Counters counters, long memFree, long nanos) {
    }

    /** Drops caches, resets the memcg's peak usage and reads the counters: the start of a measured phase. */
    private Start beginMeasurement() throws IOException, InterruptedException {
        synchronized (lock) {
            checkStopping();
            HostState.dropCaches();
            HostState.write(Cgroups.V1.resolve("memory.max_usage_in_bytes"), "0");
        }
        Counters before = Counters.read(kernel);
        return new Start(before, HostState.meminfoKb("MemFree") << 10, System.nanoTime());
    }

    private RunRecord measureJvm(Planned p, Child kv, long t0, long hugetlb) throws IOException, InterruptedException {
        if (kv.await(l -> l.equals("ready"), 120_000) == null) {
            throw new IOException("the JVM service did not get ready within 120 s (" + (kv.alive() ? "alive" : "exited") + ")");
        }
        Start start = beginMeasurement();
        kv.send("go");
        Child.Line result = kv.await(l -> l.startsWith("result "), TimeUnit.SECONDS.toMillis(o.timeoutSeconds));
        double seconds = (System.nanoTime() - start.nanos()) / 1e9;
        Counters delta = Counters.read(kernel).minus(start.counters());
        boolean finished = result != null;
        boolean alive = finished || kv.alive();
        Map<String, Double> v = new LinkedHashMap<>();
        if (finished) {
            Matcher m = KV_RESULT.matcher(result.text());
            while (m.find()) {
                v.put(m.group(1), m.group(2).equals("null") ? Double.NaN : Double.parseDouble(m.group(2)));
            }
        }
        String outcome = outcome(alive, kv, delta, !finished && alive ? "timeout after " + o.timeoutSeconds + " s" : null);
        return new RunRecord(p.workload.label, p.pressure.label, p.config.label, p.rep, alive, outcome,
                v.getOrDefault("opsPerSec", Double.NaN), v.getOrDefault("p50Ms", Double.NaN), v.getOrDefault("p95Ms", Double.NaN),
                v.getOrDefault("p99Ms", Double.NaN), finished ? v.getOrDefault("seconds", seconds) : seconds,
                switches(kv, "->"), delta.values(), hugetlb, peak(), start.memFree());
    }

    private static String outcome(boolean alive, Child workload, Counters delta, String timeout) throws InterruptedException {
        if (timeout != null) {
            return timeout;
        }
        if (alive) {
            return "ok";
        }
        Integer status = workload.waitFor(5_000);
        String how = status == null ? "gone" : Child.describe(status);
        boolean oom = delta.get("memcg.oom_kill") > 0 || delta.get("vmstat/oom_kill") > 0;
        return how + (oom ? " (OOM kill)" : "");
    }

    private static long peak() {
        try {
            return Cgroups.v1("memory.max_usage_in_bytes");
        } catch (IOException e) {
            return -1;
        }
    }

    /** The lines of a switch on the run's time line: the daemon's {@code host THP:} lines, the registration's arrows. */
    private static List<String> switches(Child c, String marker) {
        List<String> out = new ArrayList<>();
        if (c == null) {
            return out;
        }
        for (Child.Line l : c.lines()) {
            if (l.stderr() && l.text().contains(marker) && l.text().contains("->")) {
                out.add(l.toString());
            }
        }
        return out;
    }

    private static List<String> concat(List<String> a, String args) {
        List<String> out = new ArrayList<>(a);
        out.addAll(List.of(args.split(" ")));
        return out;
    }

    private static String summaryLine(RunRecord r) {
        return String.format(Locale.ROOT, "  %-7s %-11s %-16s #%d  %-28s %10s ops/s  p99 %8s ms  pswpout %9d  switches %d  %.0f s",
                r.workload(), r.pressure(), r.config(), r.rep(), r.outcome(),
                Double.isFinite(r.opsPerSec()) ? String.format(Locale.ROOT, "%.0f", r.opsPerSec()) : "-",
                Double.isFinite(r.p99Ms()) ? String.format(Locale.ROOT, "%.2f", r.p99Ms()) : "-", r.pswpout(), r.switches().size(),
                r.seconds());
    }
}
