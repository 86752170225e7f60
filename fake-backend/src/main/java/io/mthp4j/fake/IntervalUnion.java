package io.mthp4j.fake;

/**
 * The union of half-open time intervals that arrive in non-decreasing start order, walked forward in time:
 * the state of one PSI bucket (stalled or not) and the time spent in it. Disjoint pending intervals sit in
 * a ring buffer that grows by doubling, so steady-state use allocates nothing. An interval may be
 * open-ended ({@link Long#MAX_VALUE}) until {@link #closeOpenEnd} cuts it.
 */
final class IntervalUnion {

    private long[] starts = new long[8];
    private long[] ends = new long[8];
    private int head;
    private int size;
    private boolean active;
    private long done;
    private long lastStart = Long.MIN_VALUE;

    /** Adds {@code [start, end)}; overlapping the last pending interval merges with it. */
    void add(long start, long end) {
        if (start < lastStart) {
            throw new IllegalArgumentException("interval starts must not decrease: " + start + " < " + lastStart);
        }
        lastStart = start;
        if (size > 0) {
            int last = index(size - 1);
            if (start < ends[last]) {
                ends[last] = Math.max(ends[last], end);
                return;
            }
        }
        if (size == starts.length) {
            grow();
        }
        int i = index(size++);
        starts[i] = start;
        ends[i] = end;
    }

    /** Ends the open-ended last interval at {@code end} (not before its start). */
    void closeOpenEnd(long end) {
        if (size == 0) {
            return;
        }
        int last = index(size - 1);
        if (ends[last] == Long.MAX_VALUE) {
            ends[last] = Math.max(end, starts[last]);
        }
    }

    /** Start of the latest interval added, or {@link Long#MIN_VALUE}. */
    long lastStart() {
        return lastStart;
    }

    /** End of the latest pending interval, or {@link Long#MIN_VALUE} if none is pending. */
    long lastEnd() {
        return size == 0 ? Long.MIN_VALUE : ends[index(size - 1)];
    }

    /** The next start or end not yet processed, or {@link Long#MAX_VALUE}. */
    long nextBoundary() {
        if (size == 0) {
            return Long.MAX_VALUE;
        }
        return active ? ends[head] : starts[head];
    }

    /** Processes every boundary at {@code t}; callers process boundaries in time order. */
    void processBoundariesAt(long t) {
        while (size > 0 && nextBoundary() == t) {
            if (active) {
                done += ends[head] - starts[head];
                head = (head + 1) % starts.length;
                size--;
                active = false;
            } else {
                active = true;
            }
        }
    }

    /** Whether {@code t}, the time of the last processed boundary or later, is inside an interval. */
    boolean active() {
        return active;
    }

    /** Time inside the union up to {@code t}; every boundary at or before {@code t} must be processed. */
    long measureUpTo(long t) {
        return active ? done + (t - starts[head]) : done;
    }

    private int index(int k) {
        return (head + k) % starts.length;
    }

    private void grow() {
        long[] s = new long[starts.length * 2];
        long[] e = new long[ends.length * 2];
        for (int k = 0; k < size; k++) {
            s[k] = starts[index(k)];
            e[k] = ends[index(k)];
        }
        starts = s;
        ends = e;
        head = 0;
    }
}
