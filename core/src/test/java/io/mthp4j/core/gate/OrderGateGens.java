package io.mthp4j.core.gate;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Khugepaged;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ShmemEnabled;
import io.mthp4j.api.ShmemSizeEnabled;
import io.mthp4j.api.ThpDefrag;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaKind;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.core.RandomnessSource;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

/**
 * QuickTheories generators for the order gate's inputs (kernel-semantics.md §2–§4, §8, §14): THP settings of
 * several page geometries, prctl states, VMAs, tva types, requested order masks, hook placements and policy
 * behaviours. Every generator draws from QuickTheories' randomness source, so failures shrink.
 */
final class OrderGateGens {

    private OrderGateGens() {
    }

    /** x86-64 4K is the verified geometry; arm64 64K has PMD above MAX_PAGECACHE_ORDER; 16K in between. */
    static final List<PageGeometry> GEOMETRIES =
            List.of(PageGeometry.X86_64_4K, PageGeometry.X86_64_4K, PageGeometry.X86_64_4K,
                    PageGeometry.ARM64_64K, PageGeometry.ARM64_64K, PageGeometry.ARM64_16K);

    private static final AnonSizeEnabled[] ANON_MODES = AnonSizeEnabled.values();
    private static final ShmemSizeEnabled[] SHMEM_MODES = ShmemSizeEnabled.values();

    /** Percent chance of each {@link VmaFlag}, by ordinal: common flags often, blocking ones rarely. */
    private static final int[] FLAG_PERCENT = percents();

    private static int[] percents() {
        int[] p = new int[VmaFlag.values().length];
        p[VmaFlag.HUGEPAGE.ordinal()] = 40;
        p[VmaFlag.NOHUGEPAGE.ordinal()] = 8;
        p[VmaFlag.NO_KHUGEPAGED.ordinal()] = 8;
        p[VmaFlag.ANON_VMA.ordinal()] = 70;
        p[VmaFlag.DAX.ordinal()] = 6;
        p[VmaFlag.SPECIAL_HUGE.ordinal()] = 8;
        p[VmaFlag.HUGE_FAULT.ordinal()] = 25;
        p[VmaFlag.FILE_THP_ENABLED.ordinal()] = 25;
        p[VmaFlag.TEMPORARY_STACK.ordinal()] = 5;
        p[VmaFlag.UFFD_ARMED.ordinal()] = 10;
        p[VmaFlag.NO_MM.ordinal()] = 4;
        return p;
    }

    // ---- policy behaviours ----

    /** What a generated {@link io.mthp4j.api.MthpPolicy} does with the orders it is asked about. */
    enum PolicyKind {
        /** Returns its input: "no opinion". */
        IDENTITY,
        /** Returns 0: base pages only. */
        ZERO,
        /** Returns -1 (every bit). */
        MINUS_ONE,
        /** Returns a negative long: {@code param | Long.MIN_VALUE}. */
        NEGATIVE,
        /** Returns {@code param}, whatever it was asked. */
        ARBITRARY,
        /** Returns {@code input & param}: a valid subset. */
        SUBSET,
        /** Returns {@code input | param}: garbage unless {@code param} is inside the input. */
        SUPERSET,
        /** Returns the input plus at least one bit it was not asked about (garbage unless the input is -1). */
        STRICT_SUPERSET,
        /** Returns {@code BIT(param & 63)}. */
        SINGLE_BIT,
        /** Throws a RuntimeException. */
        THROWS
    }

    /** A policy behaviour: a kind and its parameter. */
    record PolicySpec(PolicyKind kind, long param) {

        long apply(long input) {
            return switch (kind) {
                case IDENTITY -> input;
                case ZERO -> 0;
                case MINUS_ONE -> -1L;
                case NEGATIVE -> param | Long.MIN_VALUE;
                case ARBITRARY -> param;
                case SUBSET -> input & param;
                case SUPERSET -> input | param;
                case STRICT_SUPERSET -> input | outsideBit(input, param);
                case SINGLE_BIT -> 1L << (param & 63);
                case THROWS -> throw InjectedFailure.INSTANCE;
            };
        }

