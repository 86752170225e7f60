package io.mthp4j.core.kernel;

/**
 * Memory counters of one cgroup, in bytes (v2 {@code memory.current} and {@code memory.stat}; on cgroup v1
 * hosts the Linux backend maps the v1 files onto these). A limit of {@link #NO_LIMIT} means {@code max}.
 *
 * @param current {@code memory.current}
 * @param anon    {@code memory.stat anon}
 * @param shmem   {@code memory.stat shmem}
 * @param file    {@code memory.stat file}
 * @param anonThp {@code memory.stat anon_thp} (PMD-mapped anon only)
 * @param high    {@code memory.high}
 * @param max     {@code memory.max}
 */
public record CgroupMemory(long current, long anon, long shmem, long file, long anonThp, long high, long max) {

    /** The value of a limit set to {@code max}. */
    public static final long NO_LIMIT = Long.MAX_VALUE;

    /** anon + shmem: what mthp_ext compares with its minimum (kernel-semantics.md §15.5). */
    public long anonAndShmem() {
        return anon + shmem;
    }
}
