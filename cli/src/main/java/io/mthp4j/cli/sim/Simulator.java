package io.mthp4j.cli.sim;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.cli.Units;
import io.mthp4j.cli.sim.RunResult.Metric;
import io.mthp4j.cli.sim.Scenario.Condition;
import io.mthp4j.cli.sim.Scenario.Limit;
import io.mthp4j.cli.sim.Scenario.Region;
import io.mthp4j.cli.sim.Scenario.Workload;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.kernel.Psi;
import io.mthp4j.core.kernel.PsiTrigger;
import io.mthp4j.core.policy.PressurePolicy;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeKernelConfig;
import io.mthp4j.fake.FakeProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/**
 * Runs a {@link Scenario} under one {@link Condition} and one {@link Configuration} on a fresh
 * {@link FakeKernel} (x86-64, 4 KiB pages) and measures what the model measures. Single-threaded and
 * deterministic: the same scenario and seed give the same result.
 *
 * <p>One run: the configuration's THP settings and the condition's limits are written; every workload instance
 * is spawned in its cgroup and maps its regions (madvised as asked); prefilled regions are written once in
 * 2 MiB pieces; then, for each step, every live process does its share of page writes at the region's rate
 * (which page: the access pattern, from a per-instance random stream independent of the configuration, so
 * every configuration sees the same writes), and the virtual clock moves to the step's end if the stall of the
 * step did not already take it further.
 *
 * <p>The controller ({@code always + mthp_ext}, {@code always + tva-aware}) is {@link PolicyController} with a
 * {@link PressurePolicy}, publishing to the fake kernel's decision sink with the reference decision program
 * loaded. Its loop's cadence is reproduced on this thread instead of its own (which would make runs depend
 * on thread timing): a PSI {@code some} trigger on the root with the policy's threshold and window (the
 * nearest multiple of 2 s the kernel accepts without CAP_SYS_RESOURCE, as the controller does), checked after
 * every process's step and every prefill piece; a scan at the start, on every event, and after 2 × interval
 * without one. Scans therefore happen at most one process-step later than the loop's.
 */
public final class Simulator {

    static final long PREFILL_CHUNK = 2L << 20;
    private static final PageGeometry GEOMETRY = PageGeometry.X86_64_4K;

    private final Scenario scenario;
    private final Condition condition;
    private final Configuration configuration;
    private final LongConsumer onStep;

    private FakeKernel kernel;
    private final List<Instance> instances = new ArrayList<>();
    private PolicyController controller;
    private PsiTrigger trigger;
    private long lastScanNanos;
    private long scanTimeoutNanos;
    private long events;

    private Simulator(Scenario scenario, Condition condition, Configuration configuration, LongConsumer onStep) {
        this.scenario = scenario;
        this.condition = condition;
        this.configuration = configuration;
        this.onStep = onStep;
    }

    /**
     * Runs one configuration under one condition.
     *
     * @param onStep called after each step with the number of steps done (for a progress bar)
     */
    public static RunResult run(Scenario scenario, Condition condition, Configuration configuration, LongConsumer onStep) {
        Simulator s = new Simulator(scenario, condition, configuration, onStep);
        try {
            return s.run();
        } finally {
            s.close();
        }
    }

    /** One process of a workload, with its regions and what it did. */
    private static final class Instance {
        final Workload workload;
        final FakeProcess process;
        final long[] base;
        final BitSet[] written;
        final double[] pending;
        final long[] cursor;
        final SplittableRandom random;
        final long[] stepStallNanos;
        long ops;
        long stallNanos;
        boolean killed;

        Instance(Workload workload, FakeProcess process, long seed, long steps) {
            this.workload = workload;
            this.process = process;
            int n = workload.regions().size();
            this.base = new long[n];
            this.written = new BitSet[n];
            this.pending = new double[n];
            this.cursor = new long[n];
            this.random = new SplittableRandom(seed);
            this.stepStallNanos = new long[(int) steps];
        }
    }

