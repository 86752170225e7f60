package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The anonymous fault path of kernel-semantics.md §5 through real faults, with the outcomes measured on our
 * 6.18 machines (linux-interfaces.md §6.2 and the probe recorded in docs/fidelity.md).
 */
class FaultPathTest {

    static final long K = 1024;
    static final long M = K * K;

    final FakeKernel kernel = FakeKernel.create();
    final FakeProcess p = kernel.spawn(kernel.cgroups().root());
    final long pmd = kernel.geometry().pmdSize();
    final long page = kernel.geometry().pageSize();

    void set(String file, String value) {
        kernel.writeFile("/sys/kernel/mm/transparent_hugepage/" + file, value);
    }

    long stat(long size, String name) {
        return kernel.stat(order(size), name);
    }

    int order(long size) {
        return Long.numberOfTrailingZeros(size / page);
    }

    static SortedMap<Long, Long> sizes(long... sizeAndBytes) {
        SortedMap<Long, Long> out = new TreeMap<>();
        for (int i = 0; i < sizeAndBytes.length; i += 2) {
            out.put(sizeAndBytes[i], sizeAndBytes[i + 1]);
        }
        return out;
    }

    @Nested
    class AllocationMatrix {

        /** linux-interfaces.md §6.2: 64 MiB, one write per page; the folio sizes the real kernel produced. */
        @ParameterizedTest(name = "{0} / 2M {1} / 64K {2}: {3} {4} {5} {6} {7} {8}")
        @CsvSource({
                "madvise, inherit, never,   4K,  2M,  4K, 4K, 4K,  2M",
                "always,  inherit, never,   2M,  2M,  4K, 4K, 4K,  2M",
                "madvise, never,   madvise, 4K,  64K, 4K, 4K, 4K,  64K",
                "madvise, never,   always,  64K, 64K, 4K, 4K, 4K,  64K",
                "always,  never,   inherit, 64K, 64K, 4K, 4K, 4K,  64K",
                "madvise, inherit, always,  64K, 2M,  4K, 4K, 4K,  2M"})
        void theRealKernelsTable(String top, String pmdMode, String k64, String none, String noneAdvised, String disable,
                                 String disableAdvised, String except, String exceptAdvised) {
            set("enabled", top);
            set("hugepages-2048kB/enabled", pmdMode);
            set("hugepages-64kB/enabled", k64);
            String[] expected = {none, noneAdvised, disable, disableAdvised, except, exceptAdvised};
            ProcessThpMode[] modes = {ProcessThpMode.NONE, ProcessThpMode.DISABLED, ProcessThpMode.DISABLED_EXCEPT_ADVISED};
            for (int c = 0; c < 6; c++) {
                FakeProcess q = kernel.spawn(kernel.cgroups().root());
                q.setThpMode(modes[c / 2]);
                long a = q.mmapAnonymous(64 * M);
                if (c % 2 == 1) {
                    q.madvise(a, 64 * M, Madvice.HUGEPAGE);
                }
                q.write(a, 64 * M);
                long size = expected[c].equals("2M") ? 2 * M : expected[c].equals("64K") ? 64 * K : 4 * K;
                assertEquals(sizes(size, 64 * M), q.census(a, 64 * M), "column " + c);
                q.exit();
                kernel.checkInvariants();
            }
            assertEquals(0, kernel.vmstat("thp_fault_fallback"));
        }

        /** The §3.4 inherit matrix through real faults: top-level × per-size value × MADV_HUGEPAGE. */
        @ParameterizedTest(name = "top {0}, 64kB {1}")
        @CsvSource({
                "always,  always,  64K, 64K", "always,  inherit, 64K, 64K", "always,  madvise, 4K, 64K", "always,  never, 4K, 4K",
                "madvise, always,  64K, 64K", "madvise, inherit, 4K,  64K", "madvise, madvise, 4K, 64K", "madvise, never, 4K, 4K",
                "never,   always,  64K, 64K", "never,   inherit, 4K,  4K",  "never,   madvise, 4K, 64K", "never,   never, 4K, 4K"})
        void theInheritMatrix(String top, String size, String plain, String advised) {
            set("hugepages-2048kB/enabled", "never");
            set("enabled", top);
            set("hugepages-64kB/enabled", size);
            long a = p.mmapAnonymous(2 * pmd);
            p.madvise(a + pmd, pmd, Madvice.HUGEPAGE);
            p.write(a, 2 * pmd);
            assertEquals(plain.equals("64K") ? 64 * K : 4 * K, p.folioSizeAt(a));
            assertEquals(advised.equals("64K") ? 64 * K : 4 * K, p.folioSizeAt(a + pmd));
        }

