package io.mthp4j.fake;

/**
 * What one PMD entry of a process maps (kernel-semantics.md §11: "page tables per PMD range"): nothing, the
 * huge zero page, a PMD-mapped folio, or a table of PTEs. A PTE is one byte, so touched memory costs about a
 * byte per page: {@link #NONE}, {@link #ZERO} (the shared zero page), {@link #SWAP} (a swap entry), or
 * {@link #PRESENT} with the order of the folio it maps and the {@link #SHARED}, {@link #PARTIAL} and
 * {@link #YOUNG} bits.
 *
 * <p>A folio is naturally aligned in the table: an exclusive folio of order {@code o} is the set of present,
 * unshared PTEs of order {@code o} in the aligned block of {@code 2^o} PTEs. Folios mapped by more than one
 * process (after fork) are {@link SharedFolio}s, found through {@link #shared}.
 */
final class PmdTable {

    static final byte NONE = 0;
    static final byte ZERO = 1;
    /**
     * A swap entry: {@code SWAP | order}, where order is that of the folio it was swapped out from (its slots are
     * contiguous, which is what mTHP swap-in needs, kernel-semantics.md §12).
     */
    static final byte SWAP = 0x40;
    static final int PRESENT = 0x80;
    static final int SHARED = 0x40;
    /** On every mapped PTE of an exclusive folio that is partially mapped and queued for deferred split. */
    static final int PARTIAL = 0x20;
    /** Accessed since reclaim last looked (the second-chance bit of the reclaim clock). */
    static final int YOUNG = 0x10;
    static final int ORDER = 0x0F;

    static final byte PMD_NONE = 0;
    static final byte PMD_HUGE_ZERO = 1;
    static final byte PMD_FOLIO = 2;

    /** The PMD index (address >> PMD shift). */
    final long index;
    /** Whether the range belongs to a shmem mapping: its present PTEs map page-cache folios it does not own. */
    final boolean shmem;
    /** PTEs, or null while the PMD entry is none or maps a huge page. */
    byte[] pte;
    /** What the PMD entry maps when {@link #pte} is null. */
    byte pmd = PMD_NONE;
    boolean pmdYoung;
    /** The PMD-mapped folio when it is shared with another process. */
    SharedFolio pmdShared;
    /** The memcg charged for the exclusive pages of this table. */
    Memcg owner;
    /** Per-PTE owners, once pages of this table are charged to different memcgs (after a cgroup move). */
    Memcg[] owners;
    /** Per-PTE shared folios, for PTEs with {@link #SHARED}. */
    SharedFolio[] shared;

    PmdTable(long index, boolean shmem) {
        this.index = index;
        this.shmem = shmem;
    }

    static boolean present(int b) {
        return (b & PRESENT) != 0;
    }

    static int order(int b) {
        return b & ORDER;
    }

    /** Whether PTE value {@code b} is a swap entry. */
    static boolean swap(int b) {
        return (b & (PRESENT | SWAP)) == SWAP;
    }

    /** Whether PTE value {@code b} maps a page of an exclusive folio of {@code order}. */
    static boolean exclusiveOf(int b, int order) {
        return (b & (PRESENT | SHARED)) == PRESENT && (b & ORDER) == order;
    }

    Memcg ownerOf(int i) {
        return owners != null && owners[i] != null ? owners[i] : owner;
    }

    /** Records that PTEs {@code [from, from + n)} are charged to {@code memcg}. */
    void setOwner(int from, int n, Memcg memcg) {
        if (owner == null) {
            owner = memcg;
        }
        if (memcg == owner && owners == null) {
            return;
        }
        if (owners == null) {
            owners = new Memcg[pte == null ? 1 : pte.length];
        }
        for (int i = from; i < from + n && i < owners.length; i++) {
            owners[i] = memcg == owner ? null : memcg;
        }
    }

    /** Whether all {@code n} PTEs from {@code from} are none ({@code pte_range_none}). */
    boolean rangeNone(int from, int n) {
        for (int i = from; i < from + n; i++) {
            if (pte[i] != NONE) {
                return false;
            }
        }
        return true;
    }
}
