package io.mthp4j.core.gate;

import static io.mthp4j.api.TvaType.FORCED_COLLAPSE;
import static io.mthp4j.api.TvaType.KHUGEPAGED;
import static io.mthp4j.api.TvaType.PAGEFAULT;
import static io.mthp4j.api.TvaType.SMAPS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ShmemSizeEnabled;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaKind;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** One test per row of the tables in kernel-semantics.md that the order gate decides. */
class OrderGateTablesTest {

    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final int PMD = 9;
    static final long PMD_BIT = 1L << PMD;
    static final long MTHP_REQUEST = PMD_BIT - 1; // alloc_anon_folio asks orders 0..8
    static final long PMD_SIZE = G.pmdSize();
    static final OrderGate GATE = OrderGate.builder(G).build();

    /** An anonymous VMA of 4 PMDs, PMD-aligned, that has been faulted (anon_vma present). */
    static VmaInfo anonVma(VmaFlag... flags) {
        return VmaInfo.anon(16 * PMD_SIZE, 20 * PMD_SIZE).withFlags(VmaFlag.ANON_VMA).withFlags(flags);
    }

    static ThpSettings settings(ThpEnabled top, int order, AnonSizeEnabled size) {
        return ThpSettings.defaults(G).withEnabled(top).withAnonSizeEnabled(PMD, AnonSizeEnabled.NEVER)
                .withAnonSizeEnabled(order, size);
    }

    @Nested
    @DisplayName("§3.4 per-size inherit resolution")
    class InheritMatrix {

