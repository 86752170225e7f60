package io.mthp4j.api;

/**
 * The VMA's THP advice as BPF-THP v7 passes it to {@code thp_get_order}: {@code enum bpf_thp_vma_type}
 * (kernel-semantics.md §14.2).
 */
public enum VmaType {
    /** {@code BPF_THP_VM_NONE}: no advice. */
    NONE,
    /** {@code BPF_THP_VM_HUGEPAGE}: {@code VM_HUGEPAGE} is set. */
    HUGEPAGE,
    /** {@code BPF_THP_VM_NOHUGEPAGE}: {@code VM_NOHUGEPAGE} is set. */
    NOHUGEPAGE;

    private static final VmaType[] VALUES = values();

    /** The kernel's numeric value (0, 1, 2). */
    public int kernelValue() {
        return ordinal();
    }

    /** The type of a VMA flag set: HUGEPAGE wins over NOHUGEPAGE, as in the v7 wrapper. */
    public static VmaType of(int vmaFlags) {
        if ((vmaFlags & VmaFlag.HUGEPAGE.mask()) != 0) {
            return HUGEPAGE;
        }
        return (vmaFlags & VmaFlag.NOHUGEPAGE.mask()) != 0 ? NOHUGEPAGE : NONE;
    }

    /** The type with the kernel's numeric value. */
    public static VmaType ofKernelValue(int value) {
        if (value < 0 || value >= VALUES.length) {
            throw new IllegalArgumentException("no bpf_thp_vma_type with value " + value + "; known: 0..2");
        }
        return VALUES[value];
    }
}
