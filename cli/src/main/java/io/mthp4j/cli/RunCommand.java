package io.mthp4j.cli;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.kernel.CgroupTree;
import io.mthp4j.core.kernel.DecisionSink;
import io.mthp4j.core.kernel.KernelBackend;
import io.mthp4j.core.host.HostThpEnforcer;
import io.mthp4j.core.policy.AllowList;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.HeadroomPolicy;
import io.mthp4j.core.policy.PressurePolicy;
import io.mthp4j.linux.LinuxKernel;
import io.mthp4j.linux.PolicyMap;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code mthp4j run}: the policy controller on this machine's kernel (the counterpart of the mthp_ext sample's
 * daemon, kernel-semantics.md §15.6, with its options -r -t -i -o -m -f -d). It publishes to the pinned policy
 * map, or with {@code --dry-run} prints each decision change instead. SIGINT and SIGTERM stop it cleanly: the
 * loop ends and every published decision is withdrawn.
 */
final class RunCommand implements Command {

    private final Options options = Options.builder("mthp4j run", "--root DIR --policy NAME [options]", """
            Runs the policy controller on this kernel: it watches memory pressure (a PSI trigger on the root),
            scans the cgroups under --root, and publishes each cgroup's allowed folio sizes to the pinned policy
            map that a BPF-THP program reads (kernel-semantics.md §15.6; docs/policies.md). With --dry-run it
            publishes nothing and prints every decision change. Stops on SIGINT or SIGTERM (or after --for),
            withdrawing every decision it published. Publishing needs root (bpf(2), bpffs); without a BPF-THP
            hook in the kernel ('mthp4j probe') the decisions are published but nothing applies them.""")
            .option("root", 'r', "DIR", "the cgroup to watch and scan: /kv or its directory under the cgroup2 mount (required)")
            .option("policy", 'p', "NAME", "mthp-ext, tva-aware, headroom or allow-list (required)")
            .option("threshold", 't', "MS", "full stall per scan that counts as pressure, in ms (default 100)")
            .option("interval", 'i', "MS", "PSI window and scan interval in ms; a scan at least every 2 x interval (default 1000)")
            .option("order", 'o', "ORDER", "highest order when not pressured (default: the PMD order)")
            .option("min", 'm', "MB", "anon + shmem below which a cgroup gets base pages, in MiB (default 16)")
            .flag("fixed", 'f', "always the chosen order: no pressure or memory reading")
            .flag("debug", 'd', "log the sample's line for every evaluated cgroup (stall, memory, order)")
            .option("allow", 'a', "LIST", "allow-list: cgroup paths (with their descendants) that keep THP, comma-separated")
            .option("headroom", (char) 0, "HIGH,LOW", "base pages from HIGH% of the cgroup's hard limit, huge orders again "
                    + "below LOW% for 3 scans (the headroom policy's default 80,70; an option of mthp-ext and tva-aware)")
            .option("enforce", 'e', "WHERE", "map (default: publish to the pinned BPF map) or host (no BPF-THP hook: apply the "
                    + "--root cgroup's decision to the per-size enabled knobs, restored on stop; docs/host-enforcement.md)")
            .option("state", (char) 0, "FILE", "with --enforce host: where the original knobs are recorded (default "
                    + "/run/mthp4j/host-thp.state)")
            .flag("top-level", (char) 0, "with --enforce host: also manage the top-level enabled knob")
            .option("relax-after", (char) 0, "TIME", "with --enforce host: how long relaxing must be asked for before the "
                    + "knobs go back (default 10s)")
            .flag("dry-run", 'n', "publish nothing; print each decision change")
            .option("pin", (char) 0, "PATH", "where the policy map is pinned (default /sys/fs/bpf/mthp4j/policy)")
            .option("for", (char) 0, "TIME", "stop after this long (e.g. 30s) instead of at SIGINT/SIGTERM")
            .flag("json", 'j', "with --dry-run: one JSON object per decision change")
            .build();