        @Override
        public String toString() {
            return kind + "(0x" + Long.toHexString(param) + ")";
        }
    }

    /** The exception a THROWS policy throws: shared and stackless, so the gate's warnings stay one line. */
    static final class InjectedFailure extends RuntimeException {
        static final InjectedFailure INSTANCE = new InjectedFailure();

        private InjectedFailure() {
            super("policy failure injected by the test", null, false, false);
        }
    }

    /** A bit not in {@code input} (chosen by {@code pick} when possible), or 0 if {@code input} is -1. */
    static long outsideBit(long input, long pick) {
        long outside = ~input;
        long chosen = outside & pick;
        return Long.lowestOneBit(chosen != 0 ? chosen : outside);
    }

    // ---- one call of the gate ----

    /** Everything one call of the gate depends on, plus what the hook answers. */
    record Case(ThpSettings settings, ProcessThpMode mm, VmaInfo vma, TvaType type, long request,
                HookPlacement placement, boolean hardwareDisabled, boolean readOnlyThpForFs,
                PolicySpec policy, int hookAnswer, long subset) {

        PageGeometry geometry() {
            return settings.geometry();
        }

        @Override
        public String toString() {
            ThpSettings s = settings;
            return "Case{geometry " + s.geometry() + ", enabled " + s.enabled() + ", shmem_enabled " + s.shmemEnabled()
                    + ", anon always/inherit/madvise 0x" + hex(s.anonAlways()) + "/0x" + hex(s.anonInherit()) + "/0x"
                    + hex(s.anonMadvise()) + ", shmem always/inherit/within/advise 0x" + hex(s.shmemAlways()) + "/0x"
                    + hex(s.shmemInherit()) + "/0x" + hex(s.shmemWithinSize()) + "/0x" + hex(s.shmemAdvise())
                    + ", mm " + mm + ", vma " + vma + " fileSize " + vma.fileSize() + ", type " + type
                    + ", request 0x" + hex(request) + ", " + placement + (hardwareDisabled ? ", hw disabled" : "")
                    + (readOnlyThpForFs ? ", READ_ONLY_THP_FOR_FS" : "") + ", policy " + policy
                    + ", hook answer " + hookAnswer + ", subset 0x" + hex(subset) + "}";
        }
    }

    static String hex(long v) {
        return Long.toHexString(v);
    }

    /** Random calls of the gate over every input dimension. */
    static Gen<Case> cases() {
        return rs -> {
            PageGeometry g = Generate.pick(GEOMETRIES).generate(rs);
            ThpSettings s = settings(g, rs);
            ProcessThpMode mm = chance(rs, 40)
                    ? (chance(rs, 40) ? ProcessThpMode.DISABLED : ProcessThpMode.DISABLED_EXCEPT_ADVISED)
                    : ProcessThpMode.NONE;
            VmaInfo vma = vma(g, rs);
            TvaType type = Generate.enumValues(TvaType.class).generate(rs);
            long request = request(g, rs);
            HookPlacement placement = Generate.enumValues(HookPlacement.class).generate(rs);
            boolean hw = chance(rs, 5);
            boolean ro = chance(rs, 30);
            PolicySpec policy = policy(rs);
            int answer = hookAnswer(request, rs);
            long subset = chance(rs, 30) ? request(g, rs) : request & anyLong(rs);
            return new Case(s, mm, vma, type, request, placement, hw, ro, policy, answer, subset);
        };
    }

    static int percent(RandomnessSource rs) {
        return Generate.range(0, 99).generate(rs);
    }

    /** True with {@code pct} percent probability; shrinks towards false (QuickTheories shrinks draws to 0). */
    static boolean chance(RandomnessSource rs, int pct) {
        return percent(rs) >= 100 - pct;
    }

    static int between(RandomnessSource rs, int min, int max) {
        return Generate.range(min, max).generate(rs);
    }

