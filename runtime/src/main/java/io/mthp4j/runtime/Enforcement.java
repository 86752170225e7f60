package io.mthp4j.runtime;

/** How a {@link Registration} makes the kernel follow its policy. */
public enum Enforcement {
    /**
     * The kernel has a BPF-THP hook and the mthp4j program is loaded (its pinned policy map exists): the
     * registration publishes this process's cgroup decisions to the map and keeps them fresh.
     */
    PUBLISH,
    /**
     * A stock kernel: the registration watches its own cgroup's memory pressure and its own memory, and switches
     * this process's prctl mode and the advice of the ranges it was told about.
     */
    IN_PROCESS
}
