package io.mthp4j.core.kernel;

import io.mthp4j.api.CgroupRef;
import java.util.List;

/**
 * A cgroup hierarchy, as the controller walks it. A cgroup that vanishes between two calls makes the second
 * fail with {@code ENOENT}; callers skip it for that scan.
 */
public interface CgroupTree {

    /** The root of the hierarchy. */
    CgroupRef root();

    /**
     * {@code from} and all its descendants, pre-order (parents before children), as a scan sees them now.
     *
     * @throws io.mthp4j.api.KernelException ENOENT if {@code from} no longer exists
     */
    List<CgroupRef> walk(CgroupRef from);

    /** Whether the cgroup directly holds tasks (its {@code cgroup.procs} is not empty). */
    boolean hasTasks(CgroupRef cgroup);

    /** The cgroup's memory counters ({@code memory.current}, {@code memory.stat}, limits). */
    CgroupMemory memory(CgroupRef cgroup);

    /** The cgroup's memory pressure ({@code memory.pressure}; for the root, {@code /proc/pressure/memory}). */
    Pressure pressure(CgroupRef cgroup);
}
