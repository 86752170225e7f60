package io.mthp4j.api;

/**
 * The VMA and mm state the THP rules read (kernel-semantics.md §4.3, §11). A {@link VmaInfo} carries them
 * as an {@code int} bit set; {@link #mask()} is the bit of each.
 */
public enum VmaFlag {
    /** {@code VM_HUGEPAGE}: the range had {@code MADV_HUGEPAGE}. */
    HUGEPAGE,
    /** {@code VM_NOHUGEPAGE}: the range had {@code MADV_NOHUGEPAGE}. */
    NOHUGEPAGE,
    /** {@code VM_NO_KHUGEPAGED} ({@code VM_SPECIAL | VM_HUGETLB}): I/O, PFN and mixed maps, hugetlb. */
    NO_KHUGEPAGED,
    /** The VMA already has an {@code anon_vma} (prepared by the first anonymous fault). */
    ANON_VMA,
    /** A DAX mapping: THP only through its own fault handler. */
    DAX,
    /** A special huge mapping (PFN map with huge support): supported orders are PMD and PUD only. */
    SPECIAL_HUGE,
    /** The file's {@code vm_ops} provide {@code huge_fault}. */
    HUGE_FAULT,
    /** {@code file_thp_enabled}: read-only THP for a regular file not open for writing. */
    FILE_THP_ENABLED,
    /** The stack VMA while {@code execve} sets it up. */
    TEMPORARY_STACK,
    /** Armed by userfaultfd: the mTHP fallback and khugepaged treat it specially. */
    UFFD_ARMED,
    /** A VMA with no mm (vdso-like): never THP. */
    NO_MM;

    private final int mask = 1 << ordinal();

    /** The bit of this flag in {@link VmaInfo#flags()}. */
    public int mask() {
        return mask;
    }

    /** The bits of the given flags. */
    public static int maskOf(VmaFlag... flags) {
        int mask = 0;
        for (VmaFlag flag : flags) {
            mask |= flag.mask;
        }
        return mask;
    }

    /** Every bit a flag set may carry. */
    public static int allMask() {
        return (1 << values().length) - 1;
    }
}
