package io.mthp4j.core.kernel;

/**
 * One {@code *.pressure} file (kernel-semantics.md §10.1): the {@code some} and {@code full} lines.
 *
 * @param some at least one task stalled
 * @param full all non-idle tasks stalled
 */
public record Pressure(Line some, Line full) {

    /**
     * One line: averages in percent, total stall in microseconds (cumulative, monotonic).
     */
    public record Line(double avg10, double avg60, double avg300, long totalMicros) {
    }
}
