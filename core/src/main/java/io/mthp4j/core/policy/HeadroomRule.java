package io.mthp4j.core.policy;

import io.mthp4j.core.kernel.MemoryHeadroom;

import io.mthp4j.core.kernel.Headroom;

/**
 * The headroom rule with its hysteresis (issue 9), shared by {@link HeadroomPolicy} and the headroom option of
 * {@link PressurePolicy}: a cgroup is <em>over</em> once its usage reaches {@code high} × its limit, and stays
 * over until usage has been below {@code low} × the limit for {@code quietScans} consecutive scans. A cgroup
 * whose parent is over counts as over too (its charges count against the parent's limit), without changing its
 * own state. Immutable and pure.
 *
 * @param high       share of the limit at which huge orders stop, in (0, 1]
 * @param low        share below which they may come back, in (0, high]
 * @param quietScans consecutive scans below {@code low} needed before they come back (0 and 1: the first such scan)
 */
record HeadroomRule(double high, double low, int quietScans) {

    /** Before any reading: not over. */
    static final State CLEAR = new State(false, 0, false);

    /**
     * What the rule keeps per cgroup.
     *
     * @param over      this cgroup's own usage holds it over
     * @param quiet     consecutive scans below {@code low} while over
     * @param effective over, or its parent was over
     */
    record State(boolean over, int quiet, boolean effective) {
    }

    HeadroomRule {
        if (!(high > 0 && high <= 1)) {
            throw new IllegalArgumentException("the headroom share (high) must be in (0, 1], was " + high);
        }
        if (!(low > 0 && low <= high)) {
            throw new IllegalArgumentException("the lower headroom share must be in (0, high = " + high + "], was " + low
                    + "; usage must fall below it before huge orders come back");
        }
        if (quietScans < 0) {
            throw new IllegalArgumentException("quiet scans must be 0 or more, was " + quietScans);
        }
    }

    /** The shares a watch should report crossings of. */
    double[] shares() {
        return low == high ? new double[] {high} : new double[] {low, high};
    }

    /** One scan: {@code prev} (null: first), whether the parent is over, and the headroom just read. */
    State step(State prev, boolean parentOver, Headroom headroom) {
        State p = prev == null ? CLEAR : prev;
        boolean over;
        int quiet = 0;
        if (headroom.limited() && headroom.usageBytes() >= threshold(headroom.limitBytes(), high)) {
            over = true;
        } else if (p.over()) {
            if (headroom.limited() && headroom.usageBytes() >= threshold(headroom.limitBytes(), low)) {
                over = true; // between the shares: still over, and the quiet count starts again
            } else {
                quiet = p.quiet() + 1;
                over = quiet < quietScans;
                quiet = over ? quiet : 0;
            }
        } else {
            over = false;
        }
        return new State(over, quiet, over || parentOver);
    }

    /** {@code ceil(limit × share)}: the byte count at which usage counts as reaching the share. */
    static long threshold(long limitBytes, double share) {
        return MemoryHeadroom.threshold(limitBytes, share);
    }
}
