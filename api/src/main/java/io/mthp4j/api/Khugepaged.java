package io.mthp4j.api;

/**
 * The {@code transparent_hugepage/khugepaged/} tunables (kernel-semantics.md §3.2). The counters
 * {@code full_scans} and {@code pages_collapsed} are not settings and are not here.
 *
 * @param defrag              {@code khugepaged/defrag}
 * @param pagesToScan         pages scanned per wake-up (default 8 × HPAGE_PMD_NR); the kernel rejects 0
 * @param scanSleepMillis     sleep between scans (default 10000)
 * @param allocSleepMillis    sleep after a failed huge allocation (default 60000)
 * @param maxPtesNone         empty or zero-page PTEs a collapse may fill (default HPAGE_PMD_NR - 1)
 * @param maxPtesSwap         swapped-out PTEs a collapse may swap in (default HPAGE_PMD_NR / 8)
 * @param maxPtesShared       shared PTEs a collapse may copy (default HPAGE_PMD_NR / 2)
 */
public record Khugepaged(boolean defrag, long pagesToScan, long scanSleepMillis, long allocSleepMillis,
                         int maxPtesNone, int maxPtesSwap, int maxPtesShared) {

    /** {@code UINT_MAX}: the kernel stores these tunables as {@code unsigned int}. */
    public static final long UINT_MAX = 0xFFFF_FFFFL;

    public Khugepaged {
        checkRange("pages_to_scan", pagesToScan, 1, UINT_MAX);
        checkRange("scan_sleep_millisecs", scanSleepMillis, 0, UINT_MAX);
        checkRange("alloc_sleep_millisecs", allocSleepMillis, 0, UINT_MAX);
        checkRange("max_ptes_none", maxPtesNone, 0, UINT_MAX);
        checkRange("max_ptes_swap", maxPtesSwap, 0, UINT_MAX);
        checkRange("max_ptes_shared", maxPtesShared, 0, UINT_MAX);
    }

    /** The kernel's boot defaults for a geometry. */
    public static Khugepaged defaults(PageGeometry geometry) {
        int nr = geometry.pmdPages();
        return new Khugepaged(true, 8L * nr, 10_000, 60_000, nr - 1, nr / 8, nr / 2);
    }

    public Khugepaged withDefrag(boolean value) {
        return new Khugepaged(value, pagesToScan, scanSleepMillis, allocSleepMillis, maxPtesNone, maxPtesSwap, maxPtesShared);
    }

    public Khugepaged withPagesToScan(long value) {
        return new Khugepaged(defrag, value, scanSleepMillis, allocSleepMillis, maxPtesNone, maxPtesSwap, maxPtesShared);
    }

    public Khugepaged withScanSleepMillis(long value) {
        return new Khugepaged(defrag, pagesToScan, value, allocSleepMillis, maxPtesNone, maxPtesSwap, maxPtesShared);
    }

    public Khugepaged withAllocSleepMillis(long value) {
        return new Khugepaged(defrag, pagesToScan, scanSleepMillis, value, maxPtesNone, maxPtesSwap, maxPtesShared);
    }

    public Khugepaged withMaxPtesNone(int value) {
        return new Khugepaged(defrag, pagesToScan, scanSleepMillis, allocSleepMillis, value, maxPtesSwap, maxPtesShared);
    }

    public Khugepaged withMaxPtesSwap(int value) {
        return new Khugepaged(defrag, pagesToScan, scanSleepMillis, allocSleepMillis, maxPtesNone, value, maxPtesShared);
    }

    public Khugepaged withMaxPtesShared(int value) {
        return new Khugepaged(defrag, pagesToScan, scanSleepMillis, allocSleepMillis, maxPtesNone, maxPtesSwap, value);
    }

    static void checkRange(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException("khugepaged/" + name + " must be in " + min + ".." + max + ", was " + value);
        }
    }
}
