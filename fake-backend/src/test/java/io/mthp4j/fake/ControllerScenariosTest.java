package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Madvice;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The scenarios of issue 4 end to end on the fake kernel's memory model, qualitatively like the mthp_ext
 * series' evaluation (kernel-semantics.md §15.5, §15.6): the controller publishes to {@link FakeKernel#decisions()},
 * {@link FakeKernel#loadDecisionProgram()} makes real faults, khugepaged and the memcg pressure model consult
 * what it published, and the tests look at the folios processes actually got. Time is the kernel's virtual
 * clock, and the controller scans when the test calls {@link PolicyController#scanOnce()} (its loop would scan
 * after a PSI event or after 2 × interval), so every run is the same.
 *
 * <p>THP settings in every test: top level {@code madvise} (our machines), the PMD size and every mTHP size
 * {@code inherit} except 64K {@code always}; so by the kernel's own rules a MADV_HUGEPAGE region gets 2M
 * folios (and every smaller size where 2M does not fit) and any other region 64K folios.
 */
class ControllerScenariosTest {

    static final long K = 1 << 10;
    static final long M = 1 << 20;
    static final long PAGE = 4 * K;
    static final String THP = "/sys/kernel/mm/transparent_hugepage/";

    final List<PolicyController> controllers = new ArrayList<>();
    final List<FakeKernel> kernels = new ArrayList<>();

    @AfterEach
    void stopAndCheck() {
        controllers.forEach(c -> assertTrue(c.stop(Duration.ofSeconds(10)), "stop is bounded"));
        kernels.forEach(FakeKernel::checkInvariants);
    }

    /** x86-64 with 1 GiB of swap (so memory.high can reclaim anonymous memory) and the class comment's sizes. */
    FakeKernel boot(boolean decisionProgram) {
        FakeKernel kernel = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder().swapBytes(1L << 30).build());
        for (String size : List.of("16kB", "32kB", "128kB", "256kB", "512kB", "1024kB")) {
            kernel.writeFile(THP + "hugepages-" + size + "/enabled", "inherit");
        }
        kernel.writeFile(THP + "hugepages-64kB/enabled", "always");
        if (decisionProgram) {
            kernel.loadDecisionProgram();
        }
        kernels.add(kernel);
        return kernel;
    }

    PolicyController controller(FakeKernel kernel, PressurePolicy policy) {
        PolicyController c = PolicyController.builder(kernel, policy).build();
        controllers.add(c);
        return c;
    }

    /** A process in a new cgroup at {@code path}. */
    static FakeProcess spawnIn(FakeKernel kernel, String path) {
        return kernel.spawn(kernel.cgroups().mkdir(path));
    }

    /** Maps a fresh private anonymous region, optionally MADV_HUGEPAGE, writes all of it: the folios it got. */
    static Map<Long, Long> faultFresh(FakeProcess p, long bytes, boolean madvised) {
        long a = p.mmapAnonymous(bytes);
        if (madvised) {
            p.madvise(a, bytes, Madvice.HUGEPAGE);
        }
        p.write(a, bytes);
        return p.census(a, bytes);
    }

    /** The mthp_ext harness's load (as in PressureModelTest): random single-page writes. */
    static void randomWrites(FakeProcess p, long base, long length, int writes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long pages = length / PAGE;
        for (int i = 0; i < writes; i++) {
            p.write(base + r.nextLong(pages) * PAGE, 1);
        }
    }

    static long fullStallMicros(FakeKernel kernel, CgroupRef cgroup) {
        return kernel.cgroups().pressure(cgroup).full().totalMicros();
    }

    /**
     * Pushes {@code cgroup} (with memory.high 64M) over its limit with {@code p}'s random writes over 128 MiB
     * and checks the premise: a full stall of at least mthp_ext's default threshold (100 ms).
     */
    static long pushOverMemoryHigh(FakeKernel kernel, CgroupRef cgroup, FakeProcess p, long seed) {
        long before = fullStallMicros(kernel, cgroup);
        long a = p.mmapAnonymous(128 * M);
        randomWrites(p, a, 128 * M, 30_000, seed);
        long stall = fullStallMicros(kernel, cgroup) - before;
        assertTrue(stall >= 100_000, "the load stalls the cgroup for at least the threshold: " + stall + " us");
        assertTrue(p.swapBytes() > 0, "memory.high reclaimed to swap");
        return stall;
    }

    static Map<Long, Long> only(long folioSize, long bytes) {
        return Map.of(folioSize, bytes);
    }

    static long pagesCollapsed(FakeKernel kernel) {
        return Long.parseLong(kernel.readFile(THP + "khugepaged/pages_collapsed").strip());
    }

    // ---- 1. no pressure ----

    /** One process per cgroup: a 32 MiB MADV_HUGEPAGE heap, then a region of every size, then a 1 MiB plain one. */
    static List<Map<Long, Long>> noPressureLoad(FakeKernel kernel, Runnable scan) {
        List<Map<Long, Long>> got = new ArrayList<>();
        List<FakeProcess> ps = new ArrayList<>();
        for (String name : List.of("/web", "/batch", "/db")) {
            ps.add(spawnIn(kernel, name));
        }
        scan.run();
        for (FakeProcess p : ps) {
            got.add(faultFresh(p, 32 * M, true));
        }
        scan.run();
        // 2M + 1M + 512K + … + 16K + 4K: where 2M does not fit, each smaller size fits exactly once (§5.2).
        long odd = 4 * M - 16 * K + 4 * K;
        for (FakeProcess p : ps) {
            got.add(faultFresh(p, odd, true));
            got.add(faultFresh(p, M, false));
        }
        scan.run();
        return got;
    }

    @Test
    @DisplayName("1. no pressure: every order allowed and used, exactly what the kernel gives without a policy")
    void noPressure() {
        FakeKernel kernel = boot(true);
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        PolicyController controller = controller(kernel, policy);
        List<Map<Long, Long>> got = noPressureLoad(kernel, controller::scanOnce);

        Map<Long, Long> everySize = new TreeMap<>();
        for (long size = 4 * K; size <= 2 * M; size <<= 1) {
            if (size != 8 * K) { // order 1 is never an anonymous THP order (§3.4)
                everySize.put(size, size);
            }
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(only(2 * M, 32 * M), got.get(i), "a MADV_HUGEPAGE heap gets 2M folios");
            assertEquals(everySize, got.get(3 + 2 * i), "every size where it fits");
            assertEquals(only(64 * K, M), got.get(4 + 2 * i), "a plain region gets 64K (always)");
        }
        assertEquals(0, kernel.stat(9, "anon_fault_fallback") + kernel.stat(4, "anon_fault_fallback"));

        FakeKernel plain = boot(false);
        assertEquals(got, noPressureLoad(plain, () -> { }), "the same folios as with no policy at all");

        for (CgroupRef cg : kernel.cgroups().walk(kernel.cgroups().root())) {
            assertEquals(policy.normalTable(), controller.decision(cg.id()), cg.path());
        }
        assertEquals(controller.trackedCgroups(), controller.changes(), "only each cgroup's first decision, no flapping");
        assertEquals(0, controller.errors());
    }

    // ---- 2. memory.high ----

    @Test
    @DisplayName("2. a cgroup over memory.high: its next faults use base pages within one scan; its sibling keeps mTHP")
    void overMemoryHigh() {
        FakeKernel kernel = boot(true);
        FakeProcess p = spawnIn(kernel, "/hot");
        FakeProcess q = spawnIn(kernel, "/calm");
        CgroupRef hot = p.cgroup();
        kernel.writeFile("/sys/fs/cgroup/hot/memory.high", "64M");
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        PolicyController controller = controller(kernel, policy);
        controller.scanOnce();
        assertEquals(policy.normalTable(), controller.decision(hot.id()));

        pushOverMemoryHigh(kernel, hot, p, 7);
        assertTrue(kernel.stat(4, "anon_fault_alloc") > 0, "before the scan the load itself still got 64K folios");
        assertEquals(only(2 * M, 2 * M), faultFresh(p, 2 * M, true), "no scan yet: the controller has not seen it");

        long scannedAt = kernel.clock().nanos();
        controller.scanOnce();
        assertEquals(policy.pressuredTable(), controller.decision(hot.id()));
        assertEquals(policy.normalTable(), controller.decision(q.cgroup().id()));
        long alloc64k = kernel.stat(4, "anon_fault_alloc");
        assertEquals(only(PAGE, 4 * M), faultFresh(p, 4 * M, true), "the pressured cgroup: base pages");
        assertEquals(only(PAGE, M), faultFresh(p, M, false), "base pages where 64K is always");
        assertEquals(alloc64k, kernel.stat(4, "anon_fault_alloc"));
        assertEquals(only(2 * M, 4 * M), faultFresh(q, 4 * M, true), "the sibling: 2M");
        assertEquals(only(64 * K, M), faultFresh(q, M, false), "the sibling: 64K");
        // The writes of the pressured cgroup stall (memory.high throttles), and stalls pass on the clock: the
        // decision the faults used was still the scan's, not an expired one (default TTL 3 × 2 × 1 s).
        assertTrue(kernel.clock().nanos() - scannedAt < Duration.ofSeconds(6).toNanos(), "within the decision's TTL");
    }

    // ---- 3. the 16 MiB minimum ----

    @Test
    @DisplayName("3. under 16 MiB of anon + shmem: base pages; above it: mTHP, and back when it grows")
    void smallProcesses() {
        FakeKernel kernel = boot(true);
        FakeProcess ps = spawnIn(kernel, "/small");
        FakeProcess pb = spawnIn(kernel, "/big");
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        PolicyController controller = controller(kernel, policy);
        controller.scanOnce();
        assertEquals(only(2 * M, 8 * M), faultFresh(ps, 8 * M, true), "nothing known yet: the kernel default");
        assertEquals(only(2 * M, 32 * M), faultFresh(pb, 32 * M, true));

        controller.scanOnce();
        assertEquals(policy.smallTable(), controller.decision(ps.cgroup().id()), "8 MiB < 16 MiB");
        assertEquals(policy.normalTable(), controller.decision(pb.cgroup().id()));
        assertEquals(only(PAGE, 4 * M), faultFresh(ps, 4 * M, true));
        assertEquals(only(PAGE, M), faultFresh(ps, M, false));
        assertEquals(only(2 * M, 4 * M), faultFresh(pb, 4 * M, true));

        assertEquals(only(PAGE, 8 * M), faultFresh(ps, 8 * M, true), "it grows, on base pages");
        controller.scanOnce();
        assertEquals(policy.normalTable(), controller.decision(ps.cgroup().id()), "21 MiB ≥ 16 MiB");
        assertEquals(only(2 * M, 4 * M), faultFresh(ps, 4 * M, true));
        assertEquals(0, controller.errors());
    }

    @Test
    @DisplayName("3b. the v2 first-sighting quirk on real faults: a cgroup without stall is never held to the minimum")
    void firstSightingQuirk() {
        FakeKernel kernel = boot(true);
        FakeProcess ps = spawnIn(kernel, "/small");
        CgroupRef small = ps.cgroup();
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).firstSightingQuirk(true).build();
        PolicyController controller = controller(kernel, policy);
        controller.scanOnce();
        faultFresh(ps, 8 * M, true);
        controller.scanOnce();
        controller.scanOnce();
        assertEquals(0, fullStallMicros(kernel, small));
        assertEquals(policy.normalTable(), controller.decision(small.id()), "v2 pins it to the initial order");
        assertEquals(only(2 * M, 4 * M), faultFresh(ps, 4 * M, true), "so an 8 MiB process keeps getting 2M");
    }

    // ---- 4. tva-aware ----

    /** The folios of a region right after its faults and after khugepaged had its time, and pages_collapsed. */
    record KhugepagedRun(Map<Long, Long> faulted, Map<Long, Long> afterwards, long pagesCollapsed) {
    }

    /**
     * A small cgroup (64 KiB, then 4 MiB of MADV_HUGEPAGE memory) under {@code policy}, with the controller
     * scanning every 2 × interval while the clock passes khugepaged's scan_sleep_millisecs.
     */
    KhugepagedRun smallCgroupThroughKhugepaged(PressurePolicy.Builder policyBuilder) {
        FakeKernel kernel = boot(true);
        FakeProcess p = spawnIn(kernel, "/tiny");
        PressurePolicy policy = policyBuilder.build();
        PolicyController controller = controller(kernel, policy);
        faultFresh(p, 64 * K, false);
        controller.scanOnce();
        assertEquals(policy.smallTable(), controller.decision(p.cgroup().id()));

        long a = p.mmapAnonymous(4 * M);
        p.madvise(a, 4 * M, Madvice.HUGEPAGE);
        p.write(a, 4 * M);
        Map<Long, Long> faulted = p.census(a, 4 * M);
        long sleep = kernel.thp().read().khugepaged().scanSleepMillis();
        Duration step = policy.interval().multipliedBy(2);
        for (long waited = 0; waited <= sleep; waited += step.toMillis()) {
            kernel.clock().advance(step);
            controller.scanOnce(); // as the loop does after 2 × interval without an event: decisions stay fresh
        }
        assertEquals(policy.smallTable(), controller.decision(p.cgroup().id()), "still small throughout");
        return new KhugepagedRun(faulted, p.census(a, 4 * M), pagesCollapsed(kernel));
    }

    @Test
    @DisplayName("4. tva-aware: faults of a small cgroup get base pages, khugepaged still collapses it; mthp_ext blocks both")
    void tvaAwareKeepsKhugepaged() {
        KhugepagedRun tva = smallCgroupThroughKhugepaged(PressurePolicy.tvaAware(FakeKernelConfig.x86_64().geometry()));
        assertEquals(only(PAGE, 4 * M), tva.faulted(), "page faults: base pages");
        assertEquals(only(2 * M, 4 * M), tva.afterwards(), "khugepaged collapsed both PMD ranges");
        assertEquals(2, tva.pagesCollapsed());

        KhugepagedRun ext = smallCgroupThroughKhugepaged(PressurePolicy.mthpExt(FakeKernelConfig.x86_64().geometry()));
        assertEquals(only(PAGE, 4 * M), ext.faulted());
        assertEquals(only(PAGE, 4 * M), ext.afterwards(), "mthp_ext: khugepaged gets base pages too");
        assertEquals(0, ext.pagesCollapsed());
    }

    // ---- 5. flapping ----

    /**
     * What one flapping run did: the cgroup's decision after each scan, the folios of the fresh memory each burst
     * starts with (so the decision in force when the burst begins), and the controller's change count.
     */
    record Flapping(List<DecisionTable> decisions, List<Map<Long, Long>> burstStarts, long changes) {

        int cgroupChanges() {
            int n = 0;
            for (int i = 1; i < decisions.size(); i++) {
                n += decisions.get(i).equals(decisions.get(i - 1)) ? 0 : 1;
            }
            return n;
        }
    }

    /**
     * A workload at the edge: bursts of random writes over memory.high (a stall above the threshold) alternate
     * with quiet periods of 2 × interval; the controller scans after each.
     */
    Flapping flap(int hysteresis) {
        FakeKernel kernel = boot(true);
        FakeProcess p = spawnIn(kernel, "/edge");
        CgroupRef edge = p.cgroup();
        kernel.writeFile("/sys/fs/cgroup/edge/memory.high", "32M");
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).hysteresis(hysteresis).build();
        PolicyController controller = controller(kernel, policy);
        controller.scanOnce();
        List<DecisionTable> decisions = new ArrayList<>(List.of(controller.decision(edge.id())));
        List<Map<Long, Long>> burstStarts = new ArrayList<>();
        long a = p.mmapAnonymous(64 * M);
        for (int cycle = 0; cycle < 6; cycle++) {
            long stall = fullStallMicros(kernel, edge);
            burstStarts.add(faultFresh(p, M, false));
            randomWrites(p, a, 64 * M, 12_000, cycle);
            assertTrue(fullStallMicros(kernel, edge) - stall >= 100_000, "burst " + cycle + " stalls past the threshold");
            controller.scanOnce();
            decisions.add(controller.decision(edge.id()));

            stall = fullStallMicros(kernel, edge);
            kernel.clock().advance(policy.interval().multipliedBy(2));
            assertEquals(stall, fullStallMicros(kernel, edge), "quiet: no stall");
            controller.scanOnce();
            decisions.add(controller.decision(edge.id()));
        }
        assertEquals(0, controller.errors());
        return new Flapping(decisions, burstStarts, controller.changes());
    }

    @Test
    @DisplayName("5. flapping load: hysteresis holds base pages across quiet scans, with far fewer decision changes")
    void flappingWithAndWithoutHysteresis() {
        PressurePolicy shape = PressurePolicy.mthpExt(FakeKernelConfig.x86_64().geometry()).build();
        Flapping without = flap(0);
        Flapping with = flap(3);

        assertEquals(12, without.cgroupChanges(), "every burst and every quiet scan flips it");
        assertEquals(1, with.cgroupChanges(), "pressured once, held: one quiet scan is fewer than 3");
        assertTrue(with.changes() < without.changes(), "the controller counts fewer changes: " + with.changes() + " < "
                + without.changes());
        assertEquals(shape.pressuredTable(), with.decisions().get(with.decisions().size() - 1));
        assertEquals(shape.normalTable(), without.decisions().get(without.decisions().size() - 1));
        // Real faults: without hysteresis every burst starts on mTHP again (64K folios); with it, every burst after
        // the first starts on base pages.
        assertEquals(Collections.nCopies(6, only(64 * K, M)), without.burstStarts());
        assertEquals(only(64 * K, M), with.burstStarts().get(0));
        assertEquals(Collections.nCopies(5, only(PAGE, M)), with.burstStarts().subList(1, 6));
    }

    // ---- 6. a new cgroup under a pressured parent ----

    @Test
    @DisplayName("6. a cgroup created after start under a pressured parent gets base pages at once, before any scan")
    void newCgroupInheritsAtOnce() {
        FakeKernel kernel = boot(true);
        FakeProcess pb = spawnIn(kernel, "/batch");
        CgroupRef batch = pb.cgroup();
        faultFresh(spawnIn(kernel, "/web"), 32 * M, true); // above the 16 MiB minimum: only pressure matters here
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        PolicyController controller = controller(kernel, policy);
        controller.scanOnce();
        burst(kernel, batch, pb, 11);
        controller.scanOnce();
        assertEquals(policy.pressuredTable(), controller.decision(batch.id()));

        FakeProcess pj = spawnIn(kernel, "/batch/job");
        FakeProcess pw = spawnIn(kernel, "/web/new");
        CgroupRef job = pj.cgroup();
        assertNull(controller.decision(job.id()), "not scanned yet");
        assertEquals(only(PAGE, 32 * M), faultFresh(pj, 32 * M, true), "the pressured parent's decision, at once");
        assertEquals(only(2 * M, 32 * M), faultFresh(pw, 32 * M, true), "under a calm parent: 2M");

        burst(kernel, batch, pb, 12); // the parent is still under pressure at the next scan
        controller.scanOnce();
        assertEquals(policy.pressuredTable(), controller.decision(batch.id()));
        assertEquals(policy.pressuredTable(), controller.decision(job.id()), "its own entry: the parent's pressure");
        assertEquals(policy.normalTable(), controller.decision(pw.cgroup().id()));
        assertEquals(only(PAGE, 4 * M), faultFresh(pj, 4 * M, true));

        controller.scanOnce();
        assertEquals(policy.normalTable(), controller.decision(batch.id()), "a quiet scan releases the parent");
        assertEquals(policy.normalTable(), controller.decision(job.id()), "and the child, on its own (quiet) baseline");
        assertEquals(only(2 * M, 4 * M), faultFresh(pj, 4 * M, true));
        assertEquals(0, controller.errors());
    }

    /** A burst of load over memory.high 64M, then the limit lifted: the stall is there, further faults are free. */
    static void burst(FakeKernel kernel, CgroupRef cgroup, FakeProcess p, long seed) {
        String high = FakeKernel.Cgroups.MOUNT + cgroup.path() + "/memory.high";
        kernel.writeFile(high, "64M");
        pushOverMemoryHigh(kernel, cgroup, p, seed);
        kernel.writeFile(high, "max");
    }

    // ---- 7. the controller stopped ----

    /** A kernel with /hot pressured by the controller's last scan; the load is gone (memory.high lifted). */
    PolicyController pressuredThenIdle(FakeKernel kernel, CgroupRef hot, Duration ttl) {
        FakeProcess p = kernel.spawn(hot);
        PressurePolicy policy = PressurePolicy.mthpExt(kernel.geometry()).build();
        PolicyController c = PolicyController.builder(kernel, policy).decisionTtl(ttl).build();
        controllers.add(c);
        c.scanOnce();
        burst(kernel, hot, p, 5);
        c.scanOnce();
        assertEquals(policy.pressuredTable(), c.decision(hot.id()));
        return c;
    }

    @Test
    @DisplayName("7. a controller that dies: its decisions expire and real faults get the kernel default again")
    void diedControllerExpires() {
        FakeKernel kernel = boot(true);
        FakeProcess late = spawnIn(kernel, "/hot");
        CgroupRef hot = late.cgroup();
        Duration ttl = Duration.ofSeconds(6);
        pressuredThenIdle(kernel, hot, ttl); // then no scan ever again: the process died
        long scannedAt = kernel.clock().nanos();

        kernel.clock().advance(ttl.minusNanos(1));
        assertEquals(scannedAt + ttl.toNanos() - 1, kernel.clock().nanos(), "no stall passed meanwhile");
        assertEquals(only(PAGE, 2 * M), faultFresh(late, 2 * M, true), "still valid: base pages");
        kernel.clock().advance(Duration.ofNanos(1));
        assertEquals(only(2 * M, 4 * M), faultFresh(late, 4 * M, true), "stale: no opinion, the kernel's 2M");
        assertEquals(only(64 * K, M), faultFresh(late, M, false), "and its 64K");
    }

    @Test
    @DisplayName("7b. a controller stopped cleanly withdraws its decisions: the kernel default at once")
    void stoppedControllerWithdraws() {
        FakeKernel kernel = boot(true);
        FakeProcess late = spawnIn(kernel, "/hot");
        CgroupRef hot = late.cgroup();
        PolicyController c = pressuredThenIdle(kernel, hot, Duration.ofHours(1));
        assertEquals(only(PAGE, 2 * M), faultFresh(late, 2 * M, true));
        assertTrue(c.stop(Duration.ofSeconds(10)));
        assertTrue(kernel.faults().calls().contains("withdraw " + hot.id()));
        assertEquals(only(2 * M, 4 * M), faultFresh(late, 4 * M, true), "no decision left: the kernel's 2M");
    }
}
