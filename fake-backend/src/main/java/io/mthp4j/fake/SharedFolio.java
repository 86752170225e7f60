package io.mthp4j.fake;

/**
 * A folio mapped by more than one process: created for every present page at fork (the kernel's
 * copy-on-write sharing). It counts, per page, how many processes map it; it is freed when no page is mapped
 * any more, and becomes partially mapped (deferred split) when some pages are mapped nowhere while others
 * are still mapped.
 */
final class SharedFolio {

    final int order;
    final Memcg owner;
    /** Per page, how many page tables map it. */
    final short[] mapcount;
    /** Pages mapped at least once. */
    int mappedPages;
    /** Pages still charged (all until a split frees the unmapped ones). */
    long chargedPages;
    /** PMD mappings of this folio (NR_ANON_THPS counts the folio while at least one remains). */
    int pmdMappings;
    boolean partial;
    boolean split;

    SharedFolio(int order, Memcg owner) {
        this.order = order;
        this.owner = owner;
        this.mapcount = new short[1 << order];
        this.chargedPages = 1L << order;
    }

    /** The folio's order now: 0 once split. */
    int currentOrder() {
        return split ? 0 : order;
    }
}
