package io.mthp4j.api;

/** The THP advice of {@code madvise(2)} (kernel-semantics.md §7), with the values of x86-64 and arm64. */
public enum Madvice {
    /** {@code MADV_HUGEPAGE}: set VM_HUGEPAGE, clear VM_NOHUGEPAGE, register the mm with khugepaged. */
    HUGEPAGE(14),
    /** {@code MADV_NOHUGEPAGE}: set VM_NOHUGEPAGE, clear VM_HUGEPAGE; existing huge folios stay. */
    NOHUGEPAGE(15),
    /** {@code MADV_COLLAPSE}: collapse the range to PMD folios now, whatever sysfs {@code enabled} says. */
    COLLAPSE(25);

    private final int value;

    Madvice(int value) {
        this.value = value;
    }

    /** The {@code advice} argument of {@code madvise(2)}. */
    public int value() {
        return value;
    }
}
