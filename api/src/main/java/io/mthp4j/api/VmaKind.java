package io.mthp4j.api;

/** What backs a VMA, in the terms the THP rules distinguish (kernel-semantics.md §2, §4.3, §8). */
public enum VmaKind {
    /** Anonymous private memory: no {@code vm_ops} ({@code vma_is_anonymous}). Per-size anon settings apply. */
    ANON,
    /**
     * Anonymous shared memory ({@code MAP_SHARED|MAP_ANONYMOUS}, {@code vma_is_anon_shmem}): shmem, not
     * anon; the per-size {@code shmem_enabled} settings apply.
     */
    SHMEM,
    /**
     * A file on shmem/tmpfs other than anonymous shared memory: memfd (the ZGC heap), SysV shm, tmpfs files.
     * The mount's {@code huge=} rule applies, which for the internal mount follows top-level
     * {@code shmem_enabled}.
     */
    TMPFS,
    /** A regular file on another file system (page cache); DAX and special mappings are files with flags. */
    FILE;

    /** Whether the kernel's {@code shmem_file(vma->vm_file)} is true. */
    public boolean isShmemFile() {
        return this == SHMEM || this == TMPFS;
    }
}
