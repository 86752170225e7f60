package io.mthp4j.core.kernel;

import io.mthp4j.api.PageGeometry;

/**
 * The kernel as {@code core} sees it: the few interfaces through which mthp4j reads THP settings, cgroups,
 * memory pressure and process state, and publishes decisions. The fake kernel and the Linux backend both
 * implement it, and the contract suite in this module's test-jar runs against each.
 *
 * <p>Everything is in the kernel's own terms (sysfs files, cgroups, PSI triggers, prctl, madvise); nothing
 * here knows a file system path or JNA. Failures are {@link io.mthp4j.api.KernelException}s carrying the
 * errno the real kernel gives.
 */
public interface KernelBackend {

    /** The page geometry of this kernel. */
    PageGeometry geometry();

    /** The THP sysfs files. */
    ThpSysfs thp();

    /** The cgroup hierarchy that carries pressure (cgroup v2). */
    CgroupTree cgroups();

    /** PSI triggers. */
    Psi psi();

    /** Memory usage against hard limits, read or watched (the headroom signal next to PSI). */
    MemoryHeadroom headroom();

    /** The calling process (on Linux this JVM; on the fake kernel the process the test acts as). */
    ThpProcess currentProcess();

    /** Where published decisions go. */
    DecisionSink decisions();

    /** {@code CLOCK_BOOTTIME} in nanoseconds: the clock decision expiry is measured on. */
    long bootTimeNanos();
}