        @Test
        void arm64With64KPagesHasItsOwnPmdSize() {
            FakeKernel arm = FakeKernel.create(FakeKernelConfig.arm64_64k());
            FakeProcess q = arm.spawn(arm.cgroups().root());
            long armPmd = arm.geometry().pmdSize();
            assertEquals(512 * M, armPmd);
            arm.writeFile("/sys/kernel/mm/transparent_hugepage/enabled", "always");
            long a = q.mmapAnonymous(2 * armPmd);
            q.write(a, armPmd + 64 * K);
            assertEquals(armPmd, q.folioSizeAt(a));
            assertEquals(armPmd, q.folioSizeAt(a + armPmd), "the first write in the second range takes a PMD too");
            assertEquals(2, arm.vmstat("thp_fault_alloc"));
            assertEquals(2, arm.stat(13, "anon_fault_alloc"));
            arm.checkInvariants();
        }

        @Test
        void theLargestAllowedOrderThatFitsWins() {
            set("hugepages-16kB/enabled", "always");
            set("hugepages-64kB/enabled", "always");
            long a = p.mmapAnonymous(4 * M);
            p.write(a, 4 * M);
            assertEquals(sizes(64 * K, 4 * M), p.census(a, 4 * M));
            assertEquals(64, stat(64 * K, "anon_fault_alloc"));
            assertEquals(64, stat(64 * K, "nr_anon"));
            assertEquals(0, stat(16 * K, "anon_fault_alloc"));
        }
    }

    @Nested
    class ZeroPages {

        @Test
        void aReadMapsTheHugeZeroPageAndAWriteAllocatesAPmdFolio() {
            long a = p.mmapAnonymous(pmd);
            p.madvise(a, pmd, Madvice.HUGEPAGE);
            p.read(a + 3 * page, 1);
            assertTrue(p.zeroPageAt(a + 3 * page));
            assertEquals(0, p.rssAnonBytes());
            assertEquals(1, kernel.vmstat("thp_zero_page_alloc"));
            assertEquals(0, kernel.vmstat("thp_fault_alloc"));
            // Observed: the write allocates a fresh PMD folio even though sysfs now says never.
            set("hugepages-2048kB/enabled", "never");
            p.write(a + 3 * page, 1);
            assertEquals(sizes(2 * M, 2 * M), p.census(a, pmd));
            assertEquals(1, kernel.vmstat("thp_fault_alloc"));
            assertEquals(1, stat(2 * M, "anon_fault_alloc"));
            assertEquals(1, kernel.vmstat("nr_anon_transparent_hugepages"));
            assertEquals(1, kernel.vmstat("thp_zero_page_alloc"), "counted once, when first used");
            kernel.checkInvariants();
        }

        @Test
        void whenTheHugeZeroWriteCannotChargeThePmdSplitsAndOneBasePageIsCopied() throws Exception {
            set("hugepages-64kB/enabled", "always");
            CgroupRef cg = kernel.cgroups().mkdir("/small");
            FakeProcess q = kernel.spawn(cg);
            kernel.writeFile("/sys/fs/cgroup/small/memory.max", "100K");
            long a = q.mmapAnonymous(pmd);
            q.madvise(a, pmd, Madvice.HUGEPAGE);
            q.read(a + 3 * page, 1);
            q.write(a + 3 * page, 1);
            assertEquals(sizes(4 * K, 4 * K), q.census(a, pmd), "no mTHP is tried");
            assertTrue(q.zeroPageAt(a), "the rest are zero-page PTEs");
            assertEquals(1, kernel.vmstat("thp_fault_fallback"));
            assertEquals(1, kernel.vmstat("thp_fault_fallback_charge"));
            assertEquals(1, kernel.vmstat("thp_split_pmd"));
            assertEquals(1, stat(2 * M, "anon_fault_fallback_charge"));
            assertEquals(0, stat(64 * K, "anon_fault_fallback"));
            kernel.checkInvariants();
        }

