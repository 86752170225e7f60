/**
 * The bridge from mthp4j to a real Linux kernel through JNA: bpf(2) and the pinned policy map, prctl,
 * madvise, PSI triggers, sysfs and cgroup files, the folio census and the capability probe. {@link
 * io.mthp4j.linux.LinuxKernel} implements the backend interfaces of {@code io.mthp4j.core.kernel} and passes
 * their contract suite; see docs/linux-backend.md. Only x86-64 and aarch64 are supported (syscall numbers).
 */
package io.mthp4j.linux;
