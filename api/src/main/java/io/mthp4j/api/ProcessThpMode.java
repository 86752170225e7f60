package io.mthp4j.api;

/**
 * A process's THP state set with {@code prctl(PR_SET_THP_DISABLE)} (kernel-semantics.md §9). It is
 * inherited by {@code fork()} and kept across {@code execve()}.
 */
public enum ProcessThpMode {
    /** No prctl in effect: the system settings decide. {@code PR_GET_THP_DISABLE} returns 0. */
    NONE(0),
    /**
     * {@code MMF_DISABLE_THP_COMPLETELY} ({@code PR_SET_THP_DISABLE, 1, 0}): no THP for any VMA, not even
     * with MADV_HUGEPAGE or MADV_COLLAPSE. {@code PR_GET_THP_DISABLE} returns 1.
     */
    DISABLED(1),
    /**
     * {@code MMF_DISABLE_THP_EXCEPT_ADVISED} ({@code PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED}):
     * THP only in VMAs with MADV_HUGEPAGE (and for MADV_COLLAPSE). {@code PR_GET_THP_DISABLE} returns 3.
     */
    DISABLED_EXCEPT_ADVISED(3);

    /** {@code PR_SET_THP_DISABLE}. */
    public static final int PR_SET_THP_DISABLE = 41;
    /** {@code PR_GET_THP_DISABLE}. */
    public static final int PR_GET_THP_DISABLE = 42;
    /** {@code PR_THP_DISABLE_EXCEPT_ADVISED}, the flag passed as {@code arg3}. */
    public static final int PR_THP_DISABLE_EXCEPT_ADVISED = 1 << 1;

    private final int getValue;

    ProcessThpMode(int getValue) {
        this.getValue = getValue;
    }

    /** What {@code prctl(PR_GET_THP_DISABLE)} returns in this state. */
    public int prGetValue() {
        return getValue;
    }

    /** {@code arg2} of the {@code PR_SET_THP_DISABLE} call that sets this state. */
    public int prSetArg2() {
        return this == NONE ? 0 : 1;
    }

    /** {@code arg3} (flags) of the {@code PR_SET_THP_DISABLE} call that sets this state. */
    public int prSetArg3() {
        return this == DISABLED_EXCEPT_ADVISED ? PR_THP_DISABLE_EXCEPT_ADVISED : 0;
    }

    /** The {@code THP_enabled:} value of {@code /proc/<pid>/status}: 0 only when disabled completely. */
    public int statusThpEnabled() {
        return this == DISABLED ? 0 : 1;
    }

    /** The state {@code PR_GET_THP_DISABLE} reports with {@code value}. */
    public static ProcessThpMode ofPrGetValue(int value) {
        for (ProcessThpMode mode : values()) {
            if (mode.getValue == value) {
                return mode;
            }
        }
        throw new IllegalArgumentException("PR_GET_THP_DISABLE returned " + value + "; known values are 0, 1 and 3");
    }
}
