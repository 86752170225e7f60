package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.core.controller.PolicyController;
import io.mthp4j.core.kernel.CgroupMemory;
import io.mthp4j.core.kernel.Headroom;
import io.mthp4j.core.kernel.HeadroomWatch;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.HeadroomPolicy;
import io.mthp4j.core.policy.PressurePolicy;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The headroom signal on the fake kernel (issue 9): usage against memory.max / memory.high, watches that fire on
 * the charge that crosses a share, and the headroom policy switching a cgroup to base pages before its limit,
 * with real faults. A 2 MiB-per-touch workload under a 64 MiB memory.max is OOM-killed without the policy and
 * survives with it.
 */
class HeadroomOnFakeKernelTest {

    static final long M = 1 << 20;
    static final String THP = "/sys/kernel/mm/transparent_hugepage/";

    final FakeKernel kernel = FakeKernel.create();

    @Test
    void sampleReadsTheLowerLimitAndTheHostForTheRoot() {
        CgroupRef cg = kernel.cgroups().mkdir("/svc");
        assertEquals(Headroom.unlimited(0), kernel.headroom().sample(cg));
        kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "64M");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(8 * M);
        p.madvise(a, 8 * M, Madvice.NOHUGEPAGE);
        p.write(a, 8 * M);
        Headroom h = kernel.headroom().sample(cg);
        assertEquals(new Headroom(8 * M, 64 * M, Headroom.Limit.MEMORY_MAX), h);
        assertEquals(0.125, h.share(), 1e-9);
        kernel.writeFile("/sys/fs/cgroup/svc/memory.high", "32M");
        assertEquals(new Headroom(8 * M, 32 * M, Headroom.Limit.MEMORY_HIGH), kernel.headroom().sample(cg));