    static long between(RandomnessSource rs, long min, long max) {
        return Generate.longRange(min, max).generate(rs);
    }

    static long anyLong(RandomnessSource rs) {
        return SourceDSL.longs().all().generate(rs);
    }

    /** Top-level and every per-size anon and shmem mode; per size independently, all alike, or the defaults. */
    static ThpSettings settings(PageGeometry g, RandomnessSource rs) {
        ThpEnabled enabled = Generate.enumValues(ThpEnabled.class).generate(rs);
        ThpDefrag defrag = Generate.enumValues(ThpDefrag.class).generate(rs);
        ShmemEnabled shmem = Generate.enumValues(ShmemEnabled.class).generate(rs);
        int style = between(rs, 0, 3);
        if (style == 0) {
            return ThpSettings.defaults(g).withEnabled(enabled).withDefrag(defrag).withShmemEnabled(shmem);
        }
        AnonSizeEnabled anonAll = ANON_MODES[between(rs, 0, ANON_MODES.length - 1)];
        ShmemSizeEnabled shmemAll = SHMEM_MODES[between(rs, 0, SHMEM_MODES.length - 1)];
        long[] anon = new long[ANON_MODES.length];
        for (long rest = g.allAnonOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            AnonSizeEnabled mode = style == 1 ? anonAll : ANON_MODES[between(rs, 0, ANON_MODES.length - 1)];
            anon[mode.ordinal()] |= 1L << order;
        }
        long[] shm = new long[SHMEM_MODES.length];
        for (long rest = g.allFileOrders(); rest != 0; rest &= rest - 1) {
            int order = Long.numberOfTrailingZeros(rest);
            ShmemSizeEnabled mode = style == 1 ? shmemAll : SHMEM_MODES[between(rs, 0, SHMEM_MODES.length - 1)];
            shm[mode.ordinal()] |= 1L << order;
        }
        return new ThpSettings(g, enabled, defrag, shmem, true, true,
                anon[AnonSizeEnabled.ALWAYS.ordinal()], anon[AnonSizeEnabled.INHERIT.ordinal()],
                anon[AnonSizeEnabled.MADVISE.ordinal()],
                shm[ShmemSizeEnabled.ALWAYS.ordinal()], shm[ShmemSizeEnabled.INHERIT.ordinal()],
                shm[ShmemSizeEnabled.WITHIN_SIZE.ordinal()], shm[ShmemSizeEnabled.ADVISE.ordinal()],
                Khugepaged.defaults(g));
    }