        @Test
        void useZeroPageOffMakesAPmdReadAllocate() {
            set("use_zero_page", "0");
            long a = p.mmapAnonymous(pmd);
            p.madvise(a, pmd, Madvice.HUGEPAGE);
            p.read(a, 1);
            assertEquals(sizes(2 * M, 2 * M), p.census(a, pmd));
            assertEquals(1, kernel.vmstat("thp_fault_alloc"));
        }

        @Test
        void aZeroPagePteMakesItsBlockOccupied() {
            set("hugepages-64kB/enabled", "always");
            long a = p.mmapAnonymous(pmd);
            p.read(a, 1);
            p.write(a, 1);
            p.write(a + page, 1);
            p.write(a + 16 * page, 1);
            p.read(a + 32 * page, 1);
            p.write(a + 33 * page, 1);
            assertEquals(4 * K, p.folioSizeAt(a), "copy-on-write of the zero page is order 0");
            assertEquals(4 * K, p.folioSizeAt(a + page));
            assertEquals(64 * K, p.folioSizeAt(a + 16 * page));
            assertEquals(4 * K, p.folioSizeAt(a + 33 * page), "the zero page at p32 occupies the block");
            assertEquals(1, stat(64 * K, "anon_fault_alloc"));
        }
    }

    @Nested
    class Fallback {

        @Test
        void allocationFailuresCountAtEveryOrderTried() {
            set("enabled", "always");
            set("hugepages-64kB/enabled", "always");
            set("hugepages-16kB/enabled", "always");
            kernel.physicalMemory().failNext(9, 1);
            kernel.physicalMemory().failNext(4, 1);
            long a = p.mmapAnonymous(pmd);
            p.write(a, 1);
            assertEquals(16 * K, p.folioSizeAt(a));
            assertEquals(1, kernel.vmstat("thp_fault_fallback"));
            assertEquals(0, kernel.vmstat("thp_fault_fallback_charge"));
            assertEquals(1, stat(2 * M, "anon_fault_fallback"));
            assertEquals(1, stat(64 * K, "anon_fault_fallback"));
            assertEquals(0, stat(32 * K, "anon_fault_fallback"), "32K is not enabled, so not tried");
            assertEquals(1, stat(16 * K, "anon_fault_alloc"));
            kernel.checkInvariants();
        }

        @Test
        void fragmentationCapsTheOrder() {
            set("enabled", "always");
            set("hugepages-64kB/enabled", "always");
            kernel.physicalMemory().fragment(3);
            long a = p.mmapAnonymous(pmd);
            p.write(a, pmd);
            assertEquals(sizes(4 * K, 2 * M), p.census(a, pmd));
            assertEquals(1, kernel.vmstat("thp_fault_fallback"));
            assertEquals(32, stat(64 * K, "anon_fault_fallback"));
        }

