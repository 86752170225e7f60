package io.mthp4j.core.kernel;

/**
 * Memory usage of one cgroup against the hard limit that would stop it (issue 9): what a headroom policy
 * compares with a share of the limit before reclaim and the OOM killer take over.
 *
 * @param usageBytes what counts against the limit now
 * @param limitBytes the limit, or {@link CgroupMemory#NO_LIMIT} when there is none
 * @param limit      which limit it is
 */
public record Headroom(long usageBytes, long limitBytes, Limit limit) {

    /** Where the limit comes from. */
    public enum Limit {
        /** cgroup v2 {@code memory.max}: usage is {@code memory.current}. */
        MEMORY_MAX("memory.max"),
        /** cgroup v2 {@code memory.high}, lower than {@code memory.max}: usage is {@code memory.current}. */
        MEMORY_HIGH("memory.high"),
        /** cgroup v1 {@code memory.limit_in_bytes}: usage is {@code memory.usage_in_bytes}. */
        V1_LIMIT("memory.limit_in_bytes"),
        /** The whole host (the root cgroup): usage is {@code MemTotal - MemAvailable} of {@code /proc/meminfo}. */
        MEM_TOTAL("MemTotal"),
        /** No limit is set; the share is 0. */
        NONE("no limit");

        private final String file;

        Limit(String file) {
            this.file = file;
        }

        /** The file or field the limit is read from. */
        public String file() {
            return file;
        }
    }

    public Headroom {
        java.util.Objects.requireNonNull(limit, "limit");
        if (usageBytes < 0 || limitBytes < 0) {
            throw new IllegalArgumentException("usage and limit must not be negative, were " + usageBytes + " and " + limitBytes);
        }
    }

    /** A cgroup without a limit. */
    public static Headroom unlimited(long usageBytes) {
        return new Headroom(usageBytes, CgroupMemory.NO_LIMIT, Limit.NONE);
    }

    /** Whether a limit applies. */
    public boolean limited() {
        return limitBytes != CgroupMemory.NO_LIMIT;
    }

    /** Usage as a share of the limit (0 without one; may exceed 1 for a limit lowered below usage). */
    public double share() {
        return limited() && limitBytes > 0 ? (double) usageBytes / limitBytes : limited() ? 1.0 : 0.0;
    }

    @Override
    public String toString() {
        return limited() ? io.mthp4j.api.Orders.formatSize(usageBytes) + " of " + limit.file() + " "
                + io.mthp4j.api.Orders.formatSize(limitBytes) + " (" + Math.round(share() * 100) + "%)"
                : io.mthp4j.api.Orders.formatSize(usageBytes) + ", no limit";
    }
}
