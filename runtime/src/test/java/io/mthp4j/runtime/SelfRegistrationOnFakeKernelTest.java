package io.mthp4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.policy.CgroupPolicy;
import io.mthp4j.core.policy.CgroupSample;
import io.mthp4j.core.policy.PressurePolicy;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeKernelConfig;
import io.mthp4j.fake.FakeProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Self-registration on the fake kernel with virtual time: the in-process engine against real faults, memcg
 * reclaim to swap, PSI and prctl, and the publishing mode against the fake's decision program.
 */
class SelfRegistrationOnFakeKernelTest {

    static final long M = 1 << 20;
    static final long TWO_M = 2 * M;

    final FakeKernel kernel = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder().swapBytes(1L << 30).build());
    final FakeProcess self = kernel.currentProcess();
    final CgroupRef svc = kernel.cgroups().mkdir("/svc");
    final RecordingHooks hooks = new RecordingHooks();
    final List<Registration> opened = new ArrayList<>();

    /** A test's stand-in for the JVM's shutdown hooks. */
    static final class RecordingHooks implements ShutdownHooks {
        final List<Thread> added = new ArrayList<>();

        @Override
        public synchronized void add(Thread hook) {
            added.add(hook);
        }

        @Override
        public synchronized boolean remove(Thread hook) {
            return added.remove(hook);
        }
    }

    SelfRegistrationOnFakeKernelTest() {
        self.moveTo(svc);
        kernel.writeFile("/sys/fs/cgroup/svc/memory.high", "48M");
    }

    @AfterEach
    void closeAll() {
        opened.forEach(Registration::close);
        kernel.checkInvariants();
    }

    PressurePolicy mthpExt() {
        return PressurePolicy.mthpExt(kernel.geometry()).build();
    }

    Registration register(CgroupPolicy policy) {
        Registration r = Mthp.builder(policy).backend(kernel).background(false).hooks(hooks).jvmFlags(JvmFlagsFor.plain()).register();
        opened.add(r);
        return r;
    }

    /** The harness's workload (kernel-semantics.md §15.7): random page writes over more than memory.high. */
    long thrash(long length) {
        long a = self.mmapAnonymous(length);
        writeRandom(a, length, 7);
        return a;
    }

    void writeRandom(long a, long length, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < 100_000; i++) {
            self.write(a + r.nextLong(length / 4096) * 4096, 1);
        }
    }

    /** A 16 MiB region the registration is told wants huge pages, touched; its census right after. */
    SortedMap<Long, Long> touchTold(Registration r) {
        long a = self.mmapAnonymous(16 * M);
        r.hugeRange(a, 16 * M);
        self.write(a, 16 * M);
        return self.census(a, 16 * M);
    }

    @Test
    @DisplayName("pressure switches the process to base pages through prctl; when it clears the process gets THP again")
    void pressureAndBack() {
        Registration r = register(mthpExt());
        assertEquals(Enforcement.IN_PROCESS, r.enforcement());
        assertEquals(svc, r.cgroup());
        r.checkNow();
        assertEquals(ProcessThpMode.NONE, self.thpMode());
        assertEquals(Map.of(TWO_M, 16 * M), touchTold(r), "before pressure: 2M folios where advised");

        long t = thrash(128 * M);
        assertTrue(kernel.cgroups().pressure(svc).full().totalMicros() > 100_000, "the workload stalls");
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED, self.thpMode(), "full stall above 100 ms since the last check");
        SortedMap<Long, Long> under = touchTold(r);
        assertEquals(List.of(4096L), List.copyOf(under.keySet()), "under pressure: base pages only, " + under);
        writeRandom(t, 128 * M, 8);
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED, self.thpMode(), "the workload goes on: pressure lasts");

        self.munmap(t, 128 * M);
        kernel.clock().advance(Duration.ofSeconds(2));
        r.checkNow();
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "no stall since the last check");
        assertEquals(Map.of(TWO_M, 16 * M), touchTold(r), "after: 2M folios again");
        assertEquals(2, r.switches());
        assertEquals(4, r.checks());
    }

    @Test
    @DisplayName("the headroom policy: base pages once the own cgroup passes 80% of memory.max, before any stall")
    void headroomOfTheOwnCgroup() {
        kernel.writeFile("/sys/fs/cgroup/svc/memory.high", "max");
        kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "64M");
        Registration r = register(io.mthp4j.core.policy.HeadroomPolicy.builder(kernel.geometry()).build());
        r.checkNow();
        assertEquals(ProcessThpMode.NONE, self.thpMode());
        long a = self.mmapAnonymous(56 * M);
        self.madvise(a, 56 * M, io.mthp4j.api.Madvice.NOHUGEPAGE);
        self.write(a, 54 * M); // 84% of the limit, no reclaim and no stall needed
        assertEquals(0, kernel.cgroups().pressure(svc).full().totalMicros());
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED, self.thpMode(), "over 80% of memory.max");
        self.munmap(a, 56 * M);
        for (int i = 0; i < 3; i++) {
            r.checkNow(); // three quiet scans below 70%
        }
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "back after the quiet scans");
    }

    @Test
    @DisplayName("the background loop watches the own cgroup's headroom: a crossing of 80% is acted on at once, not at the next timed check")
    void headroomCrossingWakesTheLoop() throws InterruptedException {
        kernel.writeFile("/sys/fs/cgroup/svc/memory.high", "max");
        kernel.writeFile("/sys/fs/cgroup/svc/memory.max", "64M");
        Registration r = Mthp.builder(PolicySpec.parse("headroom")).backend(kernel).hooks(hooks).jvmFlags(JvmFlagsFor.plain())
                .register();
        opened.add(r);
        awaitReal(() -> r.checks() >= 1, "the first check");
        assertEquals(ProcessThpMode.NONE, self.thpMode());
        long a = self.mmapAnonymous(56 * M);
        self.madvise(a, 56 * M, Madvice.NOHUGEPAGE);
        long clock = kernel.clock().nanos();
        self.write(a, 54 * M); // 84% of memory.max: no stall, and the virtual clock does not move, so no timer fires
        assertEquals(clock, kernel.clock().nanos());
        awaitReal(() -> self.thpMode() == ProcessThpMode.DISABLED, "base pages after the crossing");
        assertTrue(r.headroomEvents() >= 1, "the watch caused the check");
        r.close();
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "close restores the original mode");
    }

    /** Waits in real time (the background thread runs on its own) for at most 10 s. */
    static void awaitReal(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    @DisplayName("told ranges get MADV_NOHUGEPAGE under pressure and MADV_HUGEPAGE back after, and at close")
    void toldRangesFollow() {
        Registration r = register(mthpExt());
        r.checkNow();
        long a = self.mmapAnonymous(8 * M);
        r.hugeRange(a, 8 * M);
        assertEquals(VmaType.HUGEPAGE, self.vmaAt(a).vmaType());
        long t = thrash(128 * M);
        r.checkNow();
        assertEquals(VmaType.NOHUGEPAGE, self.vmaAt(a).vmaType());
        self.munmap(t, 128 * M);
        r.checkNow();
        assertEquals(VmaType.HUGEPAGE, self.vmaAt(a).vmaType());
        thrash(128 * M);
        r.checkNow();
        assertEquals(VmaType.NOHUGEPAGE, self.vmaAt(a).vmaType());
        r.close();
        assertEquals(VmaType.HUGEPAGE, self.vmaAt(a).vmaType(), "close: the advice the range asked for");
        assertEquals(ProcessThpMode.NONE, self.thpMode());
    }

    @Test
    @DisplayName("a range unmapped without release is forgotten at the next switch, with a warning")
    void unmappedRangeIsForgotten() {
        Registration r = register(mthpExt());
        r.checkNow();
        long a = self.mmapAnonymous(4 * M);
        r.hugeRange(a, 4 * M);
        long b = self.mmapAnonymous(4 * M);
        r.hugeRange(b, 4 * M);
        assertTrue(r.releaseRange(b, 4 * M));
        assertFalse(r.releaseRange(b, 4 * M));
        self.munmap(a, 4 * M);
        thrash(128 * M);
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED, self.thpMode());
        assertEquals(0, r.enforcer().managedRanges());
        assertEquals(VmaType.HUGEPAGE, self.vmaAt(b).vmaType(), "a released range is left alone");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> r.hugeRange(b + 1, 4096));
        assertTrue(bad.getMessage().contains("whole pages"), bad.getMessage());
        KernelException unmapped = assertThrows(KernelException.class, () -> r.hugeRange(a, 4 * M));
        assertEquals(Errno.ENOMEM, unmapped.errno());
    }

    @Test
    @DisplayName("close restores the original mode after an exception in the body")
    void closeAfterAnException() {
        self.setThpMode(ProcessThpMode.DISABLED_EXCEPT_ADVISED);
        IllegalStateException boom = assertThrows(IllegalStateException.class, () -> {
            try (Registration r = Mthp.builder(mthpExt()).backend(kernel).background(false).hooks(hooks).jvmFlags(JvmFlagsFor.plain()).register()) {
                r.checkNow();
                assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, self.thpMode(), "a policy only narrows: no NONE above the original");
                thrash(128 * M);
                r.checkNow();
                assertEquals(ProcessThpMode.DISABLED, self.thpMode());
                throw new IllegalStateException("boom");
            }
        });
        assertEquals("boom", boom.getMessage());
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, self.thpMode());
        assertTrue(hooks.added.isEmpty(), "close removed the shutdown hook");
        Mthp.builder(mthpExt()).backend(kernel).background(false).hooks(hooks).jvmFlags(JvmFlagsFor.plain()).register().close();
    }

    @Test
    @DisplayName("the shutdown hook restores the original mode when nobody closed the registration")
    void shutdownHookRestores() throws InterruptedException {
        Registration r = register(mthpExt());
        r.checkNow();
        thrash(128 * M);
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED, self.thpMode());
        assertEquals(1, hooks.added.size());
        Thread hook = hooks.added.get(0);
        hook.start(); // what the JVM does at exit
        hook.join();
        assertEquals(ProcessThpMode.NONE, self.thpMode());
        assertThrows(IllegalStateException.class, r::checkNow, "closed");
        r.close(); // idempotent
    }

    @Test
    @DisplayName("one registration per process; opt-out refuses while one is active")
    void oneAtATime() {
        Registration r = register(mthpExt());
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> register(mthpExt()));
        assertTrue(twice.getMessage().contains("already"), twice.getMessage());
        Object key = Mthp.keyOf(kernel, self);
        assertThrows(IllegalStateException.class, () -> Mthp.optOut(self, key, ProcessThpMode.DISABLED));
        r.close();
        Mthp.optOut(self, key, ProcessThpMode.DISABLED);
        assertEquals(ProcessThpMode.DISABLED, self.thpMode());
        Mthp.optOut(self, key, ProcessThpMode.DISABLED_EXCEPT_ADVISED);
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, self.thpMode());
        Mthp.restore(self, key);
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "the mode before the first opt-out");
    }

    @Test
    @DisplayName("a process below the minimum gets base pages (memory is the process's own anon + shmem)")
    void smallProcess() {
        long a = self.mmapAnonymous(4 * M);
        self.write(a, 4 * M);
        Registration r = register(mthpExt());
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED, self.thpMode(), "4 MiB < 16 MiB");
        long b = self.mmapAnonymous(32 * M);
        self.madvise(b, 32 * M, Madvice.NOHUGEPAGE);
        self.write(b, 32 * M);
        r.checkNow();
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "36 MiB");
    }

    @Test
    @DisplayName("when the own cgroup's memory.pressure cannot be read, the system-wide file is watched")
    void fallsBackToSystemPressure() {
        Registration r = register(mthpExt());
        r.checkNow();
        kernel.faults().failNext("read", "/sys/fs/cgroup/svc/memory.pressure", Errno.ENOENT);
        r.checkNow();
        assertTrue(r.enforcer().pressureSource().isRoot());
        thrash(128 * M);
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED, self.thpMode(), "the root sees its descendants' stall");
    }

    @Test
    @DisplayName("a policy with no opinion leaves the original mode; one that throws is counted and changes nothing")
    void noOpinionAndFailures() {
        boolean[] fail = {false};
        CgroupPolicy odd = new CgroupPolicy() {
            @Override
            public DecisionTable decide(CgroupSample sample) {
                if (fail[0]) {
                    throw new IllegalStateException("policy bug");
                }
                return sample.fullStallMicros() > 0 ? DecisionTable.uniform(0).with(io.mthp4j.api.TvaType.PAGEFAULT, VmaType.HUGEPAGE, -1L)
                        .with(io.mthp4j.api.TvaType.SWAP_PAGEFAULT, VmaType.HUGEPAGE, -1L).with(io.mthp4j.api.TvaType.KHUGEPAGED, VmaType.HUGEPAGE, -1L)
                        .with(io.mthp4j.api.TvaType.FORCED_COLLAPSE, -1L) : null;
            }

            @Override
            public long chooseOrders(io.mthp4j.api.VmaInfo vma, io.mthp4j.api.TvaType tvaType, long orders) {
                return orders;
            }
        };
        Registration r = register(odd);
        r.checkNow();
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "no opinion");
        thrash(128 * M);
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, self.thpMode(), "THP only where advised fits that table");
        fail[0] = true;
        r.checkNow();
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, self.thpMode());
        assertEquals(1, r.enforcer().errors());
    }

    @Test
    @DisplayName("the background loop runs on the fake kernel's virtual clock: PSI event, switch, and back")
    void backgroundLoopOnVirtualTime() throws InterruptedException {
        Registration r = Mthp.builder(mthpExt()).backend(kernel).hooks(hooks).jvmFlags(JvmFlagsFor.plain()).register();
        opened.add(r);
        assertTrue(r.enforcer().hasTrigger(), "1 s refused without CAP_SYS_RESOURCE, 2 s accepted");
        eventually(() -> r.checks() >= 1 && loopWaiting(), "the first check, then the wait");
        long t = thrash(128 * M);
        advanceUntil(() -> self.thpMode() == ProcessThpMode.DISABLED, "the loop saw the pressure");
        self.munmap(t, 128 * M);
        advanceUntil(() -> self.thpMode() == ProcessThpMode.NONE, "the loop saw it clear");
        r.close();
        assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(th -> th.getName().equals("mthp4j-self") && th.isAlive()),
                "the loop thread ended");
    }

    @Test
    @DisplayName("publishing: with a BPF-THP hook the process's cgroup decisions go to the sink, and close withdraws them")
    void publishing() {
        kernel.loadDecisionProgram();
        Registration r = Mthp.builder(mthpExt()).backend(kernel).background(false).enforcement(Enforcement.PUBLISH).hooks(hooks)
                .jvmFlags(JvmFlagsFor.plain()).register();
        opened.add(r);
        r.checkNow();
        assertEquals(Map.of(TWO_M, 16 * M), touchTold(r));
        long t = thrash(128 * M);
        r.checkNow();
        assertEquals(DecisionTable.uniform(0), r.controller().decision(svc.id()));
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "the prctl mode is not touched when publishing");
        SortedMap<Long, Long> under = touchTold(r);
        assertEquals(List.of(4096L), List.copyOf(under.keySet()), "the kernel's hook gives base pages: " + under);
        self.munmap(t, 128 * M);
        r.close();
        assertTrue(kernel.faults().calls().contains("withdraw " + svc.id()), kernel.faults().calls().toString());
    }

    @Test
    @DisplayName("a child forked after an opt-out inherits the mode, and keeps it across exec (MemoryTHP=)")
    void launchSemanticsOnTheFake() {
        for (MemoryThp m : MemoryThp.values()) {
            self.setThpMode(ProcessThpMode.DISABLED);
            m.apply(self);
            FakeProcess child = self.fork();
            child.exec();
            assertEquals(m == MemoryThp.INHERIT ? ProcessThpMode.DISABLED : m.mode(), child.thpMode(), m.word());
            child.exit();
        }
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> MemoryThp.parse("never"));
        assertTrue(bad.getMessage().contains("inherit, disable, madvise, system"), bad.getMessage());
    }

    // ---- helpers ----

    static boolean loopWaiting() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("mthp4j-self") && t.getState() == Thread.State.WAITING);
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 2_000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    /** Advances virtual time 2 s at a time, each once the loop waits again, until the condition holds. */
    void advanceUntil(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 20 && !condition.getAsBoolean(); i++) {
            eventually(SelfRegistrationOnFakeKernelTest::loopWaiting, "the loop waits on the fake clock");
            kernel.clock().advance(Duration.ofSeconds(2));
            Thread.sleep(20);
        }
        assertTrue(condition.getAsBoolean(), what);
        assertNotEquals(0, kernel.clock().nanos());
    }
}
