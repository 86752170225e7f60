/**
 * The bridge from mthp4j to a real Linux kernel through JNA: bpf(2) and the pinned policy map, prctl,
 * madvise, PSI triggers, sysfs and cgroup files, and the capability probe. It implements the backend
 * interfaces of {@code io.mthp4j.core.kernel} and runs their contract suite on our machines.
 *
 * <p>Not built yet: this module holds only its build definition so far (see the linux-backend issue).
 */
package io.mthp4j.linux;