        Headroom host = kernel.headroom().sample(kernel.cgroups().root());
        assertEquals(Headroom.Limit.MEM_TOTAL, host.limit());
        assertEquals(kernel.physicalMemory().totalPages() << 12, host.limitBytes());
        assertTrue(host.usageBytes() >= 8 * M, host.toString());
        assertTrue(h.toString().contains("of memory.max"), h.toString());
    }

    @Test
    void aWatchFiresOnTheChargeThatCrossesAShareInEitherDirection() throws Exception {
        CgroupRef cg = kernel.cgroups().mkdir("/svc");
        kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "10M");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(10 * M);
        p.madvise(a, 10 * M, Madvice.NOHUGEPAGE);
        try (HeadroomWatch w = kernel.headroom().watch(cg, 0.8, 0.5)) {
            assertEquals(HeadroomWatch.Mechanism.CHARGE_CHANGES, w.mechanism());
            p.write(a, 5 * M - 4096);
            assertFalse(w.await(Duration.ZERO), "below 50%");
            p.write(a + 5 * M - 4096, 4096);
            assertTrue(w.await(Duration.ZERO), "the page that reaches 50%");
            assertFalse(w.await(Duration.ZERO), "consumed");
            p.write(a + 5 * M, 3 * M - 4096);
            assertFalse(w.await(Duration.ZERO), "still between the shares");
            p.write(a + 8 * M - 4096, 4096);
            assertTrue(w.await(Duration.ZERO), "80%");
            p.dontneed(a, 6 * M);
            assertTrue(w.await(Duration.ZERO), "freed below 50%");
            kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "2M");
            assertTrue(w.await(Duration.ZERO), "a lowered limit is a crossing too");
        }
        assertThrows(IllegalArgumentException.class, () -> kernel.headroom().watch(cg, 1.5));
        assertThrows(IllegalArgumentException.class, () -> kernel.headroom().watch(cg));
        KernelException gone = assertThrows(KernelException.class,
                () -> kernel.headroom().watch(new CgroupRef(999, "/gone"), 0.8));
        assertEquals(Errno.ENOENT, gone.errno());
    }

    @Test
    void aWaitingWatchWakesOnACrossingAndEndsOnTheVirtualClock() throws Exception {
        CgroupRef cg = kernel.cgroups().mkdir("/svc");
        kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "4M");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(4 * M);
        p.madvise(a, 4 * M, Madvice.NOHUGEPAGE);
        try (HeadroomWatch w = kernel.headroom().watch(cg, 0.5)) {
            boolean[] got = new boolean[1];
            Thread waiter = new Thread(() -> {
                try {
                    got[0] = w.await(Duration.ofHours(1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            waiter.start();
            p.write(a, 3 * M);
            waiter.join(10_000);
            assertFalse(waiter.isAlive(), "woken by the crossing, not by time");
            assertTrue(got[0]);
            Thread timer = new Thread(() -> {
                try {
                    got[0] = w.await(Duration.ofSeconds(5));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            timer.start();
            while (timer.getState() != Thread.State.WAITING && timer.isAlive()) {
                Thread.onSpinWait();
            }
            kernel.clock().advance(Duration.ofSeconds(5));
            timer.join(10_000);
            assertFalse(timer.isAlive());
            assertFalse(got[0], "timed out on the virtual clock");
        }
    }

    /** 2 MiB-aligned touches, one page per 2 MiB: with THP each charges 2 MiB, without it 4 KiB. */
    static int touchSparse(FakeProcess p, long base, int touches, BooleanSupplier afterEach) {
        int done = 0;
        for (int i = 0; i < touches; i++) {
            p.write(base + i * 2 * M, 1);
            done++;
            if (!afterEach.getAsBoolean()) {
                break;
            }
        }
        return done;
    }

    FakeProcess workload(CgroupRef cg) {
        kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "64M");
        FakeProcess p = kernel.spawn(cg);
        return p;
    }

    @Test
    void withoutHeadroomTheTouchesThatBloatToHugePagesAreOomKilled() {
        kernel.writeFile(THP + "enabled", "always");
        CgroupRef cg = kernel.cgroups().mkdir("/svc");
        FakeProcess p = workload(cg);
        long a = p.mmapAnonymous(256 * M);
        assertThrows(KernelException.class, () -> touchSparse(p, a, 128, () -> true));
        assertTrue(p.oomKilled(), "the baseline the headroom policy must beat");
    }

    @Test
    void aCgroupApproachingMemoryMaxSwitchesToBasePagesBeforeTheLimit() throws Exception {
        kernel.writeFile(THP + "enabled", "always");
        kernel.loadDecisionProgram();
        CgroupRef cg = kernel.cgroups().mkdir("/svc");
        FakeProcess p = workload(cg);
        long a = p.mmapAnonymous(256 * M);
        HeadroomPolicy policy = HeadroomPolicy.builder(kernel.geometry()).build();
        runUntilDone(policy, cg, p, a);
    }

    @Test
    void theHeadroomOptionOfTvaAwareDoesTheSame() throws Exception {
        kernel.writeFile(THP + "enabled", "always");
        kernel.loadDecisionProgram();
        CgroupRef cg = kernel.cgroups().mkdir("/svc");
        FakeProcess p = workload(cg);
        long a = p.mmapAnonymous(256 * M);
        PressurePolicy policy = PressurePolicy.tvaAware(kernel.geometry()).minMemory(0).headroom(0.8, 0.7, 3).build();
        runUntilDone(policy, cg, p, a);
    }

    private void runUntilDone(CgroupPolicy policy, CgroupRef cg, FakeProcess p, long a) throws Exception {
        try (PolicyController controller = PolicyController.builder(kernel, policy).build();
             HeadroomWatch mine = kernel.headroom().watch(cg, policy.headroomShares())) {
            controller.start();
            eventually(() -> controller.decision(cg.id()) != null, "first scan");
            assertEquals(9, io.mthp4j.api.Orders.highest(controller.decision(cg.id()).allowed(io.mthp4j.api.TvaType.PAGEFAULT,
                    io.mthp4j.api.VmaType.NONE)));
            long[] switchedAt = {-1};
            int[] crossings = {0};
            int touched = touchSparse(p, a, 128, () -> {
                try {
                    if (mine.await(Duration.ZERO)) {
                        // a crossing: the controller's own watch saw it too; wait until it has acted
                        crossings[0]++;
                        long usage = kernel.cgroups().memory(cg).current();
                        eventually(() -> controller.headroomEvents() >= crossings[0], "the controller saw crossing " + crossings[0]);
                        if (usage >= 0.8 * 64 * M) {
                            eventually(() -> isBasePages(controller.decision(cg.id())), "base pages after the crossing at " + usage);
                            if (switchedAt[0] < 0) {
                                switchedAt[0] = usage;
                            }
                        } else {
                            assertFalse(isBasePages(controller.decision(cg.id())), "below 80% at " + usage);
                        }
                    }
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                return true;
            });
            assertEquals(128, touched);
            assertFalse(p.oomKilled());
            assertTrue(controller.headroomEvents() >= 1, "the switch came from the watch, not a timed scan");
            assertEquals(HeadroomWatch.Mechanism.CHARGE_CHANGES, controller.headroomMechanism());
            assertTrue(switchedAt[0] >= 51 * M && switchedAt[0] < 64 * M, "switched at " + switchedAt[0]);
            long current = kernel.cgroups().memory(cg).current();
            assertTrue(current < 64 * M, "below the limit: " + current);
            String events = kernel.readFile("/sys/fs/cgroup/svc/memory.events");
            assertTrue(events.contains("oom_kill 0\n"), events);
            // 26 touches in 2 MiB folios until 80% of 64 MiB, the rest in base pages
            assertEquals(26L * 2 * M, p.census(a, 256 * M).getOrDefault(2 * M, 0L));
        }
    }

    /** Base pages on faults (tva-aware's pressured table keeps MADV_COLLAPSE). */
    static boolean isBasePages(DecisionTable t) {
        return t != null && t.allowed(io.mthp4j.api.TvaType.PAGEFAULT, io.mthp4j.api.VmaType.NONE) == 0;
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 2_000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    @Test
    void aWatchOnACgroupWithoutALimitNeverFires() throws Exception {
        CgroupRef cg = kernel.cgroups().mkdir("/free");
        FakeProcess p = kernel.spawn(cg);
        long a = p.mmapAnonymous(16 * M);
        try (HeadroomWatch w = kernel.headroom().watch(cg, 0.1)) {
            p.write(a, 16 * M);
            assertFalse(w.await(Duration.ZERO));
            assertEquals(CgroupMemory.NO_LIMIT, kernel.headroom().sample(cg).limitBytes());
        }
    }
}
