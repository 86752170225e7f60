package io.mthp4j.core.kernel;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;

/**
 * One process's THP controls, the prctl state (kernel-semantics.md §9) and madvise (§7), and what a process
 * needs to watch itself: its own cgroup and its own memory.
 */
public interface ThpProcess {

    /** Its pid. */
    int pid();

    /**
     * The cgroup of {@link KernelBackend#cgroups()} this process is in (the {@code 0::} line of
     * {@code /proc/<pid>/cgroup}, cgroup v2).
     *
     * @throws io.mthp4j.api.KernelException ENOENT if the process is in no cgroup of that hierarchy
     */
    CgroupRef cgroup();

    /**
     * Its resident anonymous and shmem memory in bytes ({@code RssAnon + RssShmem} of {@code /proc/<pid>/status}):
     * what mthp_ext's minimum compares (§15.5), for one process instead of a cgroup.
     */
    long anonShmemBytes();

    /** {@code prctl(PR_GET_THP_DISABLE)}. */
    ProcessThpMode thpMode();

    /** {@code prctl(PR_SET_THP_DISABLE, ...)} with the arguments of {@code mode}. */
    void setThpMode(ProcessThpMode mode);

    /**
     * {@code madvise(start, length, advice)} on this process's memory.
     *
     * @throws io.mthp4j.api.KernelException EINVAL (unaligned, or MADV_COLLAPSE refused), ENOMEM (unmapped)
     */
    void madvise(long start, long length, Madvice advice);
}
