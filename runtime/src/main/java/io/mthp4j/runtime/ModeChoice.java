package io.mthp4j.runtime;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;

/**
 * Turns a policy's {@link DecisionTable} into what one process can do on a stock kernel: a prctl mode
 * (kernel-semantics.md §9) and the advice of the ranges it manages (§7). prctl cannot narrow sizes, only switch
 * THP off, so a cell counts as "huge allowed" when it allows any order above 0.
 *
 * <p>The mode chosen is the most permissive one that lets the kernel do nothing the table forbids, for the
 * request types a process meets (page and swap-in faults, khugepaged, MADV_COLLAPSE; SMAPS only reports), and
 * never more permissive than the process's mode before registration (a policy only narrows):
 * {@code NONE} permits every advice except MADV_NOHUGEPAGE; {@code DISABLED_EXCEPT_ADVISED} permits MADV_HUGEPAGE
 * VMAs, and MADV_COLLAPSE on VMAs without MADV_NOHUGEPAGE (§4.2, §13.1); {@code DISABLED} permits nothing.
 */
final class ModeChoice {

    /** The request types a process's memory meets. */
    static final TvaType[] ENFORCED = {TvaType.PAGEFAULT, TvaType.SWAP_PAGEFAULT, TvaType.KHUGEPAGED, TvaType.FORCED_COLLAPSE};

    /** From most to least permissive. */
    private static final ProcessThpMode[] BY_PERMISSIVENESS = {
            ProcessThpMode.NONE, ProcessThpMode.DISABLED_EXCEPT_ADVISED, ProcessThpMode.DISABLED};

    private ModeChoice() {
    }

    /** 0 for NONE, 1 for DISABLED_EXCEPT_ADVISED, 2 for DISABLED. */
    static int restrictiveness(ProcessThpMode mode) {
        return switch (mode) {
            case NONE -> 0;
            case DISABLED_EXCEPT_ADVISED -> 1;
            case DISABLED -> 2;
        };
    }

    /** Whether the kernel may use a huge order for this request in this mode (§4.2: vma_thp_disabled). */
    static boolean permits(ProcessThpMode mode, TvaType type, VmaType advice) {
        if (advice == VmaType.NOHUGEPAGE) {
            return false;
        }
        return switch (mode) {
            case NONE -> true;
            case DISABLED -> false;
            case DISABLED_EXCEPT_ADVISED -> advice == VmaType.HUGEPAGE || type == TvaType.FORCED_COLLAPSE;
        };
    }

    /** Whether the table allows any order above 0 for this cell. */
    static boolean hugeAllowed(DecisionTable table, TvaType type, VmaType advice) {
        return (table.allowed(type, advice) & ~1L) != 0;
    }

    /** Whether everything {@code mode} permits, the table allows. */
    static boolean fits(ProcessThpMode mode, DecisionTable table) {
        for (TvaType type : ENFORCED) {
            for (VmaType advice : VmaType.values()) {
                if (permits(mode, type, advice) && !hugeAllowed(table, type, advice)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The most permissive mode that fits the table and is no more permissive than {@code ceiling}. */
    static ProcessThpMode choose(DecisionTable table, ProcessThpMode ceiling) {
        for (ProcessThpMode mode : BY_PERMISSIVENESS) {
            if (restrictiveness(mode) >= restrictiveness(ceiling) && fits(mode, table)) {
                return mode;
            }
        }
        return ProcessThpMode.DISABLED;
    }

    /** Whether managed ranges should carry MADV_HUGEPAGE (else MADV_NOHUGEPAGE): the table's advised fault cell. */
    static boolean rangesHuge(DecisionTable table) {
        return hugeAllowed(table, TvaType.PAGEFAULT, VmaType.HUGEPAGE);
    }

    /** A mode in words, for logs and reports. */
    static String describe(ProcessThpMode mode) {
        return switch (mode) {
            case NONE -> "THP allowed (no prctl)";
            case DISABLED_EXCEPT_ADVISED -> "THP only where advised (prctl PR_SET_THP_DISABLE, EXCEPT_ADVISED)";
            case DISABLED -> "THP disabled (prctl PR_SET_THP_DISABLE)";
        };
    }
}
