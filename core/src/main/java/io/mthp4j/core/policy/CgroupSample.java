package io.mthp4j.core.policy;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.core.kernel.Headroom;
import java.util.Objects;

/**
 * What the controller read for one cgroup in one scan (kernel-semantics.md §15.5): its cumulative
 * {@code full} memory stall and its anon + shmem bytes, and, for a policy that asks for it, its usage against its
 * hard limit. A cgroup that directly holds no tasks is not read for stall and memory: mthp_ext's scanner skips
 * it, and those numbers are 0; its headroom is read (a limit on a taskless parent binds its children).
 *
 * @param cgroup          the cgroup
 * @param parentId        id of its parent in the scanned hierarchy, 0 for the scan's root
 * @param hasTasks        whether it directly holds tasks (its {@code cgroup.procs} is not empty)
 * @param fullStallMicros cumulative {@code full} stall from {@code memory.pressure}, in microseconds
 * @param anonShmemBytes  {@code memory.stat} anon + shmem in bytes; 0 when unknown (no memory controller)
 * @param headroom        usage against the hard limit ({@link #NOT_READ} unless the policy asks for it)
 */
public record CgroupSample(CgroupRef cgroup, long parentId, boolean hasTasks, long fullStallMicros, long anonShmemBytes,
                           Headroom headroom) {

    /** The headroom of a sample that did not read it: no limit known. */
    public static final Headroom NOT_READ = Headroom.unlimited(0);

    public CgroupSample {
        Objects.requireNonNull(cgroup, "cgroup");
        Objects.requireNonNull(headroom, "headroom");
        if (parentId < 0 || fullStallMicros < 0 || anonShmemBytes < 0) {
            throw new IllegalArgumentException("parentId, fullStallMicros and anonShmemBytes must not be negative, were "
                    + parentId + ", " + fullStallMicros + ", " + anonShmemBytes);
        }
    }

    /** A sample without headroom. */
    public CgroupSample(CgroupRef cgroup, long parentId, boolean hasTasks, long fullStallMicros, long anonShmemBytes) {
        this(cgroup, parentId, hasTasks, fullStallMicros, anonShmemBytes, NOT_READ);
    }

    /** This sample with {@code value} as its headroom. */
    public CgroupSample withHeadroom(Headroom value) {
        return new CgroupSample(cgroup, parentId, hasTasks, fullStallMicros, anonShmemBytes, value);
    }

    /** A cgroup with tasks, as read in a scan. */
    public static CgroupSample of(CgroupRef cgroup, long parentId, long fullStallMicros, long anonShmemBytes) {
        return new CgroupSample(cgroup, parentId, true, fullStallMicros, anonShmemBytes);
    }

    /** A cgroup without tasks of its own: not read. */
    public static CgroupSample taskless(CgroupRef cgroup, long parentId) {
        return new CgroupSample(cgroup, parentId, false, 0, 0);
    }
}
