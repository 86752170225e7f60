package io.mthp4j.bench.pressure;

/**
 * A log-linear histogram of non-negative long values (latencies in nanoseconds), in the manner of HdrHistogram
 * with a fixed range: values below {@value #SUB} are counted exactly; above, each power of two
 * {@code [2^e, 2^(e+1))} is split into {@value #SUB} buckets of equal width {@code 2^(e-7)}, so a bucket is at
 * most 1/128 (0.78%) of the values in it wide. A percentile is the highest value of its bucket, capped at the
 * exact maximum: never below the true value and at most 0.78% above it. The maximum, minimum and count are exact.
 *
 * <p>{@link #record} is allocation-free (one fixed array of {@value #BUCKETS} counts, 57 KiB) and not
 * thread-safe: one histogram per thread, {@link #add} merges them afterwards.
 */
final class LatencyHistogram {

    /** Bits of linear resolution within a power of two. */
    static final int SUB_BITS = 7;
    /** Linear buckets per power of two. */
    static final int SUB = 1 << SUB_BITS;
    /** Buckets: the exact block {@code [0, 128)} and one block per exponent 7 .. 62. */
    static final int BUCKETS = (63 - SUB_BITS + 1) * SUB;

    private final long[] counts = new long[BUCKETS];
    private long count;
    private long min = Long.MAX_VALUE;
    private long max;

    /** The bucket of {@code value} (0 or more). */
    static int index(long value) {
        if (value < SUB) {
            return (int) value;
        }
        int shift = 63 - Long.numberOfLeadingZeros(value) - SUB_BITS; // 0 for [128, 256)
        return ((shift + 1) << SUB_BITS) + (int) ((value >>> shift) & (SUB - 1));
    }

    /** The lowest value of bucket {@code index}. */
    static long lowest(int index) {
        int block = index >>> SUB_BITS;
        long sub = index & (SUB - 1);
        return block == 0 ? sub : (SUB + sub) << (block - 1);
    }

    /** The highest value of bucket {@code index}. */
    static long highest(int index) {
        return index == BUCKETS - 1 ? Long.MAX_VALUE : lowest(index + 1) - 1;
    }

    /** Counts one value; a negative one (a clock that went back) counts as 0. */
    void record(long value) {
        long v = Math.max(0, value);
        counts[index(v)]++;
        count++;
        if (v > max) {
            max = v;
        }
        if (v < min) {
            min = v;
        }
    }

    /** Adds every value counted by {@code other}. */
    void add(LatencyHistogram other) {
        for (int i = 0; i < BUCKETS; i++) {
            counts[i] += other.counts[i];
        }
        count += other.count;
        max = Math.max(max, other.max);
        min = Math.min(min, other.min);
    }

    /** Forgets every value. */
    void reset() {
        java.util.Arrays.fill(counts, 0);
        count = 0;
        min = Long.MAX_VALUE;
        max = 0;
    }

    long count() {
        return count;
    }

    /** The exact maximum, 0 when empty. */
    long max() {
        return max;
    }

    /** The exact minimum, 0 when empty. */
    long min() {
        return count == 0 ? 0 : min;
    }

    /**
     * The value at {@code percentile} (0 .. 100): the smallest bucket holding the value of rank
     * {@code ceil(percentile / 100 × count)} (at least 1), reported as that bucket's highest value capped at the
     * maximum. 0 when empty.
     */
    long valueAt(double percentile) {
        if (!(percentile >= 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile " + percentile + " is not within 0 .. 100");
        }
        if (count == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(percentile * count / 100));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Math.min(highest(i), max);
            }
        }
        return max;
    }
}