    private RunResult run() {
        kernel = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder()
                .totalMemoryBytes(scenario.memoryBytes(condition))
                .swapBytes(scenario.swapBytes())
                .capSysResource(scenario.capSysResource())
                .seed(scenario.seed())
                .build());
        for (long m = GEOMETRY.allAnonOrders(); m != 0; m &= m - 1) {
            int order = Long.numberOfTrailingZeros(m);
            kernel.writeFile("/sys/kernel/mm/transparent_hugepage/" + GEOMETRY.sizeDirectory(order) + "/enabled",
                    configuration.perSizeEnabled());
        }
        long steps = scenario.steps();
        SplittableRandom seeds = new SplittableRandom(scenario.seed());
        for (Workload w : scenario.workloads()) {
            for (int i = 0; i < w.count(); i++) {
                CgroupRef cgroup = mkdirs(w.cgroupOf(i));
                Instance inst = new Instance(w, kernel.spawn(cgroup), seeds.nextLong(), steps);
                for (int r = 0; r < w.regions().size(); r++) {
                    Region region = w.regions().get(r);
                    long addr = region.kind() == Scenario.Kind.ANON ? inst.process.mmapAnonymous(region.bytes())
                            : inst.process.mmapSharedAnonymous(region.bytes());
                    switch (region.advice()) {
                        case HUGEPAGE -> inst.process.madvise(addr, region.bytes(), Madvice.HUGEPAGE);
                        case NOHUGEPAGE -> inst.process.madvise(addr, region.bytes(), Madvice.NOHUGEPAGE);
                        case NONE -> { }
                    }
                    inst.base[r] = addr;
                    inst.written[r] = new BitSet((int) (region.bytes() / GEOMETRY.pageSize()));
                }
                instances.add(inst);
            }
        }
        for (Limit l : condition.limits()) {
            mkdirs(l.cgroup());
            String dir = l.cgroup().equals("/") ? "" : l.cgroup();
            kernel.writeFile("/sys/fs/cgroup" + dir + "/" + l.file(), l.bytes() == Long.MAX_VALUE ? "max" : Long.toString(l.bytes()));
        }
        if (configuration.controlled()) {
            startController();
        }
        for (Instance inst : instances) {
            prefill(inst);
        }
        long stepNanos = scenario.step().toNanos();
        double stepSeconds = stepNanos / 1e9;
        for (int step = 0; step < steps; step++) {
            long stepStart = kernel.clock().nanos();
            for (Instance inst : instances) {
                long before = kernel.clock().nanos();
                work(inst, stepSeconds);
                long stalled = kernel.clock().nanos() - before;
                inst.stepStallNanos[step] = stalled;
                inst.stallNanos += stalled;
                controllerTick();
            }
            long end = stepStart + stepNanos;
            long now = kernel.clock().nanos();
            if (now < end) {
                kernel.clock().advance(Duration.ofNanos(end - now));
            }
            controllerTick();
            onStep.accept(step + 1);
        }
        return measure();
    }

    private CgroupRef mkdirs(String path) {
        if (path.equals("/")) {
            return kernel.cgroups().root();
        }
        CgroupRef last = null;
        StringBuilder p = new StringBuilder();
        for (String part : path.substring(1).split("/")) {
            p.append('/').append(part);
            try {
                last = kernel.cgroups().lookup(p.toString());
            } catch (KernelException e) {
                if (e.errno() != Errno.ENOENT) {
                    throw e;
                }
                last = kernel.cgroups().mkdir(p.toString());
            }
        }
        return last;
    }

    private void prefill(Instance inst) {
        List<Region> regions = inst.workload.regions();
        for (int r = 0; r < regions.size() && !inst.killed; r++) {
            Region region = regions.get(r);
            if (!region.prefill()) {
                continue;
            }
            for (long off = 0; off < region.bytes() && !inst.killed; off += PREFILL_CHUNK) {
                long len = Math.min(PREFILL_CHUNK, region.bytes() - off);
                long before = kernel.clock().nanos();
                write(inst, inst.base[r] + off, len);
                inst.written[r].set((int) (off / GEOMETRY.pageSize()), (int) ((off + len) / GEOMETRY.pageSize()));
                inst.stallNanos += kernel.clock().nanos() - before;
                controllerTick();
            }
        }
    }

    /** One step of one process: each region's share of page writes. */
    private void work(Instance inst, double stepSeconds) {
        List<Region> regions = inst.workload.regions();
        long pageSize = GEOMETRY.pageSize();
        for (int r = 0; r < regions.size() && !inst.killed; r++) {
            Region region = regions.get(r);
            inst.pending[r] += region.opsPerSecond() * stepSeconds;
            long n = (long) inst.pending[r];
            inst.pending[r] -= n;
            long pages = region.bytes() / pageSize;
            for (long k = 0; k < n && !inst.killed; k++) {
                long page = switch (region.pattern()) {
                    case SEQUENTIAL -> inst.cursor[r]++ % pages;
                    case RANDOM -> inst.random.nextLong(pages);
                    case HOT -> {
                        long hot = Math.max(1, (long) (pages * region.hotFraction()));
                        yield inst.random.nextDouble() < region.hotProbability() ? inst.random.nextLong(hot)
                                : inst.random.nextLong(pages);
                    }
                };
                write(inst, inst.base[r] + page * pageSize, 1);
                inst.written[r].set((int) page);
                inst.ops++;
            }
        }
    }

    private void write(Instance inst, long addr, long len) {
        try {
            inst.process.write(addr, len);
        } catch (KernelException e) {
            if (!inst.process.oomKilled()) {
                throw e;
            }
        }
        if (inst.process.oomKilled()) {
            inst.killed = true;
        }
    }

    // ---- the controller's loop, stepped on this thread ----

    private void startController() {
        Scenario.PolicyParameters pp = scenario.policy();
        PressurePolicy.Builder b = configuration == Configuration.MTHP_EXT ? PressurePolicy.mthpExt(GEOMETRY)
                : PressurePolicy.tvaAware(GEOMETRY);
        b.threshold(pp.threshold()).interval(pp.interval()).minMemory(pp.minMemory()).hysteresis(pp.hysteresis());
        if (pp.order() >= 0) {
            b.order(pp.order());
        }
        PressurePolicy policy = b.build();
        kernel.loadDecisionProgram();
        controller = PolicyController.builder(kernel, policy).build();
        trigger = registerTrigger(pp.threshold().toNanos() / 1000, pp.interval().toNanos() / 1000);
        scanTimeoutNanos = pp.interval().toNanos() * 2; // §15.6: epoll_wait(2 × interval)
        controller.scanOnce();
        lastScanNanos = kernel.clock().nanos();
    }

    /** The controller's registration: the window asked for, else the nearest multiple of 2 s up to 10 s. */
    private PsiTrigger registerTrigger(long thresholdMicros, long windowMicros) {
        try {
            return kernel.psi().register(kernel.cgroups().root(), Psi.Kind.SOME, thresholdMicros, windowMicros);
        } catch (KernelException e) {
            if (e.errno() != Errno.EINVAL) {
                throw e;
            }
            // linux-interfaces.md §5.2: without CAP_SYS_RESOURCE only multiples of 2 s (ties: the longer).
            long window = Math.max(2_000_000, Math.min(10_000_000, (windowMicros + 1_000_000) / 2_000_000 * 2_000_000));
            return kernel.psi().register(kernel.cgroups().root(), Psi.Kind.SOME, Math.min(thresholdMicros, window), window);
        }
    }

    private void controllerTick() {
        if (controller == null) {
            return;
        }
        boolean event;
        try {
            event = trigger.await(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        long now = kernel.clock().nanos();
        if (event) {
            events++;
        }
        if (event || now - lastScanNanos >= scanTimeoutNanos) {
            controller.scanOnce();
            lastScanNanos = now;
        }
    }

    private void close() {
        if (trigger != null) {
            trigger.close();
        }
        if (controller != null) {
            controller.stop(Duration.ofSeconds(1));
        }
    }

    // ---- what is measured ----

    private RunResult measure() {
        List<Metric> metrics = new ArrayList<>();
        Map<String, Double> v = new LinkedHashMap<>();
        long pageSize = GEOMETRY.pageSize();
        double mib = 1 << 20;

        // Folios resident at the end, by size (tools/mm/thpmaps' census of every region).
        TreeMap<Long, Long> census = new TreeMap<>();
        long untouched = 0;
        for (Instance inst : instances) {
            for (int r = 0; r < inst.workload.regions().size(); r++) {
                long len = inst.workload.regions().get(r).bytes();
                inst.process.census(inst.base[r], len).forEach((size, bytes) -> census.merge(size, bytes, Long::sum));
                BitSet w = inst.written[r];
                for (long page = 0; page < len / pageSize; page++) {
                    if (!w.get((int) page) && inst.process.folioSizeAt(inst.base[r] + page * pageSize) != 0) {
                        untouched++;
                    }
                }
            }
        }
        for (long m = GEOMETRY.sysfsOrders() | 1; m != 0; m &= m - 1) { // base pages, then every folio size
            long size = GEOMETRY.bytes(Long.numberOfTrailingZeros(m));
            String key = "folios." + Units.formatBytes(size);
            metrics.add(new Metric(key, "Folios resident at the end, by size", Units.formatBytes(size), "MiB"));
            v.put(key, census.getOrDefault(size, 0L) / mib);
        }

        long alloc = 0;
        long fallback = 0;
        long fallbackCharge = 0;
        long swpoutLarge = 0;
        for (long m = GEOMETRY.sysfsOrders(); m != 0; m &= m - 1) {
            int order = Long.numberOfTrailingZeros(m);
            if (Orders.contains(GEOMETRY.allAnonOrders(), order)) {
                alloc += kernel.stat(order, "anon_fault_alloc");
                fallback += kernel.stat(order, "anon_fault_fallback");
                fallbackCharge += kernel.stat(order, "anon_fault_fallback_charge");
            }
            if (Orders.contains(GEOMETRY.allFileOrders(), order)) {
                alloc += kernel.stat(order, "shmem_alloc");
                fallback += kernel.stat(order, "shmem_fallback");
                fallbackCharge += kernel.stat(order, "shmem_fallback_charge");
            }
            swpoutLarge += kernel.stat(order, "swpout");
        }
        String faults = "Faults";
        put(metrics, v, "faults.large_alloc", faults, "large folios allocated at fault", "", alloc);
        put(metrics, v, "faults.fallback", faults, "fallbacks to a smaller size", "", fallback);
        put(metrics, v, "faults.fallback_charge", faults, "  of which the memcg charge failed", "", fallbackCharge);
        put(metrics, v, "khugepaged.collapsed", faults, "PMD folios collapsed by khugepaged", "",
                Long.parseLong(kernel.readFile("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed").strip()));

        String reclaim = "Reclaim";
        put(metrics, v, "reclaim.pswpout", reclaim, "pages swapped out", "", kernel.vmstat("pswpout"));
        put(metrics, v, "reclaim.pswpin", reclaim, "pages swapped in", "", kernel.vmstat("pswpin"));
        put(metrics, v, "reclaim.large_swpout", reclaim, "large folios swapped out whole", "", swpoutLarge);
        put(metrics, v, "oom.kills", reclaim, "processes OOM-killed", "",
                instances.stream().filter(i -> i.killed).count());

        String stall = "Memory stall (modeled)";
        CgroupRef root = kernel.cgroups().root();
        put(metrics, v, "stall.total", stall, "host, full", "ms", kernel.cgroups().pressure(root).full().totalMicros() / 1e3);
        for (Workload w : scenario.workloads()) {
            long nanos = instances.stream().filter(i -> i.workload == w).mapToLong(i -> i.stallNanos).sum();
            put(metrics, v, "stall." + w.name(), stall, w.name(), "ms", nanos / 1e6);
        }

        String memory = "Memory at the end";
        var mem = kernel.cgroups().memory(root);
        put(metrics, v, "memory.current", memory, "charged (memory.current)", "MiB", mem.current() / mib);
        put(metrics, v, "memory.partly_mapped", memory, "in partly mapped folios (current - anon - shmem)", "MiB",
                (mem.current() - mem.anonAndShmem()) / mib);
        put(metrics, v, "memory.unwritten", memory, "resident but never written", "MiB", untouched * pageSize / mib);

        String proxy = "Workload proxies (modeled from stall)";
        double seconds = scenario.steps() * scenario.step().toNanos() / 1e9;
        for (Workload w : scenario.workloads()) {
            long ops = 0;
            long stepStall = 0;
            List<Long> samples = new ArrayList<>();
            for (Instance i : instances) {
                if (i.workload == w) {
                    ops += i.ops;
                    stepStall += Arrays.stream(i.stepStallNanos).sum();
                    Arrays.stream(i.stepStallNanos).forEach(samples::add);
                }
            }
            double busy = w.count() * seconds + stepStall / 1e9;
            put(metrics, v, "throughput." + w.name(), proxy, w.name() + " writes/s", "ops/s", busy == 0 ? 0 : ops / busy * w.count());
            samples.sort(null);
            long p99 = samples.isEmpty() ? 0 : samples.get((int) Math.min(samples.size() - 1, Math.ceil(samples.size() * 0.99) - 1));
            put(metrics, v, "p99_step_stall." + w.name(), proxy, w.name() + " p99 stall per step", "ms", p99 / 1e6);
        }

        String ctl = "Controller";
        metrics.add(new Metric("controller.scans", ctl, "scans", ""));
        metrics.add(new Metric("controller.changes", ctl, "decision changes", ""));
        metrics.add(new Metric("controller.events", ctl, "PSI events", ""));
        if (controller != null) {
            v.put("controller.scans", (double) controller.scans());
            v.put("controller.changes", (double) controller.changes());
            v.put("controller.events", (double) events);
        }
        kernel.checkInvariants();
        return new RunResult(configuration, condition.name(), metrics, v);
    }

    private static void put(List<Metric> metrics, Map<String, Double> v, String key, String section, String label, String unit,
                            double value) {
        metrics.add(new Metric(key, section, label, unit));
        v.put(key, value);
    }
}
