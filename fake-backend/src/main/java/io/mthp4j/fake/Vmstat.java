package io.mthp4j.fake;

import java.util.List;

/**
 * The {@code /proc/vmstat} counters the fake kernel moves (kernel-semantics.md §3.3, §5.5, §6): the THP
 * counters, which count the PMD order only, and the swap and fault counters the pressure model moves.
 * Counters are changed under the kernel lock.
 */
final class Vmstat {

    /** Names in the order {@code /proc/vmstat} prints them (6.18). */
    static final List<String> NAMES = List.of(
            "nr_anon_pages", "nr_shmem", "nr_anon_transparent_hugepages", "nr_shmem_hugepages",
            "nr_shmem_pmdmapped", "nr_swapcached",
            "pgpgin", "pgpgout", "pswpin", "pswpout", "pgfault", "pgmajfault",
            "thp_migration_success", "thp_migration_fail", "thp_migration_split",
            "thp_fault_alloc", "thp_fault_fallback", "thp_fault_fallback_charge",
            "thp_collapse_alloc", "thp_collapse_alloc_failed",
            "thp_file_alloc", "thp_file_fallback", "thp_file_fallback_charge", "thp_file_mapped",
            "thp_split_page", "thp_split_page_failed", "thp_deferred_split_page", "thp_underused_split_page",
            "thp_split_pmd", "thp_scan_exceed_none_pte", "thp_scan_exceed_swap_pte", "thp_scan_exceed_share_pte",
            "thp_split_pud", "thp_zero_page_alloc", "thp_zero_page_alloc_failed", "thp_swpout",
            "thp_swpout_fallback");

    static final int NR_ANON_PAGES = 0;
    static final int NR_SHMEM = 1;
    static final int NR_ANON_TRANSPARENT_HUGEPAGES = 2;
    static final int NR_SHMEM_HUGEPAGES = 3;
    static final int PSWPIN = 8;
    static final int PSWPOUT = 9;
    static final int PGFAULT = 10;
    static final int PGMAJFAULT = 11;
    static final int THP_FAULT_ALLOC = 15;
    static final int THP_FAULT_FALLBACK = 16;
    static final int THP_FAULT_FALLBACK_CHARGE = 17;
    static final int THP_COLLAPSE_ALLOC = 18;
    static final int THP_COLLAPSE_ALLOC_FAILED = 19;
    static final int THP_FILE_ALLOC = 20;
    static final int THP_FILE_FALLBACK = 21;
    static final int THP_FILE_FALLBACK_CHARGE = 22;
    static final int THP_FILE_MAPPED = 23;
    static final int THP_SPLIT_PAGE = 24;
    static final int THP_DEFERRED_SPLIT_PAGE = 26;
    static final int THP_SPLIT_PMD = 28;
    static final int THP_SCAN_EXCEED_NONE_PTE = 29;
    static final int THP_SCAN_EXCEED_SWAP_PTE = 30;
    static final int THP_SCAN_EXCEED_SHARE_PTE = 31;
    static final int THP_ZERO_PAGE_ALLOC = 33;
    static final int THP_SWPOUT = 35;

    private final long[] values = new long[NAMES.size()];

    void add(int counter, long delta) {
        values[counter] += delta;
    }

    long get(int counter) {
        return values[counter];
    }

    long get(String name) {
        int i = NAMES.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no /proc/vmstat counter " + name + " in the fake kernel; known: " + NAMES);
        }
        return values[i];
    }

    /** The file's text: {@code name value} per line. */
    String render() {
        StringBuilder out = new StringBuilder(NAMES.size() * 24);
        for (int i = 0; i < values.length; i++) {
            out.append(NAMES.get(i)).append(' ').append(values[i]).append('\n');
        }
        return out.toString();
    }
}