    @Override
    public String name() {
        return "run";
    }

    @Override
    public String summary() {
        return "run the policy controller on this kernel (publishes to the pinned map, or --dry-run prints)";
    }

    @Override
    public Options options() {
        return options;
    }

    @Override
    public int run(Options.Parsed args, Io io) {
        if (!args.has("root")) {
            throw CliException.usage("--root is required (the cgroup to watch, e.g. --root /); " + "see 'mthp4j run --help'");
        }
        String policyName = args.value("policy", null);
        if (policyName == null) {
            throw CliException.usage("--policy is required (mthp-ext, tva-aware, headroom or allow-list); see 'mthp4j run --help'");
        }
        checkPolicyOptions(policyName, args);
        boolean dryRun = args.has("dry-run");
        if (args.has("json") && !dryRun) {
            throw CliException.usage("--json prints decision changes, which only --dry-run prints; the controller logs them"
                    + " on stderr otherwise");
        }
        Duration threshold = args.duration("threshold", Duration.ofMillis(100), ChronoUnit.MILLIS);
        Duration interval = args.duration("interval", Duration.ofSeconds(1), ChronoUnit.MILLIS);
        long order = args.longValue("order", -1, 0, 63);
        long min = args.size("min", 16L << 20, 1L << 20);
        Duration stopAfter = args.duration("for", null, ChronoUnit.SECONDS);
        if (threshold.toMillis() < 1 || interval.toMillis() < 1) {
            throw CliException.usage("--threshold and --interval must be at least 1 ms");
        }
        if (threshold.compareTo(interval) > 0) {
            throw CliException.usage("--threshold (" + threshold.toMillis() + " ms) must not exceed --interval ("
                    + interval.toMillis() + " ms): the kernel rejects such a PSI trigger");
        }
        // before any logger exists: the controller's change lines (and -d's lines) on stderr
        System.setProperty("org.slf4j.simpleLogger.log.io.mthp4j.core", dryRun && !args.has("debug") ? "warn" : "info");

        String enforce = args.value("enforce", "map").toLowerCase(Locale.ROOT);
        if (!enforce.equals("map") && !enforce.equals("host")) {
            throw args.bad("enforce", enforce, "map or host");
        }
        boolean host = enforce.equals("host");
        if (!host && (args.has("state") || args.has("top-level") || args.has("relax-after"))) {
            throw CliException.usage("--state, --top-level and --relax-after belong to --enforce host");
        }
        if (host && dryRun) {
            throw CliException.usage("--enforce host writes THP knobs; --dry-run writes nothing: choose one");
        }
        Duration relaxAfter = args.duration("relax-after", Duration.ofSeconds(10), ChronoUnit.SECONDS);
        Path pin = args.has("pin") ? Path.of(args.value("pin", "")) : null;
        if (!dryRun && !host) {
            Host.requireBpffs(pin != null ? pin : PolicyMap.DEFAULT_PIN);
        }
        LinuxKernel kernel = Host.open(pin);
        try {
            CgroupRef root = Host.cgroup(kernel.cgroups(), args.value("root", "/"));
            CgroupPolicy policy = policy(policyName, args, kernel.geometry(), threshold, interval, (int) order, min);
            DecisionSink sink;
            String where;
            HostThpEnforcer enforcer = null;
            if (dryRun) {
                sink = new PrintingSink(io.out(), kernel.cgroups(), kernel, args.has("json"));
                where = ", dry run: decisions printed, nothing published";
            } else if (host) {
                Path state = Path.of(args.value("state", HostThpEnforcer.DEFAULT_STATE));
                enforcer = HostThpEnforcer.builder(kernel.thp(), kernel::bootTimeNanos).follow(root.id()).stateFile(state)
                        .topLevel(args.has("top-level")).relaxAfter(relaxAfter).open();
                sink = enforcer;
                where = ", enforcing " + root.path() + "'s decision on the THP knobs (originals in " + state + ")";
            } else {
                sink = kernel.decisions(); // open or create the pinned map now, so its errors come before the loop starts
                where = ", publishing to " + kernel.policyPin();
            }
            PolicyController controller = PolicyController.builder(kernel, policy).root(root).sink(sink)
                    .trigger(threshold, interval).build();
            io.err().println("mthp4j run: " + policyName + " on " + root.path() + " (threshold " + threshold.toMillis()
                    + " ms, interval " + interval.toMillis() + " ms)" + where + "; stop with Ctrl-C");
            return loop(controller, kernel, enforcer, stopAfter, io.err());
        } catch (KernelException e) {
            kernel.close();
            throw Host.fromKernel(e);
        } catch (IllegalStateException e) {
            kernel.close();
            throw new CliException(ExitCode.BAD_INPUT, e.getMessage(), e); // a pinned map of another layout
        } catch (RuntimeException e) {
            kernel.close();
            throw e;
        }
    }

