package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.gate.OrderGate;
import io.mthp4j.core.kernel.Psi;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class FakeKernelTest {

    final FakeKernel kernel = FakeKernel.create();
    final FakeProcess self = kernel.currentProcess();
    final long pmd = kernel.geometry().pmdSize();

    @Test
    void prctlArgumentChecksFollowTheKernel() {
        int set = ProcessThpMode.PR_SET_THP_DISABLE;
        int get = ProcessThpMode.PR_GET_THP_DISABLE;
        assertEquals(0, self.prctl(set, 1, 0, 0, 0));
        assertEquals(1, self.prctl(get, 0, 0, 0, 0));
        assertEquals(0, self.prctl(set, 1, 2, 0, 0));
        assertEquals(3, self.prctl(get, 0, 0, 0, 0));
        assertEquals(0, self.prctl(set, 0, 0, 0, 0));
        assertEquals(0, self.prctl(get, 0, 0, 0, 0));
        for (long[] bad : new long[][] {{0, 2, 0, 0}, {1, 1, 0, 0}, {1, 4, 0, 0}, {1, 0, 1, 0}, {1, 0, 0, 1}}) {
            KernelException e = assertThrows(KernelException.class, () -> self.prctl(set, bad[0], bad[1], bad[2], bad[3]));
            assertEquals(Errno.EINVAL, e.errno());
        }
        assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> self.prctl(get, 1, 0, 0, 0)).errno());
        assertEquals(ProcessThpMode.NONE, self.thpMode(), "failed calls change nothing");
    }

    @Test
    void prctlIsInheritedByForkAndKeptAcrossExec() {
        self.setThpMode(ProcessThpMode.DISABLED_EXCEPT_ADVISED);
        FakeProcess child = self.fork();
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, child.thpMode());
        child.exec();
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, child.thpMode());
        child.setThpMode(ProcessThpMode.NONE);
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, self.thpMode(), "the parent keeps its own state");
    }

    @Test
    void madviseSplitsTheVmaAndSetsTheAdvice() {
        long addr = self.mmapAnonymous(4 * pmd);
        self.madvise(addr + pmd, pmd, Madvice.HUGEPAGE);
        List<VmaInfo> vmas = self.vmas();
        assertEquals(3, vmas.size());
        assertFalse(vmas.get(0).has(VmaFlag.HUGEPAGE));
        assertTrue(vmas.get(1).has(VmaFlag.HUGEPAGE));
        assertEquals(addr + pmd, vmas.get(1).start());
        assertEquals(addr + 2 * pmd, vmas.get(1).end());
        self.madvise(addr + pmd, pmd, Madvice.NOHUGEPAGE);
        assertTrue(self.vmaAt(addr + pmd).has(VmaFlag.NOHUGEPAGE));
        assertFalse(self.vmaAt(addr + pmd).has(VmaFlag.HUGEPAGE));
    }

    @Test
    void madviseErrors() {
        long addr = self.mmapAnonymous(pmd);
        assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> self.madvise(addr + 1, 4096, Madvice.HUGEPAGE)).errno());
        KernelException hole = assertThrows(KernelException.class, () -> self.madvise(addr, 2 * pmd, Madvice.HUGEPAGE));
        assertEquals(Errno.ENOMEM, hole.errno());
        assertTrue(self.vmaAt(addr).has(VmaFlag.HUGEPAGE), "the mapped part is advised even when the call fails");
        self.madvise(addr, 0, Madvice.NOHUGEPAGE);
        assertTrue(self.vmaAt(addr).has(VmaFlag.HUGEPAGE), "a zero length changes nothing");
    }

    @Test
    void madviseCollapseIsRefusedWhereTheGateSaysNo() {
        long addr = self.mmapAnonymous(pmd);
        self.madvise(addr, pmd, Madvice.NOHUGEPAGE);
        assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> self.madvise(addr, pmd, Madvice.COLLAPSE)).errno());
    }

    @Test
    void psiWindowRuleDependsOnCapSysResource() {
        Psi unprivileged = kernel.psi();
        assertEquals(Errno.EINVAL, assertThrows(KernelException.class,
                () -> unprivileged.register(kernel.cgroups().root(), Psi.Kind.SOME, 100_000, 1_000_000)).errno());
        FakeKernel privileged = FakeKernel.create(FakeKernelConfig.x86_64().toBuilder().capSysResource(true).build());
        privileged.psi().register(privileged.cgroups().root(), Psi.Kind.SOME, 100_000, 1_000_000).close();
    }

    @Test
    void triggerAwaitTimesOutOnFakeTime() throws Exception {
        var trigger = kernel.psi().register(kernel.cgroups().root(), Psi.Kind.SOME, 100_000, 2_000_000);
        var result = new java.util.concurrent.CompletableFuture<Boolean>();
        Thread waiter = new Thread(() -> {
            try {
                result.complete(trigger.await(Duration.ofSeconds(3)));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        waiter.start();
        // Advance only once the waiter has computed its deadline and sleeps on the clock (no race).
        while (waiter.getState() != Thread.State.WAITING && !result.isDone()) {
            Thread.onSpinWait();
        }
        kernel.clock().advance(Duration.ofSeconds(5));
        assertFalse(result.get(), "no stall: no event, and the wait ends when fake time passes its deadline");
        waiter.join();
        trigger.close();
    }

    @Test
    void cgroupTreeRules() {
        var cgroups = kernel.cgroups();
        CgroupRef a = cgroups.mkdir("/a");
        CgroupRef b = cgroups.mkdir("/a/b");
        assertEquals(Errno.EEXIST, assertThrows(KernelException.class, () -> cgroups.mkdir("/a")).errno());
        assertEquals(Errno.ENOENT, assertThrows(KernelException.class, () -> cgroups.mkdir("/x/y")).errno());
        assertEquals(List.of(cgroups.root(), a, b), cgroups.walk(cgroups.root()));
        FakeProcess p = kernel.spawn(b);
        assertTrue(cgroups.hasTasks(b));
        assertEquals(Errno.EBUSY, assertThrows(KernelException.class, () -> cgroups.rmdir(b)).errno());
        p.moveTo(a);
        cgroups.rmdir(b);
        assertEquals(Errno.ENOENT, assertThrows(KernelException.class, () -> cgroups.walk(b)).errno());
        CgroupRef again = cgroups.mkdir("/a/b");
        assertTrue(again.id() > b.id(), "cgroup ids are never reused");
        p.exit();
        assertFalse(cgroups.hasTasks(a));
    }

    @Test
    void publishedDecisionsApplyToDescendantsAndExpire() {
        CgroupRef svc = kernel.cgroups().mkdir("/svc");
        CgroupRef child = kernel.cgroups().mkdir("/svc/worker");
        FakeProcess p = kernel.spawn(child);
        long addr = p.mmapAnonymous(2 * pmd);
        VmaInfo vma = p.vmaAt(addr).withFlags(VmaFlag.ANON_VMA);
        ThpSettings always = kernel.thp().read().withAnonSizesEnabled(kernel.geometry().allAnonOrders(), AnonSizeEnabled.ALWAYS);
        OrderGate gate = kernel.gateBuilder().policy(kernel.decisionPolicy()).build();
        assertEquals(1L << 9, gate.allowableOrders(always, p.thpMode(), vma, TvaType.PAGEFAULT, 1L << 9));
        kernel.decisions().publish(svc.id(), DecisionTable.uniform(0), 1, Duration.ofSeconds(10).toNanos());
        assertEquals(0, gate.allowableOrders(always, p.thpMode(), vma, TvaType.PAGEFAULT, 1L << 9), "the ancestor's entry applies");
        kernel.clock().advance(Duration.ofSeconds(10));
        assertEquals(1L << 9, gate.allowableOrders(always, p.thpMode(), vma, TvaType.PAGEFAULT, 1L << 9), "expired: no opinion");
    }

    @Test
    void scriptedErrorsFailTheNextMatchingCallOnce() {
        kernel.faults().failNext("write", ThpSettings.ROOT + "/enabled", Errno.EPERM);
        KernelException e = assertThrows(KernelException.class, () -> kernel.thp().writeFile("enabled", "never"));
        assertEquals(Errno.EPERM, e.errno());
        kernel.thp().writeFile("enabled", "never");
        assertTrue(kernel.faults().calls().contains("write " + ThpSettings.ROOT + "/enabled"));
    }

    @Test
    void shmemForceNeedsOnlyThePmdSizeInheriting() {
        var thp = kernel.thp();
        thp.writeFile("hugepages-64kB/shmem_enabled", "inherit");
        assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> thp.writeFile("shmem_enabled", "force")).errno());
        thp.writeFile("hugepages-64kB/shmem_enabled", "never");
        thp.writeFile("shmem_enabled", "force");
        assertEquals(ShmemEnabled.FORCE, thp.read().shmemEnabled());
        assertEquals(Errno.EINVAL, assertThrows(KernelException.class,
                () -> thp.writeFile("hugepages-64kB/shmem_enabled", "inherit")).errno());
        assertEquals(Errno.EACCES, assertThrows(KernelException.class, () -> thp.writeFile("hpage_pmd_size", "4096")).errno());
        assertEquals(Errno.ENOENT, assertThrows(KernelException.class, () -> thp.writeFile("hugepages-8kB/enabled", "always")).errno());
        assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> thp.writeFile("khugepaged/pages_to_scan", "0")).errno());
        assertEquals(Errno.ERANGE, assertThrows(KernelException.class,
                () -> thp.writeFile("khugepaged/scan_sleep_millisecs", "4294967296")).errno());
    }

    @Test
    void arm64With64kPagesHasItsOwnSizeDirectories() {
        FakeKernel arm = FakeKernel.create(FakeKernelConfig.arm64_64k());
        assertEquals("536870912\n", arm.thp().readFile("hpage_pmd_size"));
        assertEquals("always [inherit] madvise never\n", arm.thp().readFile("hugepages-524288kB/enabled"));
        assertEquals(null, arm.thp().readFile("hugepages-524288kB/shmem_enabled"), "PMD is above MAX_PAGECACHE_ORDER");
        assertEquals("always inherit within_size advise [never]\n", arm.thp().readFile("hugepages-128kB/shmem_enabled"));
    }
}
