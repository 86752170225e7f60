package io.mthp4j.api;

/**
 * The page geometry of a machine: base page size and the orders the THP code derives from it
 * (kernel-semantics.md §2). Everything order-related in mthp4j is relative to one geometry.
 *
 * <p>Only {@link #X86_64_4K} is verified against a real kernel. The arm64 presets follow
 * {@code PMD_ORDER = PMD_SHIFT - PAGE_SHIFT} and the xarray cap on page-cache orders; the reference marks
 * them "[unknown: make it a parameter]", so they are parameters here: build your own with the
 * constructor if a machine differs.
 *
 * @param pageShift         log2 of the base page size (12 for 4 KiB)
 * @param pmdOrder          {@code PMD_ORDER}: the order of a PMD-mapped folio (9 on x86-64)
 * @param pudOrder          {@code PUD_ORDER} (18 on x86-64); only used for special mappings
 * @param maxPagecacheOrder {@code MAX_PAGECACHE_ORDER}: the highest file/shmem order
 */
public record PageGeometry(int pageShift, int pmdOrder, int pudOrder, int maxPagecacheOrder) {

    /** x86-64 with 4 KiB pages: anon 16K…2M, file/shmem 8K…2M. */
    public static final PageGeometry X86_64_4K = new PageGeometry(12, 9, 18, 9);
    /** arm64 with 4 KiB pages: same orders as x86-64. */
    public static final PageGeometry ARM64_4K = new PageGeometry(12, 9, 18, 9);
    /** arm64 with 16 KiB pages: PMD = 32 MiB (order 11) [inferred]. */
    public static final PageGeometry ARM64_16K = new PageGeometry(14, 11, 22, 11);
    /** arm64 with 64 KiB pages: PMD = 512 MiB (order 13); file orders stop at 11 (xarray limit) [inferred]. */
    public static final PageGeometry ARM64_64K = new PageGeometry(16, 13, 26, 11);

    public PageGeometry {
        if (pageShift < 9 || pageShift > 20) {
            throw new IllegalArgumentException("pageShift must be in 9..20 (a 512 B to 1 MiB base page), was " + pageShift);
        }
        if (pmdOrder < 2 || pmdOrder > 30) {
            throw new IllegalArgumentException("pmdOrder must be in 2..30, was " + pmdOrder);
        }
        if (pudOrder <= pmdOrder || pudOrder > 40) {
            throw new IllegalArgumentException("pudOrder must be above pmdOrder " + pmdOrder + " and at most 40, was " + pudOrder);
        }
        if (maxPagecacheOrder < 1 || maxPagecacheOrder > pmdOrder) {
            throw new IllegalArgumentException("maxPagecacheOrder must be in 1..pmdOrder (" + pmdOrder + "), was " + maxPagecacheOrder);
        }
    }

    /** Base page size in bytes. */
    public long pageSize() {
        return 1L << pageShift;
    }

    /** {@code HPAGE_PMD_NR}: base pages in a PMD folio (512 on x86-64). */
    public int pmdPages() {
        return 1 << pmdOrder;
    }

    /** Bytes in a PMD folio ({@code hpage_pmd_size}). */
    public long pmdSize() {
        return pageSize() << pmdOrder;
    }

    /** {@code THP_ORDERS_ALL_ANON}: orders 2..PMD (order 1 is not supported for anon). */
    public long allAnonOrders() {
        return Orders.upTo(pmdOrder) & ~0b11L;
    }

    /** {@code THP_ORDERS_ALL_FILE_DEFAULT}: orders 1..MAX_PAGECACHE_ORDER. */
    public long allFileOrders() {
        return Orders.upTo(maxPagecacheOrder) & ~1L;
    }

    /** {@code THP_ORDERS_ALL_SPECIAL}: PMD and PUD (DAX and PFN maps). */
    public long allSpecialOrders() {
        return Orders.bit(pmdOrder) | Orders.bit(pudOrder);
    }

    /** Orders that have a {@code hugepages-<N>kB} directory: anon | file default. */
    public long sysfsOrders() {
        return allAnonOrders() | allFileOrders();
    }

    /** Bytes of a folio of {@code order}. */
    public long bytes(int order) {
        return Orders.bytes(order, pageSize());
    }

    /** The per-size sysfs directory name of {@code order}, e.g. {@code hugepages-64kB}. */
    public String sizeDirectory(int order) {
        return "hugepages-" + (bytes(order) / 1024) + "kB";
    }
}
