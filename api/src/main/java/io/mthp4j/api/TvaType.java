package io.mthp4j.api;

/**
 * Why the kernel asks which THP orders a VMA may use: {@code enum tva_type} of Linux 6.18
 * (kernel-semantics.md §4.1), plus the swap-in fault type of the BPF-THP series (§12, §14.5).
 * The constants are in kernel order; {@link #kernelValue()} is the value the kernel passes.
 */
public enum TvaType {
    /** {@code TVA_SMAPS}: the "THPeligible:" line of {@code /proc/<pid>/smaps}. */
    SMAPS(0),
    /** {@code TVA_PAGEFAULT}: an anonymous page fault (PMD attempt and the mTHP fallback). */
    PAGEFAULT(1),
    /** {@code TVA_KHUGEPAGED}: khugepaged registering or scanning a VMA. */
    KHUGEPAGED(2),
    /** {@code TVA_FORCED_COLLAPSE}: {@code MADV_COLLAPSE}; ignores the sysfs {@code enabled} settings. */
    FORCED_COLLAPSE(3),
    /**
     * {@code TVA_SWAP_PAGEFAULT} ({@code TVA_SWAP} in BPF-THP v7): a swap-in fault. Not in mainline 6.18,
     * where swap-in asks with {@link #PAGEFAULT}; the order gate treats it like a page fault.
     */
    SWAP_PAGEFAULT(4);

    private static final TvaType[] BY_VALUE = values();

    private final int kernelValue;

    TvaType(int kernelValue) {
        this.kernelValue = kernelValue;
    }

    /** The numeric value of the kernel's enum. */
    public int kernelValue() {
        return kernelValue;
    }

    /** Whether this is one of the fault types (the kernel's {@code in_pf}). */
    public boolean isFault() {
        return this == PAGEFAULT || this == SWAP_PAGEFAULT;
    }

    /** The type with the kernel's numeric value. */
    public static TvaType ofKernelValue(int value) {
        if (value < 0 || value >= BY_VALUE.length) {
            throw new IllegalArgumentException("no tva_type with value " + value + "; known: 0..4 (SMAPS..SWAP_PAGEFAULT)");
        }
        return BY_VALUE[value];
    }
}
