package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.TvaType;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Policy attachment with the rules of BPF-THP v7 (§14.6), mthp_ext v2 (§15.3) and per-process BPF-THP (§14.8). */
class AttachRulesTest {

    final FakeKernel kernel = FakeKernel.create();
    final long pmd = kernel.geometry().pmdSize();

    /** A madvised PMD range written once; returns the folio size it got. */
    long fault(FakeProcess p) {
        long a = p.mmapAnonymous(pmd);
        p.madvise(a, pmd, Madvice.HUGEPAGE);
        p.write(a, 1);
        return p.folioSizeAt(a);
    }

    @Test
    void theGlobalHookIsConsultedOnFaultsAndIsExclusiveButReplaceable() {
        FakeProcess p = kernel.spawn(kernel.cgroups().root());
        AtomicInteger calls = new AtomicInteger();
        FakeKernel.Attachment a = kernel.attachGlobal((vma, tva, orders) -> {
            calls.incrementAndGet();
            return tva == TvaType.PAGEFAULT ? 0 : orders;
        });
        assertEquals(4096, fault(p));
        assertEquals(Errno.EBUSY, assertThrows(KernelException.class, () -> kernel.attachGlobal(MthpPolicy.noOpinion())).errno());
        a.update(MthpPolicy.noOpinion());
        assertEquals(pmd, fault(p), "live replacement");
        a.detach();
        assertEquals(Errno.ENOENT, assertThrows(KernelException.class, () -> a.update(MthpPolicy.noOpinion())).errno());
        kernel.attachGlobal(MthpPolicy.baseOnly()).close();
        assertEquals(pmd, fault(p));
        assertFalse(calls.get() == 0);
    }

    @Test
    void cgroupHooksFollowTheMthpExtSubtreeRules() {
        CgroupRef a = kernel.cgroups().mkdir("/a");
        CgroupRef ab = kernel.cgroups().mkdir("/a/b");
        CgroupRef c = kernel.cgroups().mkdir("/c");
        FakeKernel.Attachment onA = kernel.attachCgroup(a, MthpPolicy.baseOnly());
        assertEquals(Errno.EBUSY, assertThrows(KernelException.class, () -> kernel.attachCgroup(ab, MthpPolicy.noOpinion())).errno(),
                "below an attached cgroup");
        assertEquals(Errno.EBUSY, assertThrows(KernelException.class,
                () -> kernel.attachCgroup(kernel.cgroups().root(), MthpPolicy.noOpinion())).errno(), "above one");
        kernel.attachCgroup(c, MthpPolicy.noOpinion()); // a disjoint sibling subtree is fine
        CgroupRef later = kernel.cgroups().mkdir("/a/b/later");
        assertEquals(4096, fault(kernel.spawn(later)), "a child created later inherits the parent's policy");
        assertEquals(pmd, fault(kernel.spawn(c)));
        assertEquals(Errno.EOPNOTSUPP, assertThrows(KernelException.class, () -> onA.update(MthpPolicy.noOpinion())).errno());
        onA.detach();
        assertEquals(pmd, fault(kernel.spawn(later)), "detach clears the whole subtree");
        kernel.attachCgroup(ab, MthpPolicy.baseOnly());
    }

    @Test
    void aProcessHookIsInheritedByForkKeptByExecAndReplacesTheGlobalOne() {
        FakeProcess p = kernel.spawn(kernel.cgroups().root());
        kernel.attachGlobal(MthpPolicy.baseOnly());
        FakeKernel.Attachment mine = kernel.attachProcess(p, MthpPolicy.noOpinion());
        assertEquals(pmd, fault(p));
        assertEquals(Errno.EBUSY, assertThrows(KernelException.class, () -> kernel.attachProcess(p, MthpPolicy.noOpinion())).errno());
        FakeProcess child = p.fork();
        child.exec();
        assertEquals(pmd, fault(child));
        assertEquals(4096, fault(kernel.spawn(kernel.cgroups().root())), "others get the global one");
        mine.detach();
        assertEquals(4096, fault(p));
    }

    @Test
    void aPolicyThatThrowsIsNoOpinion() {
        FakeProcess p = kernel.spawn(kernel.cgroups().root());
        kernel.attachGlobal((vma, tva, orders) -> {
            throw new IllegalStateException("boom");
        });
        assertEquals(pmd, fault(p));
    }

    /**
     * BPF-THP v7's selftest {@code alloc_in_khugepaged} (§14.7) through patch 04 (§14.5): a policy that allows
     * the PMD order only to khugepaged (and SMAPS) still gets the mm registered by its base-page faults, and
     * khugepaged collapses; the hook sees KHUGEPAGED requests and allows them.
     */
    @Test
    void aPolicyAllowingOnlyKhugepagedStillGetsTheMmCollapsed() {
        int pmdOrder = kernel.geometry().pmdOrder();
        AtomicInteger khugepagedAllowed = new AtomicInteger();
        kernel.attachGlobal((vma, tva, orders) -> {
            if (orders != 1L << pmdOrder) {
                return 0;
            }
            boolean allow = tva == TvaType.KHUGEPAGED || tva == TvaType.SMAPS;
            if (allow && tva == TvaType.KHUGEPAGED) {
                khugepagedAllowed.incrementAndGet();
            }
            return allow ? orders : 0;
        });
        FakeProcess p = kernel.spawn(kernel.cgroups().root());
        long len = 16 << 20;
        long a = p.mmapAnonymous(len);
        p.madvise(a, len, Madvice.HUGEPAGE);
        assertFalse(p.registeredWithKhugepaged(), "no anon_vma yet: khugepaged_enter_vma refuses (§4.3 rule 10)");
        p.write(a, len);
        assertEquals(Map.of(4096L, len), p.census(a, len), "pf_alloc == 0: faults get base pages");
        assertTrue(p.registeredWithKhugepaged(), "patch 04: a later none-PMD fault entered khugepaged");
        long sleep = kernel.thp().read().khugepaged().scanSleepMillis();
        kernel.clock().advance(Duration.ofMillis(2 * sleep));
        assertEquals(Map.of(pmd, len), p.census(a, len), "khugepaged collapsed every PMD range");
        assertTrue(khugepagedAllowed.get() > 0, "khugepaged_disallow == 0: it asked and was allowed");
        kernel.checkInvariants();
    }
}