    /** The policy's name and the options that belong to it, checked before anything touches the kernel. */
    private static void checkPolicyOptions(String name, Options.Parsed args) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "mthp-ext", "tva-aware" -> {
                if (args.has("allow")) {
                    throw CliException.usage("--allow belongs to --policy allow-list");
                }
            }
            case "allow-list", "headroom" -> {
                for (String o : new String[] {"threshold", "min", "fixed", "debug"}) {
                    if (args.has(o)) {
                        throw CliException.usage("--" + o + " belongs to the pressure policies (mthp-ext, tva-aware), not " + name);
                    }
                }
                if (name.equalsIgnoreCase("allow-list") && (args.has("headroom") || args.has("order"))) {
                    throw CliException.usage("--headroom and --order do not apply to allow-list");
                }
                if (name.equalsIgnoreCase("headroom") && args.has("allow")) {
                    throw CliException.usage("--allow belongs to --policy allow-list");
                }
            }
            default -> throw args.bad("policy", name, "mthp-ext, tva-aware, headroom or allow-list");
        }
    }

    /** {@code --headroom HIGH,LOW} in percent, checked: 0 < LOW <= HIGH <= 100. */
    private static double[] headroomShares(Options.Parsed args, double[] defaults) {
        if (!args.has("headroom")) {
            return defaults;
        }
        String v = args.value("headroom", "");
        String[] parts = v.split(",");
        try {
            double high = Double.parseDouble(parts[0].strip().replace("%", "")) / 100;
            double low = parts.length > 1 ? Double.parseDouble(parts[1].strip().replace("%", "")) / 100 : high - 0.10;
            if (parts.length > 2 || !(low > 0 && low <= high && high <= 1)) {
                throw new NumberFormatException();
            }
            return new double[] {high, low};
        } catch (NumberFormatException e) {
            throw args.bad("headroom", v, "HIGH,LOW in percent with 0 < LOW <= HIGH <= 100, e.g. 80,70");
        }
    }

    private static CgroupPolicy policy(String name, Options.Parsed args, PageGeometry g, Duration threshold,
                                       Duration interval, int order, long min) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "mthp-ext", "tva-aware" -> {
                PressurePolicy.Builder b = name.equalsIgnoreCase("mthp-ext") ? PressurePolicy.mthpExt(g) : PressurePolicy.tvaAware(g);
                b.threshold(threshold).interval(interval).minMemory(min).fixed(args.has("fixed")).debug(args.has("debug"));
                if (order >= 0) {
                    b.order(order);
                }
                if (args.has("headroom")) {
                    double[] shares = headroomShares(args, null);
                    b.headroom(shares[0], shares[1], 3);
                }
                return b.build();
            }
            case "headroom" -> {
                double[] shares = headroomShares(args, new double[] {0.80, 0.70});
                HeadroomPolicy.Builder b = HeadroomPolicy.builder(g).shares(shares[0], shares[1]);
                if (order >= 0) {
                    b.order(order);
                }
                return b.build();
            }
            case "allow-list" -> {
                AllowList list = AllowList.create();
                String allow = args.value("allow", "");
                for (String p : allow.split(",")) {
                    if (!p.isBlank()) {
                        list.addPath(Host.cgroupPath(p.strip()));
                    }
                }
                return list;
            }
            default -> throw args.bad("policy", name, "mthp-ext, tva-aware, headroom or allow-list");
        }
    }

    /** Runs until SIGINT/SIGTERM (the JVM's shutdown hooks) or {@code stopAfter}; stops cleanly either way. */
    private static int loop(PolicyController controller, LinuxKernel kernel, HostThpEnforcer enforcer, Duration stopAfter,
                            PrintStream err) {
        AtomicBoolean stopped = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Runnable stop = () -> {
            if (stopped.compareAndSet(false, true)) {
                boolean ended = controller.stop(Duration.ofSeconds(5)); // ends the loop, withdraws every decision
                if (enforcer != null) {
                    enforcer.close(); // puts the original knobs back and removes the state file
                }
                kernel.close();
                err.println("mthp4j run: stopped after " + controller.scans() + " scans and " + controller.changes()
                        + " decision changes; every decision withdrawn" + (ended ? "" : " (the loop did not end within 5 s)"));
                err.flush();
                done.countDown();
            }
        };
        Thread hook = new Thread(stop, "mthp4j-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        controller.start();
        try {
            if (stopAfter != null) {
                done.await(stopAfter.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                Runtime.getRuntime().removeShutdownHook(hook);
                stop.run();
                return ExitCode.OK;
            }
            done.await(); // SIGINT/SIGTERM run the hook; the JVM then exits with 130 / 143
            return ExitCode.OK;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop.run();
            return ExitCode.INTERRUPTED;
        } catch (IllegalStateException e) {
            return ExitCode.OK; // the JVM is already shutting down: the hook stops the controller
        }
    }

    /** Prints each change of a cgroup's decision (the controller republishes every scan; repeats are not printed). */
    static final class PrintingSink implements DecisionSink {
        private final PrintStream out;
        private final CgroupTree tree;
        private final KernelBackend clock;
        private final boolean json;
        private final long startNanos;
        private final Map<Long, DecisionTable> last = new HashMap<>();
        private final Map<Long, String> paths = new HashMap<>();

        PrintingSink(PrintStream out, CgroupTree tree, KernelBackend clock, boolean json) {
            this.out = out;
            this.tree = tree;
            this.clock = clock;
            this.json = json;
            this.startNanos = clock.bootTimeNanos();
        }

        @Override
        public synchronized void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
            DecisionTable before = last.put(cgroupId, table);
            if (!table.equals(before)) {
                print(cgroupId, before, table, generation);
            }
        }

        @Override
        public synchronized void withdraw(long cgroupId) {
            DecisionTable before = last.remove(cgroupId);
            if (before != null) {
                print(cgroupId, before, null, 0);
            }
        }

        private void print(long id, DecisionTable before, DecisionTable after, long generation) {
            String path = paths.get(id);
            if (path == null) {
                for (CgroupRef c : safeWalk()) {
                    paths.put(c.id(), c.path());
                }
                path = paths.getOrDefault(id, "id " + id);
            }
            double t = (clock.bootTimeNanos() - startNanos) / 1e9;
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("t_s", t);
                m.put("cgroup", path);
                m.put("id", id);
                m.put("before", PolicyController.describe(before));
                m.put("after", after == null ? "withdrawn" : PolicyController.describe(after));
                m.put("generation", generation);
                out.println(Json.line(m));
            } else {
                out.printf(Locale.ROOT, "%+9.3fs  %s: %s -> %s%n", t, path, PolicyController.describe(before),
                        after == null ? "withdrawn" : PolicyController.describe(after));
            }
            out.flush();
        }

        private java.util.List<CgroupRef> safeWalk() {
            try {
                return tree.walk(tree.root());
            } catch (KernelException e) {
                return java.util.List.of();
            }
        }
    }
}