        /** The probe's Q2, no madvise, 24K of headroom, three writes: 64K, 16K, then 4K. */
        @Test
        void chargeFailuresFallBackWithoutReclaimOutsideMadvisedVmas() {
            for (String size : new String[] {"2048kB", "64kB", "16kB"}) {
                set("hugepages-" + size + "/enabled", "always");
            }
            CgroupRef cg = kernel.cgroups().mkdir("/limited");
            FakeProcess q = kernel.spawn(cg);
            kernel.writeFile("/sys/fs/cgroup/limited/memory.max", (64 + 16 + 8) + "K");
            long a = q.mmapAnonymous(4 * M);
            q.write(a + 2 * M, 1);
            q.write(a + 2 * M + 64 * K, 1);
            q.write(a + 2 * M + 128 * K, 1);
            assertEquals(64 * K, q.folioSizeAt(a + 2 * M));
            assertEquals(16 * K, q.folioSizeAt(a + 2 * M + 64 * K));
            assertEquals(4 * K, q.folioSizeAt(a + 2 * M + 128 * K));
            assertEquals(1, stat(2 * M, "anon_fault_fallback_charge"));
            assertEquals(2, stat(64 * K, "anon_fault_fallback_charge"));
            assertEquals(1, stat(16 * K, "anon_fault_fallback_charge"));
            assertEquals(1, kernel.vmstat("thp_fault_fallback_charge"));
            assertFalse(q.oomKilled());
            kernel.checkInvariants();
        }

        /** Observed: a madvised VMA under defrag=madvise reclaims, then the memcg OOM killer fires for 16K. */
        @Test
        void aSmallOrderChargeFailureInAMadvisedVmaInvokesTheOomKiller() {
            set("hugepages-16kB/enabled", "always");
            CgroupRef cg = kernel.cgroups().mkdir("/tight");
            FakeProcess q = kernel.spawn(cg);
            kernel.writeFile("/sys/fs/cgroup/tight/memory.max", "16K");
            long a = q.mmapAnonymous(M);
            q.madvise(a, M, Madvice.HUGEPAGE);
            q.write(a, page);
            KernelException e = assertThrows(KernelException.class, () -> q.write(a + 64 * K, 1));
            assertEquals(Errno.ENOMEM, e.errno());
            assertTrue(q.oomKilled());
            assertTrue(kernel.readFile("/sys/fs/cgroup/tight/memory.events").contains("oom_kill 1"));
            kernel.checkInvariants();
        }
    }

    @Nested
    class Suitability {

        @Test
        void theEmptyRangeFilterPicksTheLargestEmptyBlock() {
            long a = p.mmapAnonymous(pmd);
            p.write(a, 1);
            set("hugepages-64kB/enabled", "always");
            set("hugepages-32kB/enabled", "always");
            set("hugepages-16kB/enabled", "always");
            p.write(a + 5 * page, 1);
            p.write(a + page, 1);
            p.write(a + 12 * page, 1);
            assertEquals(16 * K, p.folioSizeAt(a + 5 * page));
            assertEquals(4 * K, p.folioSizeAt(a + page));
            assertEquals(32 * K, p.folioSizeAt(a + 12 * page));
            set("enabled", "always");
            p.write(a + 256 * page, 1);
            assertEquals(64 * K, p.folioSizeAt(a + 256 * page), "a PMD with a page table skips the PMD attempt");
        }

        @Test
        void vmaEdgesLimitTheSizes() {
            set("hugepages-64kB/enabled", "always");
            set("hugepages-16kB/enabled", "always");
            long a = p.mmapAnonymous(2 * M - 4 * K);
            p.madvise(a, 2 * M - 4 * K, Madvice.HUGEPAGE);
            p.write(a, 2 * M - 4 * K);
            assertEquals(sizes(4 * K, 12 * K, 16 * K, 48 * K, 64 * K, 31 * 64 * K), p.census(a, 2 * M));
            long b = p.mmapAnonymous(48 * K);
            p.write(b, 48 * K);
            assertEquals(sizes(16 * K, 48 * K), p.census(b, 48 * K));
        }
    }

    @Nested
    class CollapseAndKhugepaged {

        long filledWith4K(FakeProcess q, long length) {
            long a = q.mmapAnonymous(length);
            q.write(a, length);
            return a;
        }

