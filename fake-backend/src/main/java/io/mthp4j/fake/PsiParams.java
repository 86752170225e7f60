package io.mthp4j.fake;

/**
 * Build-time and boot-time choices of the PSI model (kernel-semantics.md §10). The kernel's constants
 * (EXP_10s and friends) are fixed in {@link PsiGroup}; what varies between kernels and machines is here.
 *
 * @param hz         CONFIG_HZ: 250 on Debian and on our machines (read from /proc/config.gz). It sets the
 *                   jiffy, PSI_FREQ = 2*HZ+1 jiffies (the averaging period, 2.004 s at 250) and the timer
 *                   granularity. Must divide 10^9 (100, 250, 1000 ...), so that nsecs_to_jiffies is a plain
 *                   truncating division as in the kernel.
 * @param enabled    the boot parameter {@code psi=}; off: trigger writes fail with EOPNOTSUPP, no stall is
 *                   accounted, the cgroup pressure files do not exist
 * @param timerWheel whether kernel timers fire as the timer wheel rounds them (kernel/time/timer.c
 *                   calc_index: one jiffy late at level 0, rounded up to 8 jiffies at level 1, 64 at level 2);
 *                   false: a timer fires exactly at its expiry jiffy. The default (true) reproduces the
 *                   ~2.02-2.05 s first-event latency seen for a fresh cgroup (linux-interfaces.md §5.3).
 */
record PsiParams(int hz, boolean enabled, boolean timerWheel) {

    static final long NSEC_PER_SEC = 1_000_000_000L;

    PsiParams {
        if (hz <= 0 || NSEC_PER_SEC % hz != 0) {
            throw new IllegalArgumentException("HZ must divide 10^9 (e.g. 100, 250, 1000), was " + hz);
        }
    }

    /** CONFIG_HZ=250, PSI on, timer-wheel rounding: our machines. */
    static PsiParams defaults() {
        return new PsiParams(250, true, true);
    }

    /** One jiffy in nanoseconds. */
    long jiffyNanos() {
        return NSEC_PER_SEC / hz;
    }

    /** PSI_FREQ in jiffies: 2*HZ+1. */
    long psiFreqJiffies() {
        return 2L * hz + 1;
    }

    /** psi_period = jiffies_to_nsecs(PSI_FREQ). */
    long psiPeriodNanos() {
        return psiFreqJiffies() * jiffyNanos();
    }
}