    /** A VMA of any kind, with any flags (never HUGEPAGE and NOHUGEPAGE together), aligned or not. */
    static VmaInfo vma(PageGeometry g, RandomnessSource rs) {
        VmaKind kind = Generate.enumValues(VmaKind.class).generate(rs);
        int flags = 0;
        for (VmaFlag flag : VmaFlag.values()) {
            if (chance(rs, FLAG_PERCENT[flag.ordinal()])) {
                flags |= flag.mask();
            }
        }
        int both = VmaFlag.HUGEPAGE.mask() | VmaFlag.NOHUGEPAGE.mask();
        if ((flags & both) == both) {
            flags &= Generate.booleans().generate(rs) ? ~VmaFlag.HUGEPAGE.mask() : ~VmaFlag.NOHUGEPAGE.mask();
        }
        long pmdPages = g.pmdPages();
        long startPages = switch (between(rs, 0, 4)) {
            case 0 -> between(rs, 0L, 4096L) * pmdPages;                                   // PMD-aligned
            case 1 -> between(rs, 0L, 4096L) * pmdPages + between(rs, 1L, pmdPages - 1);   // unaligned
            case 2 -> between(rs, 0L, 4096L) * pmdPages + 16 * between(rs, 0L, pmdPages / 16 - 1); // 64K-aligned
            case 3 -> between(rs, 0L, 2 * pmdPages);                                        // near address 0
            default -> between(rs, 0L, 1L << 32);                                           // anywhere
        };
        long lengthPages = switch (between(rs, 0, 4)) {
            case 0 -> between(rs, 1L, 16L);
            case 1 -> 1L << between(rs, 0, g.pmdOrder() + 2);
            case 2 -> between(rs, 1L, 4L) * pmdPages;
            case 3 -> Math.max(1, between(rs, 1L, 4L) * pmdPages + between(rs, -16L, 16L));
            default -> between(rs, 1L, 4 * pmdPages);
        };
        long start = startPages << g.pageShift();
        long end = (startPages + lengthPages) << g.pageShift();
        long pgoff = switch (between(rs, 0, 4)) {
            case 0 -> 0;
            case 1 -> startPages;                                                   // offset follows the address
            case 2 -> startPages + between(rs, 0L, 64L) * pmdPages;                  // same alignment as the address
            case 3 -> startPages - Math.min(startPages, between(rs, 1L, pmdPages)); // misaligned against the address
            default -> between(rs, 0L, 1L << 24);
        };
        long fileSize;
        if (kind == VmaKind.ANON && !chance(rs, 20)) {
            fileSize = 0;
        } else {
            fileSize = switch (between(rs, 0, 4)) {
                case 0 -> 0;
                case 1 -> (pgoff + lengthPages) << g.pageShift();
                case 2 -> ((pgoff + between(rs, 0L, 4 * pmdPages)) << g.pageShift()) + between(rs, 0L, g.pageSize() - 1);
                case 3 -> (pgoff << g.pageShift()) + between(rs, 0L, g.pageSize() << 4);
                default -> between(rs, 0L, 1L << 40);
            };
        }
        int pid = between(rs, 0, 100_000);
        CgroupRef cgroup;
        if (Generate.booleans().generate(rs)) {
            cgroup = CgroupRef.NONE;
        } else {
            long id = between(rs, 1L, 1L << 20);
            cgroup = new CgroupRef(id, "/workload-" + id);
        }
        return new VmaInfo(start, end, pgoff, kind, flags, fileSize, pid, cgroup);
    }

    /** The masks the kernel asks with (§4.1), single bits, small and arbitrary masks. */
    static long request(PageGeometry g, RandomnessSource rs) {
        long pmd = Orders.bit(g.pmdOrder());
        long all = g.allAnonOrders() | g.allSpecialOrders() | g.allFileOrders();
        return switch (between(rs, 0, 11)) {
            case 0 -> pmd - 1;                          // alloc_anon_folio / alloc_swap_folio: 0x1FF on x86
            case 1 -> pmd;                              // BIT(PMD_ORDER)
            case 2 -> Orders.bit(g.pudOrder());          // BIT(PUD_ORDER)
            case 3 -> all;                              // THP_ORDERS_ALL (smaps)
            case 4 -> g.allAnonOrders();
            case 5 -> g.allFileOrders();
            case 6 -> 1L << between(rs, 0, 63);         // a single order
            case 7 -> anyLong(rs);                      // anything
            case 8 -> anyLong(rs) & Orders.upTo(g.pmdOrder() + 2);
            case 9 -> -1L;
            case 10 -> 0;
            default -> pmd | Orders.bit(g.pudOrder());
        };
    }

    static PolicySpec policy(RandomnessSource rs) {
        PolicyKind kind = Generate.enumValues(PolicyKind.class).generate(rs);
        return new PolicySpec(kind, anyLong(rs));
    }

    /** What a {@link ThpGetOrder} hook answers: -1, negatives, orders around the request's highest, large. */
    static int hookAnswer(long request, RandomnessSource rs) {
        int highest = Orders.highest(request);
        return switch (between(rs, 0, 5)) {
            case 0 -> -1;
            case 1 -> between(rs, Integer.MIN_VALUE, -1);
            case 2 -> between(rs, 0, Math.max(0, highest));             // at most the highest requested
            case 3 -> Math.max(0, highest) + between(rs, 1, 3);          // just above it
            case 4 -> between(rs, 0, 70);
            default -> Integer.MAX_VALUE;
        };
    }
}