        @ParameterizedTest(name = "top {0}, size {1}: plain {2}, MADV_HUGEPAGE {3}")
        @CsvSource({
                "ALWAYS,  ALWAYS,  true,  true",
                "MADVISE, ALWAYS,  true,  true",
                "NEVER,   ALWAYS,  true,  true",
                "ALWAYS,  MADVISE, false, true",
                "MADVISE, MADVISE, false, true",
                "NEVER,   MADVISE, false, true",
                "ALWAYS,  INHERIT, true,  true",
                "MADVISE, INHERIT, false, true",
                "NEVER,   INHERIT, false, false",
                "ALWAYS,  NEVER,   false, false",
                "MADVISE, NEVER,   false, false",
                "NEVER,   NEVER,   false, false",
        })
        void row(ThpEnabled top, AnonSizeEnabled size, boolean plain, boolean advised) {
            for (int order : new int[] {2, 4, 8, PMD}) {
                ThpSettings s = settings(top, order, size);
                for (TvaType type : new TvaType[] {SMAPS, PAGEFAULT, KHUGEPAGED}) {
                    assertEquals(plain ? 1L << order : 0, GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(), type, 1L << order),
                            "order " + order + " " + type + " without MADV_HUGEPAGE");
                    assertEquals(advised ? 1L << order : 0,
                            GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(VmaFlag.HUGEPAGE), type, 1L << order),
                            "order " + order + " " + type + " with MADV_HUGEPAGE");
                }
                // The mask does not apply to MADV_COLLAPSE.
                assertEquals(PMD_BIT, GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(), FORCED_COLLAPSE, PMD_BIT));
            }
        }

        @Test
        @DisplayName("linux-interfaces.md §6.2: several sizes allowed, the mTHP request keeps each that its mode allows")
        void observedMatrix() {
            // madvise / inherit / always: 64K everywhere, 2M only with MADV_HUGEPAGE.
            ThpSettings s = ThpSettings.defaults(G).withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
            assertEquals(1L << 4, GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, MTHP_REQUEST));
            assertEquals(0, GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD_BIT));
            assertEquals(PMD_BIT, GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(VmaFlag.HUGEPAGE), PAGEFAULT, PMD_BIT));
            // always / never / inherit: 64K.
            ThpSettings t = settings(ThpEnabled.ALWAYS, 4, AnonSizeEnabled.INHERIT);
            assertEquals(1L << 4, GATE.allowableOrders(t, ProcessThpMode.NONE, anonVma(), PAGEFAULT, MTHP_REQUEST));
            assertEquals(0, GATE.allowableOrders(t, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD_BIT));
        }
    }

    @Nested
    @DisplayName("§4.4 which tva_type skips which check")
    class SkipTable {

        static final TvaType[] TYPES = {SMAPS, PAGEFAULT, KHUGEPAGED, FORCED_COLLAPSE};

        /** Asserts the PMD outcome of one row, in the column order SMAPS, PAGEFAULT, KHUGEPAGED, FORCED_COLLAPSE. */
        void row(OrderGate gate, ThpSettings s, ProcessThpMode mm, VmaInfo vma, long request, long... expected) {
            for (int i = 0; i < TYPES.length; i++) {
                assertEquals(expected[i], gate.allowableOrders(s, mm, vma, TYPES[i], request), TYPES[i] + " on " + vma);
            }
        }

        final ThpSettings always = ThpSettings.defaults(G).withEnabled(ThpEnabled.ALWAYS);
        final ThpSettings never = ThpSettings.defaults(G).withEnabled(ThpEnabled.NEVER);

        @Test
        void anonSysfsMaskSkippedOnlyForForcedCollapse() {
            row(GATE, never, ProcessThpMode.NONE, anonVma(), PMD_BIT, 0, 0, 0, PMD_BIT);
        }

        @Test
        void step1SupportedOrders() {
            // Orders 0 and 1 are never supported for anon, whatever the type.
            row(GATE, always, ProcessThpMode.NONE, anonVma(), 0b11, 0, 0, 0, 0);
            // A file VMA supports order 1 (file default orders), here through read-only file THP.
            OrderGate roThp = OrderGate.builder(G).readOnlyThpForFs(true).build();
            VmaInfo file = fileVma(VmaFlag.FILE_THP_ENABLED);
            assertEquals(0b10, roThp.allowableOrders(always, ProcessThpMode.NONE, file, SMAPS, 0b11));
        }

        @Test
        void step3NohugepageAndDisabledCompletelyBlockEverything() {
            row(GATE, always, ProcessThpMode.NONE, anonVma(VmaFlag.NOHUGEPAGE), PMD_BIT, 0, 0, 0, 0);
            row(GATE, always, ProcessThpMode.DISABLED, anonVma(), PMD_BIT, 0, 0, 0, 0);
            row(GATE, always, ProcessThpMode.DISABLED, anonVma(VmaFlag.HUGEPAGE), PMD_BIT, 0, 0, 0, 0);
        }

        @Test
        void step3ExceptAdvisedBlocksAllButForcedCollapse() {
            row(GATE, always, ProcessThpMode.DISABLED_EXCEPT_ADVISED, anonVma(), PMD_BIT, 0, 0, 0, PMD_BIT);
            row(GATE, always, ProcessThpMode.DISABLED_EXCEPT_ADVISED, anonVma(VmaFlag.HUGEPAGE), PMD_BIT,
                    PMD_BIT, PMD_BIT, PMD_BIT, PMD_BIT);
        }

        @Test
        void step4Dax() {
            row(GATE, always, ProcessThpMode.NONE, fileVma(VmaFlag.DAX), PMD_BIT, 0, PMD_BIT, 0, 0);
        }

        @Test
        void step5NoKhugepaged() {
            row(GATE, always, ProcessThpMode.NONE, anonVma(VmaFlag.NO_KHUGEPAGED), PMD_BIT, PMD_BIT, PMD_BIT, 0, 0);
        }

        @Test
        void step6SuitabilityAgainstVmEndNotOnFaults() {
            // 1 MiB VMA: no PMD block fits; the fault path checks the fault address itself.
            VmaInfo small = VmaInfo.anon(16 * PMD_SIZE, 16 * PMD_SIZE + PMD_SIZE / 2).withFlags(VmaFlag.ANON_VMA);
            row(GATE, always, ProcessThpMode.NONE, small, PMD_BIT, 0, PMD_BIT, 0, 0);
            // Orders that fit stay; the walk stops at the first suitable one (1M fits, so 1M..16K are kept).
            ThpSettings mthp = always.withAnonSizesEnabled(0x1FC, AnonSizeEnabled.ALWAYS);
            assertEquals(0x1FC, GATE.allowableOrders(mthp, ProcessThpMode.NONE, small, SMAPS, 0x3FC));
        }

        @Test
        void step7ShmemRulesWithForceOnlyForForcedCollapse() {
            // shmem_enabled never, PMD inherit: only MADV_COLLAPSE (force) gets the PMD order.
            row(GATE, always, ProcessThpMode.NONE, shmemVma(), PMD_BIT, 0, 0, 0, PMD_BIT);
            // shmem_enabled always: every non-fault type gets it; the fault type goes to step 8, where a shmem
            // VMA has neither huge_fault nor read-only file THP.
            ThpSettings shmemAlways = always.withShmemEnabled(ShmemEnabled.ALWAYS);
            row(GATE, shmemAlways, ProcessThpMode.NONE, shmemVma(), PMD_BIT, PMD_BIT, 0, PMD_BIT, PMD_BIT);
        }

        @Test
        void step8FileGlobalGateSkippedOnlyForForcedCollapse() {
            OrderGate roThp = OrderGate.builder(G).readOnlyThpForFs(true).build();
            row(roThp, never, ProcessThpMode.NONE, fileVma(VmaFlag.FILE_THP_ENABLED), PMD_BIT, 0, 0, 0, PMD_BIT);
            // madvise without VM_HUGEPAGE: blocked; with it: passes.
            ThpSettings madvise = ThpSettings.defaults(G);
            row(roThp, madvise, ProcessThpMode.NONE, fileVma(VmaFlag.FILE_THP_ENABLED), PMD_BIT, 0, 0, 0, PMD_BIT);
            row(roThp, madvise, ProcessThpMode.NONE, fileVma(VmaFlag.FILE_THP_ENABLED, VmaFlag.HUGEPAGE), PMD_BIT,
                    PMD_BIT, 0, PMD_BIT, PMD_BIT);
        }

        @Test
        void step8HugeFaultAllowsSmapsAndFaultsOnly() {
            row(GATE, always, ProcessThpMode.NONE, fileVma(VmaFlag.HUGE_FAULT), PMD_BIT, PMD_BIT, PMD_BIT, 0, 0);
        }

        @Test
        void step8FileThpEnabledAllowsAllButFaults() {
            OrderGate roThp = OrderGate.builder(G).readOnlyThpForFs(true).build();
            row(roThp, always, ProcessThpMode.NONE, fileVma(VmaFlag.FILE_THP_ENABLED), PMD_BIT, PMD_BIT, 0, PMD_BIT, PMD_BIT);
            // Without CONFIG_READ_ONLY_THP_FOR_FS (our machines) nothing is allowed.
            row(GATE, always, ProcessThpMode.NONE, fileVma(VmaFlag.FILE_THP_ENABLED), PMD_BIT, 0, 0, 0, 0);
        }

        @Test
        void step9TemporaryStack() {
            row(GATE, always, ProcessThpMode.NONE, anonVma(VmaFlag.TEMPORARY_STACK), PMD_BIT, 0, 0, 0, 0);
        }

        @Test
        void step10NoAnonVmaYet() {
            VmaInfo fresh = VmaInfo.anon(16 * PMD_SIZE, 20 * PMD_SIZE);
            row(GATE, always, ProcessThpMode.NONE, fresh, PMD_BIT, PMD_BIT, PMD_BIT, 0, 0);
        }

        @Test
        void step2NoMm() {
            row(GATE, always, ProcessThpMode.NONE, anonVma(VmaFlag.NO_MM), PMD_BIT, 0, 0, 0, 0);
        }

        @Test
        void hardwareWithoutThp() {
            OrderGate noHw = OrderGate.builder(G).hardwareDisabled(true).build();
            row(noHw, always, ProcessThpMode.NONE, anonVma(VmaFlag.HUGEPAGE), PMD_BIT, 0, 0, 0, 0);
        }
    }

    static VmaInfo fileVma(VmaFlag... flags) {
        return new VmaInfo(16 * PMD_SIZE, 20 * PMD_SIZE, 0, VmaKind.FILE, 0, 4 * PMD_SIZE, 0, CgroupRef.NONE).withFlags(flags);
    }

    static VmaInfo shmemVma(VmaFlag... flags) {
        return VmaInfo.sharedAnon(16 * PMD_SIZE, 20 * PMD_SIZE).withFlags(flags);
    }

    @Nested
    @DisplayName("§13.1 prctl_thp_disable, as pure gate outcomes")
    class PrctlThpDisable {

        enum Case { NONE, MADV_NOHUGEPAGE, MADV_HUGEPAGE, MADV_COLLAPSE }

        static Stream<Arguments> cells() {
            List<Arguments> cells = new ArrayList<>();
            for (ProcessThpMode fixture : new ProcessThpMode[] {ProcessThpMode.DISABLED, ProcessThpMode.DISABLED_EXCEPT_ADVISED}) {
                for (ThpEnabled top : new ThpEnabled[] {ThpEnabled.NEVER, ThpEnabled.MADVISE, ThpEnabled.ALWAYS}) {
                    for (char phase : new char[] {'A', 'B'}) {
                        for (Case c : Case.values()) {
                            cells.add(Arguments.of(fixture, top, phase, c, expected(fixture, top, phase, c)));
                        }
                    }
                }
            }
            return cells.stream();
        }

        /** The reference table, cell by cell. */
        static boolean expected(ProcessThpMode fixture, ThpEnabled top, char phase, Case c) {
            if (phase == 'A' && fixture == ProcessThpMode.DISABLED) {
                return false;
            }
            return switch (c) {
                case NONE -> phase == 'B' && top == ThpEnabled.ALWAYS;
                case MADV_NOHUGEPAGE -> false;
                case MADV_HUGEPAGE -> top != ThpEnabled.NEVER;
                case MADV_COLLAPSE -> true;
            };
        }

        @ParameterizedTest(name = "{0} top={1} phase {2} {3} -> {4}")
        @MethodSource("cells")
        void cell(ProcessThpMode fixture, ThpEnabled top, char phase, Case c, boolean expectedThp) {
            // The selftest sets the top level and PMD size inherit; other sizes keep their (default never) value.
            ThpSettings s = ThpSettings.defaults(G).withEnabled(top).withAnonSizeEnabled(PMD, AnonSizeEnabled.INHERIT);
            ProcessThpMode mm = phase == 'A' ? fixture : ProcessThpMode.NONE;
            VmaInfo vma = VmaInfo.anon(16 * PMD_SIZE, 18 * PMD_SIZE);
            if (c == Case.MADV_HUGEPAGE) {
                vma = vma.withFlags(VmaFlag.HUGEPAGE);
            } else if (c == Case.MADV_NOHUGEPAGE) {
                vma = vma.withFlags(VmaFlag.NOHUGEPAGE);
            }
            // memset: write faults, PMD first (§5.6).
            boolean thp = GATE.allowableOrder(s, mm, vma, PAGEFAULT, PMD);
            if (c == Case.MADV_COLLAPSE) {
                // After touching, the VMA has an anon_vma; MADV_COLLAPSE asks with FORCED_COLLAPSE.
                thp |= GATE.allowableOrder(s, mm, vma.withFlags(VmaFlag.ANON_VMA), FORCED_COLLAPSE, PMD);
            }
            assertEquals(expectedThp, thp);
            if (phase == 'A') {
                assertEquals(fixture == ProcessThpMode.DISABLED ? 1 : 3, fixture.prGetValue(), "PR_GET_THP_DISABLE");
            }
        }
    }

    @Nested
    @DisplayName("§14.3/§14.4 BPF-THP v7 hook placement and quirks")
    class V7 {

        @Test
        void hookSeesTheRawRequestBeforeTheSysfsMask() {
            long[] seen = new long[1];
            OrderGate gate = OrderGate.builder(G).policy((vma, type, orders) -> {
                seen[0] = orders;
                return orders;
            }).build();
            gate.allowableOrders(ThpSettings.defaults(G), ProcessThpMode.NONE, anonVma(), PAGEFAULT, MTHP_REQUEST);
            assertEquals(MTHP_REQUEST, seen[0], "v7 passes BIT(PMD_ORDER) - 1 unfiltered");
            OrderGate after = gate.toBuilder().placement(HookPlacement.AFTER_SYSFS_MASK).build();
            ThpSettings s = ThpSettings.defaults(G).withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
            seen[0] = -1;
            after.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, MTHP_REQUEST);
            assertEquals(1L << 4, seen[0], "after the mask the hook sees only what sysfs allows");
        }

        @Test
        void strictQuirkLowerOrderAnswerMakesPmdLookAllowed() {
            ThpSettings s = ThpSettings.defaults(G).withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS);
            OrderGate strict = OrderGate.builder(G).policy(Hooks.thpGetOrderStrict((vma, vt, tva, orders) -> 4)).build();
            assertEquals(1L << 4, strict.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD_BIT));
            assertEquals(true, strict.allowableOrder(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD));
            assertEquals(0, strict.policyFailures().total());
            OrderGate lenient = OrderGate.builder(G).policy(Hooks.thpGetOrder((vma, vt, tva, orders) -> 4)).build();
            assertEquals(false, lenient.allowableOrder(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD));
        }

        @Test
        void zeroMeansNoThpAndMinusOneMeansUnchanged() {
            ThpSettings s = ThpSettings.defaults(G).withEnabled(ThpEnabled.ALWAYS);
            for (MthpPolicy p : List.of(Hooks.thpGetOrder((v, vt, t, o) -> 0), Hooks.thpGetOrderStrict((v, vt, t, o) -> 0))) {
                OrderGate gate = OrderGate.builder(G).policy(p).build();
                assertEquals(0, gate.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD_BIT));
            }
            OrderGate unchanged = OrderGate.builder(G).policy(Hooks.thpGetOrder((v, vt, t, o) -> -1)).build();
            assertEquals(PMD_BIT, unchanged.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD_BIT));
            OrderGate above = OrderGate.builder(G).policy(Hooks.thpGetOrder((v, vt, t, o) -> 12)).build();
            assertEquals(PMD_BIT, above.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD_BIT),
                    "an answer above the highest requested order is ignored");
        }

        @Test
        void hookIsCalledForPrctlDisabledTasksButCannotWiden() {
            int[] calls = new int[1];
            OrderGate gate = OrderGate.builder(G).policy((vma, type, orders) -> {
                calls[0]++;
                return orders;
            }).build();
            ThpSettings s = ThpSettings.defaults(G).withEnabled(ThpEnabled.ALWAYS);
            assertEquals(0, gate.allowableOrders(s, ProcessThpMode.DISABLED, anonVma(), PAGEFAULT, PMD_BIT));
            assertEquals(1, calls[0]);
        }

        @Test
        void vmaTypeIsPassedToThpGetOrder() {
            io.mthp4j.api.VmaType[] seen = new io.mthp4j.api.VmaType[1];
            OrderGate gate = OrderGate.builder(G).policy(Hooks.thpGetOrder((v, vt, t, o) -> {
                seen[0] = vt;
                return -1;
            })).build();
            gate.allowableOrders(ThpSettings.defaults(G), ProcessThpMode.NONE, anonVma(VmaFlag.NOHUGEPAGE), SMAPS, PMD_BIT);
            assertEquals(io.mthp4j.api.VmaType.NOHUGEPAGE, seen[0]);
        }
    }

    @Nested
    @DisplayName("§8 shmem rules")
    class Shmem {

        @Test
        void perSizeShmemModes() {
            ThpSettings s = ThpSettings.defaults(G).withShmemEnabled(ShmemEnabled.ADVISE)
                    .withShmemSizeEnabled(4, ShmemSizeEnabled.ALWAYS).withShmemSizeEnabled(6, ShmemSizeEnabled.ADVISE);
            VmaInfo plain = shmemVma();
            VmaInfo advised = shmemVma(VmaFlag.HUGEPAGE);
            // advise top level: PMD inherit only with VM_HUGEPAGE; 64K always; 256K advise only with VM_HUGEPAGE.
            assertEquals(1L << 4, GATE.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, plain, 0, 0, false));
            assertEquals(PMD_BIT | 1L << 6 | 1L << 4, GATE.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, advised, 0, 0, false));
            assertEquals(0, GATE.shmemAllowableHugeOrders(s.withShmemEnabled(ShmemEnabled.DENY), ProcessThpMode.NONE, advised, 0, 0, true));
            assertEquals(PMD_BIT, GATE.shmemAllowableHugeOrders(s.withShmemEnabled(ShmemEnabled.FORCE), ProcessThpMode.NONE, plain, 0, 0, false));
        }

        @Test
        void withinSizeKeepsTheHighestFittingOrderAndBelow() {
            ThpSettings s = ThpSettings.defaults(G).withShmemSizeEnabled(PMD, ShmemSizeEnabled.NEVER)
                    .withShmemSizeEnabled(4, ShmemSizeEnabled.WITHIN_SIZE).withShmemSizeEnabled(2, ShmemSizeEnabled.WITHIN_SIZE);
            // 32 KiB file: a 16K block (order 2) at index 0 fits, 64K does not.
            VmaInfo small = shmemVma().withFileSize(32 * 1024);
            assertEquals(1L << 2, GATE.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, small, 0, 0, false));
            VmaInfo big = shmemVma().withFileSize(64 * 1024);
            assertEquals(1L << 4 | 1L << 2, GATE.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, big, 0, 0, false));
            assertEquals(1L << 2, GATE.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, small, 0, 64 * 1024, false),
                    "per-size within_size reads i_size only; write_end counts for the global rule alone");
        }

        @Test
        void tmpfsFollowsTheTopLevelOnly() {
            ThpSettings s = ThpSettings.defaults(G).withShmemEnabled(ShmemEnabled.WITHIN_SIZE)
                    .withShmemSizeEnabled(4, ShmemSizeEnabled.ALWAYS);
            VmaInfo memfd = new VmaInfo(16 * PMD_SIZE, 20 * PMD_SIZE, 0, VmaKind.TMPFS, 0, 4 * PMD_SIZE, 0, CgroupRef.NONE);
            assertEquals(PMD_BIT, GATE.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, memfd, 0, 0, false));
            assertEquals(0, GATE.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, memfd.withFileSize(PMD_SIZE / 2), 0, 0, false),
                    "within_size without the block inside i_size behaves as advise");
        }

        @Test
        void noPmdShmemFolioWhenPmdAbovePagecacheLimit() {
            PageGeometry arm64k = PageGeometry.ARM64_64K;
            OrderGate gate = OrderGate.builder(arm64k).build();
            ThpSettings s = ThpSettings.defaults(arm64k).withShmemEnabled(ShmemEnabled.ALWAYS);
            long pmd = arm64k.pmdSize();
            VmaInfo vma = VmaInfo.sharedAnon(4 * pmd, 8 * pmd);
            assertEquals(0, gate.shmemAllowableHugeOrders(s, ProcessThpMode.NONE, vma, 0, 0, false));
        }
    }

    @Test
    @DisplayName("§6 hugepage_pmd_enabled decides whether khugepaged runs")
    void hugepagePmdEnabled() {
        ThpSettings madvise = ThpSettings.defaults(G);
        assertEquals(true, GATE.hugepagePmdEnabled(madvise));
        assertEquals(false, GATE.hugepagePmdEnabled(madvise.withEnabled(ThpEnabled.NEVER)));
        assertEquals(true, GATE.hugepagePmdEnabled(madvise.withEnabled(ThpEnabled.NEVER).withAnonSizeEnabled(PMD, AnonSizeEnabled.MADVISE)));
        assertEquals(false, GATE.hugepagePmdEnabled(madvise.withEnabled(ThpEnabled.NEVER).withAnonSizeEnabled(4, AnonSizeEnabled.ALWAYS)),
                "6.18 khugepaged collapses to the PMD order only");
        assertEquals(true, GATE.hugepagePmdEnabled(madvise.withEnabled(ThpEnabled.NEVER).withShmemEnabled(ShmemEnabled.ADVISE)));
        assertEquals(false, GATE.hugepagePmdEnabled(madvise.withEnabled(ThpEnabled.NEVER).withShmemEnabled(ShmemEnabled.DENY)
                .withShmemSizeEnabled(PMD, ShmemSizeEnabled.ALWAYS)));
    }

    @Test
    @DisplayName("§2 the mTHP request of a fault keeps every size in 2..8 that is allowed")
    void requestMaskNeverReturnsOrdersZeroOrOne() {
        ThpSettings s = ThpSettings.defaults(G).withEnabled(ThpEnabled.ALWAYS).withAnonSizesEnabled(G.allAnonOrders(), AnonSizeEnabled.ALWAYS);
        assertEquals(0x1FC, GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, MTHP_REQUEST));
        assertEquals(Orders.parse("2M", G.pageSize()), GATE.allowableOrders(s, ProcessThpMode.NONE, anonVma(), PAGEFAULT, PMD_BIT));
    }
}
