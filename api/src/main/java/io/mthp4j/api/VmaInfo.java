package io.mthp4j.api;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * What a policy and the order gate know about one VMA (kernel-semantics.md §11): its range, what backs
 * it, its flags, and the process and cgroup that own it. Immutable; a backend keeps one per VMA and
 * replaces it when the VMA changes (madvise, a cgroup move), so asking about a VMA allocates nothing.
 *
 * @param start    {@code vm_start}, inclusive
 * @param end      {@code vm_end}, exclusive
 * @param pgoff    {@code vm_pgoff}: offset into the backing file in base pages (0 for shared anonymous)
 * @param kind     what backs the VMA
 * @param flags    a bit set of {@link VmaFlag#mask()} values
 * @param fileSize {@code i_size} of the backing file in bytes (0 for private anonymous memory); the shmem
 *                 {@code within_size} rules read it
 * @param pid      owning process (the mm's owner), 0 if none
 * @param cgroup   the memory cgroup of the owner, {@link CgroupRef#NONE} if unknown
 */
public record VmaInfo(long start, long end, long pgoff, VmaKind kind, int flags, long fileSize, int pid, CgroupRef cgroup) {

    public VmaInfo {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(cgroup, "cgroup");
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("a VMA needs 0 <= start < end, was [0x" + Long.toHexString(start)
                    + ", 0x" + Long.toHexString(end) + ")");
        }
        if (pgoff < 0 || fileSize < 0 || pid < 0) {
            throw new IllegalArgumentException("pgoff, fileSize and pid must not be negative, were " + pgoff + ", "
                    + fileSize + ", " + pid);
        }
        if ((flags & ~VmaFlag.allMask()) != 0) {
            throw new IllegalArgumentException("unknown VMA flag bits 0x" + Integer.toHexString(flags & ~VmaFlag.allMask()));
        }
        if ((flags & VmaFlag.HUGEPAGE.mask()) != 0 && (flags & VmaFlag.NOHUGEPAGE.mask()) != 0) {
            throw new IllegalArgumentException("a VMA cannot have both VM_HUGEPAGE and VM_NOHUGEPAGE"
                    + " (MADV_HUGEPAGE clears VM_NOHUGEPAGE and vice versa)");
        }
    }

    /** A private anonymous VMA with no advice, no owner and no anon_vma yet. */
    public static VmaInfo anon(long start, long end) {
        return new VmaInfo(start, end, 0, VmaKind.ANON, 0, 0, 0, CgroupRef.NONE);
    }

    /** A shared anonymous (shmem) VMA of {@code end - start} bytes, no advice. */
    public static VmaInfo sharedAnon(long start, long end) {
        return new VmaInfo(start, end, 0, VmaKind.SHMEM, 0, end - start, 0, CgroupRef.NONE);
    }

    /** Length in bytes. */
    public long length() {
        return end - start;
    }

    /** Whether the flag is set. */
    public boolean has(VmaFlag flag) {
        return (flags & flag.mask()) != 0;
    }

    /** The flags as a set (allocates; for display). */
    public Set<VmaFlag> flagSet() {
        EnumSet<VmaFlag> set = EnumSet.noneOf(VmaFlag.class);
        for (VmaFlag flag : VmaFlag.values()) {
            if (has(flag)) {
                set.add(flag);
            }
        }
        return set;
    }

    /** The advice as BPF-THP v7 passes it ({@code bpf_thp_vma_type}). */
    public VmaType vmaType() {
        return VmaType.of(flags);
    }

    /** The same VMA with these flags set. */
    public VmaInfo withFlags(VmaFlag... add) {
        return withFlagBits(flags | VmaFlag.maskOf(add));
    }

    /** The same VMA with these flags cleared. */
    public VmaInfo withoutFlags(VmaFlag... remove) {
        return withFlagBits(flags & ~VmaFlag.maskOf(remove));
    }

    /** The same VMA with exactly these flag bits. */
    public VmaInfo withFlagBits(int newFlags) {
        return newFlags == flags ? this : new VmaInfo(start, end, pgoff, kind, newFlags, fileSize, pid, cgroup);
    }

    /**
     * The same VMA after {@code madvise(advice)} changed its flags ({@code hugepage_madvise}, §7):
     * HUGEPAGE sets VM_HUGEPAGE and clears VM_NOHUGEPAGE, NOHUGEPAGE the reverse, COLLAPSE changes nothing.
     */
    public VmaInfo advised(Madvice advice) {
        return switch (advice) {
            case HUGEPAGE -> withFlagBits((flags & ~VmaFlag.NOHUGEPAGE.mask()) | VmaFlag.HUGEPAGE.mask());
            case NOHUGEPAGE -> withFlagBits((flags & ~VmaFlag.HUGEPAGE.mask()) | VmaFlag.NOHUGEPAGE.mask());
            case COLLAPSE -> this;
        };
    }

    /** The same VMA covering another range (after a split), with the page offset moved along. */
    public VmaInfo withRange(long newStart, long newEnd, int pageShift) {
        long newPgoff = kind == VmaKind.ANON ? pgoff : pgoff + ((newStart - start) >> pageShift);
        return new VmaInfo(newStart, newEnd, newPgoff, kind, flags, fileSize, pid, cgroup);
    }

    /** The same VMA owned by another process or cgroup. */
    public VmaInfo withOwner(int newPid, CgroupRef newCgroup) {
        return new VmaInfo(start, end, pgoff, kind, flags, fileSize, newPid, newCgroup);
    }

    /** The same VMA with another page offset. */
    public VmaInfo withPgoff(long newPgoff) {
        return new VmaInfo(start, end, newPgoff, kind, flags, fileSize, pid, cgroup);
    }

    /** The same VMA backed by a file of another size. */
    public VmaInfo withFileSize(long newFileSize) {
        return new VmaInfo(start, end, pgoff, kind, flags, newFileSize, pid, cgroup);
    }

    @Override
    public String toString() {
        return kind + " [0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end) + ") pgoff " + pgoff
                + " " + flagSet() + (pid != 0 ? " pid " + pid : "") + (cgroup.id() != 0 ? " cgroup " + cgroup : "");
    }
}
