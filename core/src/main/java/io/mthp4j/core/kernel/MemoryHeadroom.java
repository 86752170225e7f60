package io.mthp4j.core.kernel;

import io.mthp4j.api.CgroupRef;

/**
 * The headroom signal next to PSI (issue 9): a cgroup's memory usage against its hard limit, read now or
 * watched for crossings. Implemented by both backends; the limit is the one that stops the cgroup:
 * <ul>
 *   <li>cgroup v2: the lower of {@code memory.max} and {@code memory.high}, against {@code memory.current};</li>
 *   <li>cgroup v1 (the memory controller on our machines, linux-interfaces.md §4): {@code memory.limit_in_bytes}
 *       against {@code memory.usage_in_bytes}, of the v1 cgroup at the same path;</li>
 *   <li>the root cgroup: the host's {@code MemTotal}, against {@code MemTotal - MemAvailable}.</li>
 * </ul>
 * A limit set only on an ancestor is not the cgroup's own: the headroom policies pass a parent's state down.
 */
public interface MemoryHeadroom {

    /**
     * Usage and limit now.
     *
     * @throws io.mthp4j.api.KernelException ENOENT if the cgroup (or its memory controller files) is gone
     */
    Headroom sample(CgroupRef cgroup);

    /**
     * Watches {@code cgroup} for usage crossing any of {@code shares} (fractions of its limit, in (0, 1]).
     *
     * @throws io.mthp4j.api.KernelException ENOENT if the cgroup does not exist
     * @throws IllegalArgumentException      for no shares or a share outside (0, 1]
     */
    HeadroomWatch watch(CgroupRef cgroup, double... shares);

    /** Checks shares for {@link #watch}: at least one, each in (0, 1]. Returns a sorted copy. */
    static double[] checkShares(double... shares) {
        if (shares == null || shares.length == 0) {
            throw new IllegalArgumentException("a headroom watch needs at least one share of the limit, e.g. 0.8");
        }
        double[] sorted = shares.clone();
        java.util.Arrays.sort(sorted);
        for (double s : sorted) {
            if (!(s > 0 && s <= 1)) {
                throw new IllegalArgumentException("a watched share of the limit must be in (0, 1], was " + s);
            }
        }
        return sorted;
    }

    /** How many of {@code thresholds} (ascending) are at or below {@code usage}: crossing one changes it. */
    static int band(long usage, long[] thresholds) {
        int n = 0;
        while (n < thresholds.length && usage >= thresholds[n]) {
            n++;
        }
        return n;
    }

    /** The byte thresholds of {@code shares} of {@code limitBytes} (none without a limit). */
    static long[] thresholds(long limitBytes, double[] shares) {
        if (limitBytes == CgroupMemory.NO_LIMIT) {
            return new long[0];
        }
        long[] out = new long[shares.length];
        for (int i = 0; i < shares.length; i++) {
            out[i] = threshold(limitBytes, shares[i]);
        }
        return out;
    }

    /**
     * {@code ceil(limit × share)}: the byte count at which usage counts as reaching the share; the one rule that
     * headroom policies and watches share, so that a watch fires exactly where the policy switches.
     */
    static long threshold(long limitBytes, double share) {
        return (long) Math.ceil(limitBytes * share);
    }
}