        @Test
        void madviseCollapseFollowsTheObservedTable() {
            long a = filledWith4K(p, 3 * pmd);
            p.madvise(a, 3 * pmd, Madvice.COLLAPSE);
            assertEquals(sizes(2 * M, 6 * M), p.census(a, 3 * pmd));
            assertEquals(3, kernel.vmstat("thp_collapse_alloc"));
            assertEquals("0\n", kernel.readFile("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed"));
            p.madvise(a, pmd, Madvice.COLLAPSE); // already PMD-mapped: 0, nothing moves
            assertEquals(3, kernel.vmstat("thp_collapse_alloc"));

            long untouched = p.mmapAnonymous(pmd);
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class,
                    () -> p.madvise(untouched, pmd, Madvice.COLLAPSE)).errno());
            long zeros = p.mmapAnonymous(pmd);
            p.read(zeros, pmd);
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class,
                    () -> p.madvise(zeros, pmd, Madvice.COLLAPSE)).errno());
            long one = p.mmapAnonymous(pmd);
            p.read(one, pmd);
            p.write(one + 7 * page, 1);
            p.madvise(one, pmd, Madvice.COLLAPSE);
            assertEquals(sizes(2 * M, 2 * M), p.census(one, pmd));
            kernel.checkInvariants();
        }

        /** Regression: registered mms with nothing left to scan must not keep a khugepaged pass going forever. */
        @Test
        @org.junit.jupiter.api.Timeout(60)
        void khugepagedEndsAPassWhenNothingIsLeftToScan() {
            long a = p.mmapAnonymous(pmd);
            p.read(a, 1); // anon_vma: khugepaged only takes VMAs that have one
            p.madvise(a, pmd, Madvice.HUGEPAGE);
            assertTrue(p.registeredWithKhugepaged());
            p.munmap(a, pmd);
            FakeProcess q = kernel.spawn(kernel.cgroups().root());
            long b = q.mmapAnonymous(pmd);
            q.read(b, 1);
            q.madvise(b, pmd, Madvice.HUGEPAGE);
            assertTrue(q.registeredWithKhugepaged());
            q.munmap(b, pmd);
            kernel.clock().advance(java.time.Duration.ofSeconds(60));
            long fullScans = Long.parseLong(kernel.readFile("/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans").strip());
            assertTrue(fullScans >= 6, "full scans: " + fullScans);
        }

        @Test
        void madviseCollapseWorksUnderNeverAndExceptAdvisedButNotDisabledOrNohugepage() {
            set("enabled", "never");
            long a = filledWith4K(p, pmd);
            p.madvise(a, pmd, Madvice.COLLAPSE);
            assertEquals(sizes(2 * M, 2 * M), p.census(a, pmd));
            p.setThpMode(ProcessThpMode.DISABLED_EXCEPT_ADVISED);
            long b = filledWith4K(p, pmd);
            p.madvise(b, pmd, Madvice.COLLAPSE);
            assertEquals(sizes(2 * M, 2 * M), p.census(b, pmd));
            p.setThpMode(ProcessThpMode.DISABLED);
            long c = filledWith4K(p, pmd);
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> p.madvise(c, pmd, Madvice.COLLAPSE)).errno());
            p.setThpMode(ProcessThpMode.NONE);
            long d = filledWith4K(p, pmd);
            p.madvise(d, pmd, Madvice.NOHUGEPAGE);
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> p.madvise(d, pmd, Madvice.COLLAPSE)).errno());
        }

        @Test
        void madviseCollapseOfMthpFoliosFreesThem() {
            set("hugepages-64kB/enabled", "always");
            long a = filledWith4K(p, pmd);
            assertEquals(32, stat(64 * K, "nr_anon"));
            p.madvise(a, pmd, Madvice.COLLAPSE);
            assertEquals(0, stat(64 * K, "nr_anon"));
            assertEquals(1, stat(2 * M, "nr_anon"));
            kernel.checkInvariants();
        }

        @Test
        void aHoleGivesEnomemAfterCollapsingAroundIt() {
            long a = filledWith4K(p, 3 * pmd);
            p.munmap(a + pmd, pmd);
            assertEquals(Errno.ENOMEM, assertThrows(KernelException.class,
                    () -> p.madvise(a, 3 * pmd, Madvice.COLLAPSE)).errno());
            assertEquals(2, kernel.vmstat("thp_collapse_alloc"));
        }

        /** The probe's Q6: max_ptes_none decides; counters per PMD range and per scan. */
        @ParameterizedTest(name = "max_ptes_none {0}")
        @CsvSource({"511, 3", "0, 1"})
        void khugepagedHonoursMaxPtesNone(int maxPtesNone, int collapsed) {
            set("khugepaged/max_ptes_none", Integer.toString(maxPtesNone));
            long half = p.mmapAnonymous(pmd);
            p.write(half, pmd / 2);
            long zeros = p.mmapAnonymous(pmd);
            p.read(zeros, pmd);
            long single = p.mmapAnonymous(pmd);
            p.write(single, 1);
            long full = p.mmapAnonymous(pmd);
            p.write(full, pmd);
            for (long r : new long[] {half, zeros, single, full}) {
                p.madvise(r, pmd, Madvice.HUGEPAGE);
            }
            assertTrue(p.registeredWithKhugepaged());
            kernel.clock().advance(java.time.Duration.ofSeconds(31));
            assertEquals(collapsed, kernel.vmstat("thp_collapse_alloc"));
            assertEquals(collapsed + "\n",
                    kernel.readFile("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed"));
            assertEquals(2 * M, p.folioSizeAt(full));
            assertEquals(maxPtesNone == 511 ? 2 * M : 4 * K, p.folioSizeAt(half));
            assertEquals(0, p.folioSizeAt(zeros), "only zero pages: never collapsed (512 > 511)");
            assertTrue(kernel.vmstat("thp_scan_exceed_none_pte") >= 1);
            assertTrue(Long.parseLong(kernel.readFile(
                    "/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans").strip()) >= 2);
            kernel.checkInvariants();
        }
    }

    @Nested
    class ForkAndUnmap {

        @Test
        void copyOnWriteCopiesBasePagesAndSplitsOnlyTheWritersPmd() {
            set("hugepages-64kB/enabled", "always");
            long a = p.mmapAnonymous(2 * pmd);
            p.madvise(a, pmd, Madvice.HUGEPAGE);
            p.write(a, pmd);
            p.write(a + pmd, 64 * K);
            FakeProcess child = p.fork();
            child.write(a + 5 * page, 1);
            child.write(a + pmd + page, 1);
            assertEquals(4 * K, child.folioSizeAt(a + 5 * page));
            assertEquals(2 * M, child.folioSizeAt(a + 6 * page), "the rest still maps the shared folio");
            assertEquals(2 * M, p.folioSizeAt(a + 5 * page), "the parent keeps its PMD");
            assertEquals(4 * K, child.folioSizeAt(a + pmd + page));
            assertEquals(1, kernel.vmstat("thp_split_pmd"));
            assertEquals(1, kernel.vmstat("nr_anon_transparent_hugepages"));
            assertEquals(0, stat(2 * M, "split_deferred"));
            kernel.checkInvariants();
            p.write(a + 9 * page, 1);
            child.exit();
            assertEquals(1, stat(2 * M, "split_deferred"), "page 9 is now mapped by nobody");
            assertEquals(1, stat(2 * M, "nr_anon_partially_mapped"));
            assertEquals(0, stat(64 * K, "split_deferred"), "the parent still maps every page of the 64K folio");
            assertEquals(0, stat(2 * M, "anon_fault_alloc") - 1);
            kernel.checkInvariants();
            p.exit();
            assertEquals(0, stat(2 * M, "nr_anon"));
            assertEquals(0, stat(2 * M, "nr_anon_partially_mapped"));
            assertEquals(0, stat(64 * K, "nr_anon"));
            kernel.checkInvariants();
        }

        @Test
        void partialUnmapQueuesADeferredSplitOnce() {
            set("hugepages-64kB/enabled", "always");
            long a = p.mmapAnonymous(2 * pmd);
            p.madvise(a + pmd, pmd, Madvice.HUGEPAGE);
            p.write(a, 2 * pmd);
            p.munmap(a, page);
            p.dontneed(a + page, page);
            assertEquals(1, stat(64 * K, "split_deferred"));
            assertEquals(1, stat(64 * K, "nr_anon_partially_mapped"));
            p.dontneed(a + pmd + 5 * page, page);
            assertEquals(1, kernel.vmstat("thp_split_pmd"));
            assertEquals(1, kernel.vmstat("thp_deferred_split_page"));
            assertEquals(0, kernel.vmstat("nr_anon_transparent_hugepages"));
            assertEquals(1, stat(2 * M, "nr_anon_partially_mapped"));
            long current = Long.parseLong(kernel.readFile("/sys/fs/cgroup/memory.current").strip());
            assertEquals(4 * M, current, "a partially mapped folio stays charged whole until it is split");
            KernelException hole = assertThrows(KernelException.class, () -> p.dontneed(a, 64 * K));
            assertEquals(Errno.ENOMEM, hole.errno(), "the first page is unmapped; the rest is still zapped");
            assertEquals(0, stat(64 * K, "nr_anon_partially_mapped"), "freeing it drops the gauge");
            assertEquals(31, stat(64 * K, "nr_anon"));
            kernel.checkInvariants();
        }

        @Test
        void zappingAPartlyUnmappedFolioAlsoZapsThePagesRefaultedInItsHole() {
            long a = p.mmapAnonymous(pmd);
            p.madvise(a, pmd, Madvice.HUGEPAGE);
            p.write(a, pmd);
            p.dontneed(a + 32 * page, 16 * page);
            p.write(a + 40 * page, 4 * page); // base pages inside the 2M folio's span
            assertEquals(sizes(4 * K, 16 * K, 2 * M, pmd - 16 * page), p.census(a, pmd));
            p.munmap(a, pmd);
            assertEquals(0, p.rssAnonBytes(), "the refaulted base pages are unmapped too");
            assertEquals("0", kernel.readFile("/sys/fs/cgroup/memory.current").strip(), "and uncharged");
            kernel.checkInvariants();
        }
    }

    @Nested
    class SharedMemory {

        @Test
        void touchingMappedShmemIsNoFaultAndCollapseRemapsIt() {
            long a = p.mmapSharedAnonymous(pmd);
            p.write(a, pmd);
            long faults = kernel.vmstat("pgfault");
            p.write(a, pmd);
            assertEquals(faults, kernel.vmstat("pgfault"), "every page is mapped: no fault");
            assertEquals(sizes(4 * K, 2 * M), p.census(a, pmd));
            p.madvise(a, pmd, Madvice.COLLAPSE);
            assertEquals(sizes(2 * M, 2 * M), p.census(a, pmd), "the collapsing process maps the new folio");
            assertEquals(1, kernel.vmstat("thp_collapse_alloc"));
            assertTrue(kernel.readFile("/sys/fs/cgroup/memory.stat").contains("shmem_thp " + 2 * M + "\n"));
            kernel.checkInvariants();
        }

        @Test
        void shmemReadsAllocateAndMapTheWholeFolio() {
            set("hugepages-64kB/shmem_enabled", "always");
            long a = p.mmapSharedAnonymous(pmd);
            p.read(a, 1);
            assertEquals(64 * K, p.folioSizeAt(a));
            assertEquals(64 * K, p.rssShmemBytes());
            assertEquals(1, stat(64 * K, "shmem_alloc"));
            set("shmem_enabled", "always");
            long b = p.mmapSharedAnonymous(pmd);
            p.read(b, 1);
            assertEquals(2 * M, p.folioSizeAt(b + pmd - page));
            assertEquals(1, kernel.vmstat("thp_file_alloc"));
            assertEquals(1, kernel.vmstat("thp_file_mapped"));
            assertTrue(kernel.readFile("/proc/" + p.pid() + "/smaps").contains("ShmemPmdMapped:     2048 kB"));
            set("hugepages-64kB/shmem_enabled", "never");
            long c = p.mmapSharedAnonymous(pmd - page);
            p.read(c, 1);
            assertEquals(4 * K, p.folioSizeAt(c));
            assertEquals(0, stat(2 * M, "shmem_fallback"), "an unsuitable VMA is no fallback");
            kernel.checkInvariants();
        }

        @Test
        void shmemIsSharedAcrossForkAndFreedWithTheLastMapping() {
            long a = p.mmapSharedAnonymous(M);
            p.write(a, M);
            FakeProcess child = p.fork();
            child.read(a, M);
            assertEquals(M, child.rssShmemBytes());
            String stat = kernel.readFile("/sys/fs/cgroup/memory.stat");
            assertTrue(stat.contains("shmem " + M + "\n"), stat);
            p.exit();
            assertTrue(kernel.readFile("/sys/fs/cgroup/memory.stat").contains("shmem " + M + "\n"));
            child.exit();
            assertTrue(kernel.readFile("/sys/fs/cgroup/memory.stat").contains("shmem 0\n"));
            kernel.checkInvariants();
        }
    }

    @Nested
    class Files {

        @Test
        void smapsAndStatusHaveTheKernelsFormat() {
            long a = p.mmapAnonymous(pmd);
            p.madvise(a, pmd, Madvice.HUGEPAGE);
            p.write(a, pmd);
            String smaps = kernel.readFile("/proc/" + p.pid() + "/smaps");
            String expectedHeader = String.format("%08x-%08x rw-p 00000000 00:00 0 %n", a, a + pmd);
            assertTrue(smaps.startsWith(expectedHeader), smaps);
            assertTrue(smaps.contains("\nSize:               2048 kB\n"), smaps);
            assertTrue(smaps.contains("\nAnonHugePages:      2048 kB\n"), smaps);
            assertTrue(smaps.contains("\nTHPeligible:           1\n"), smaps);
            assertTrue(smaps.contains("\nVmFlags: rd wr mr mw me ac hg \n"), smaps);
            assertTrue(kernel.readFile("/proc/" + p.pid() + "/status").contains("THP_enabled:\t1\n"));
            p.setThpMode(ProcessThpMode.DISABLED);
            assertTrue(kernel.readFile("/proc/" + p.pid() + "/status").contains("THP_enabled:\t0\n"));
            assertTrue(kernel.readFile("/proc/" + p.pid() + "/smaps").contains("\nTHPeligible:           0\n"));
            p.setThpMode(ProcessThpMode.DISABLED_EXCEPT_ADVISED);
            assertTrue(kernel.readFile("/proc/" + p.pid() + "/status").contains("THP_enabled:\t1\n"));
        }

        @Test
        void vmstatListsTheThpCountersInTheKernelsOrder() {
            String vmstat = kernel.readFile("/proc/vmstat");
            String names = vmstat.lines().map(l -> l.split(" ")[0]).filter(n -> n.startsWith("thp_"))
                    .reduce((x, y) -> x + " " + y).orElse("");
            assertEquals("thp_migration_success thp_migration_fail thp_migration_split thp_fault_alloc thp_fault_fallback "
                    + "thp_fault_fallback_charge thp_collapse_alloc thp_collapse_alloc_failed thp_file_alloc "
                    + "thp_file_fallback thp_file_fallback_charge thp_file_mapped thp_split_page thp_split_page_failed "
                    + "thp_deferred_split_page thp_underused_split_page thp_split_pmd thp_scan_exceed_none_pte "
                    + "thp_scan_exceed_swap_pte thp_scan_exceed_share_pte thp_split_pud thp_zero_page_alloc "
                    + "thp_zero_page_alloc_failed thp_swpout thp_swpout_fallback", names);
        }

        @Test
        void unknownFilesAreEnoent() {
            assertEquals(Errno.ENOENT, assertThrows(KernelException.class, () -> kernel.readFile("/proc/nope")).errno());
            assertEquals(Errno.ENOENT, assertThrows(KernelException.class,
                    () -> kernel.readFile("/sys/fs/cgroup/missing/memory.current")).errno());
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class,
                    () -> kernel.writeFile("/sys/fs/cgroup/memory.max", "lots")).errno());
        }

        @Test
        void aFaultOutsideEveryVmaIsEfault() {
            assertEquals(Errno.EFAULT, assertThrows(KernelException.class, () -> p.write(0x1000, 1)).errno());
        }
    }

}
