package io.mthp4j.fake;

import io.mthp4j.core.kernel.Pressure;

/**
 * The memory PSI state of one cgroup (or, for the root, the system): stall intervals merged into some and
 * full totals. Interim model: totals only, averages stay 0 (kernel-semantics.md §10.1).
 */
final class PsiGroup {

    private final int hz;
    private long someNanos;
    private long fullNanos;
    private long lastEnd;

    PsiGroup(int hz) {
        this.hz = hz;
    }

    /** A stall of every task in the group from {@code start} to {@code end} (counts as some and full). */
    void stall(long start, long end) {
        long from = Math.max(start, lastEnd);
        if (end > from) {
            someNanos += end - from;
            fullNanos += end - from;
            lastEnd = end;
        }
    }

    long someNanos() {
        return someNanos;
    }

    long fullNanos() {
        return fullNanos;
    }

    void advanceTo(long now) {
        // averages: not modelled yet
    }

    Pressure pressure() {
        return new Pressure(new Pressure.Line(0, 0, 0, someNanos / 1000), new Pressure.Line(0, 0, 0, fullNanos / 1000));
    }

    String render() {
        return "some avg10=0.00 avg60=0.00 avg300=0.00 total=" + someNanos / 1000 + "\n"
                + "full avg10=0.00 avg60=0.00 avg300=0.00 total=" + fullNanos / 1000 + "\n";
    }
}
