package io.mthp4j.fake;

import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.VmaInfo;

/**
 * Shared anonymous memory ({@code MAP_SHARED|MAP_ANONYMOUS}): a shmem file per mapping whose page cache holds
 * the folios, charged to the memcg of the process that faulted them (kernel-semantics.md §8). Faults
 * allocate on read and write alike (shmem has no zero page) and map the whole folio; the pages stay until the
 * last mapping of the file goes. Runs under the kernel lock.
 */
final class Shmem {

    /** The page cache of one shmem file, in PMD-sized chunks: per page 0 (none) or PRESENT | order. */
    static final class File {
        final long sizePages;
        final LongMap<Chunk> chunks = new LongMap<>();
        int mappers = 1;

        File(long sizePages) {
            this.sizePages = sizePages;
        }
    }

    static final class Chunk {
        final byte[] pages;
        Memcg owner;

        Chunk(int n) {
            pages = new byte[n];
        }
    }

    private final FakeKernel kernel;
    private final MemoryManager mm;
    private final PageGeometry geometry;
    private final int pageShift;
    private final int pmdOrder;
    private final int pmdPages;

    Shmem(FakeKernel kernel, MemoryManager mm) {
        this.kernel = kernel;
        this.mm = mm;
        this.geometry = kernel.geometry();
        this.pageShift = geometry.pageShift();
        this.pmdOrder = geometry.pmdOrder();
        this.pmdPages = geometry.pmdPages();
    }

    /** shmem_fault: find or allocate the folio for {@code addr}'s index and map all of it that the VMA covers. */
    void fault(FakeProcess p, VmaInfo vma, PmdTable t, long addr, boolean write) {
        FakeProcess.Region region = p.regionAt(addr);
        File file = region.shmem();
        long index = (addr - region.base()) >>> pageShift;
        Chunk chunk = file.chunks.get(index >>> pmdOrder);
        int inChunk = (int) (index & (pmdPages - 1));
        int b = chunk == null ? 0 : chunk.pages[inChunk];
        p.minorFault();
        if (!PmdTable.present(b)) {
            int order = allocate(p, vma, file, addr, index);
            if (order < 0) {
                return;
            }
            chunk = file.chunks.get(index >>> pmdOrder);
            b = chunk.pages[inChunk];
        }
        // Map the whole folio where the VMA and this page table cover it (finish_fault maps large folios).
        int order = PmdTable.order(b);
        int n = 1 << order;
        long folioStart = addr - ((index & (n - 1)) << pageShift);
        int mapped = 0;
        for (int j = 0; j < n; j++) {
            long a = folioStart + ((long) j << pageShift);
            if (a < vma.start() || a >= vma.end() || (a >>> (pageShift + pmdOrder)) != t.index) {
                continue;
            }
            int i = (int) ((a >>> pageShift) & (pmdPages - 1));
            if (!PmdTable.present(t.pte[i])) {
                t.pte[i] = (byte) (PmdTable.PRESENT | PmdTable.YOUNG | order);
                mapped++;
            }
        }
        p.rssShmem += mapped;
        if (order == pmdOrder && mapped == pmdPages) {
            mm.vmstat.add(Vmstat.THP_FILE_MAPPED, 1); // an event; the model maps shmem with PTEs, so no PMD-mapped gauge
        }
    }

    /**
     * The shmem allocation of §8: shmemAllowableHugeOrders, then shmem_suitable_orders (VMA suitability and
     * an empty page-cache range per order), then descending tries with shmem_alloc / shmem_fallback /
     * shmem_fallback_charge; order 0 last. Returns the order, or -1 if the process was OOM-killed.
     */
    private int allocate(FakeProcess p, VmaInfo vma, File file, long addr, long index) {
        long orders = p.gate.shmemAllowableHugeOrders(mm.settings(), p.mode, vma, index, 0, false);
        orders = p.gate.suitableOrders(vma, addr, orders);
        for (long rest = orders; rest != 0; rest &= rest - 1) {
            int o = Long.numberOfTrailingZeros(rest);
            long aligned = index & -(1L << o);
            if (aligned + (1L << o) > file.sizePages || !rangeEmpty(file, aligned, 1L << o)) {
                orders &= ~Orders.bit(o);
            }
        }
        // A chunk's pages are all charged to the memcg that faulted its first page (the model's simplification).
        Chunk existing = file.chunks.get(index >>> pmdOrder);
        Memcg owner = existing != null ? existing.owner : p.memcg;
        while (orders != 0) {
            int o = Orders.highest(orders);
            if (mm.physical.allocate(o)) {
                if (owner.overMaxWith(1L << o) == null) {
                    mm.commitCharge(owner, 1L << o);
                    add(file, index & -(1L << o), o, owner);
                    kernel.sysfs().add(o, FakeThpSysfs.SHMEM_ALLOC, 1);
                    if (o == pmdOrder) {
                        mm.vmstat.add(Vmstat.THP_FILE_ALLOC, 1);
                    }
                    return o;
                }
                mm.physical.free(1L << o);
                owner.overMaxWith(1L << o).event(Memcg.EVENT_MAX);
                kernel.sysfs().add(o, FakeThpSysfs.SHMEM_FALLBACK_CHARGE, 1);
                if (o == pmdOrder) {
                    mm.vmstat.add(Vmstat.THP_FILE_FALLBACK_CHARGE, 1);
                }
            }
            kernel.sysfs().add(o, FakeThpSysfs.SHMEM_FALLBACK, 1);
            if (o == pmdOrder) {
                mm.vmstat.add(Vmstat.THP_FILE_FALLBACK, 1);
            }
            orders &= ~Orders.bit(o);
        }
        if (!mm.allocOrder0(p, owner)) {
            return -1;
        }
        add(file, index, 0, owner);
        return 0;
    }

    private boolean rangeEmpty(File file, long from, long n) {
        for (long i = from; i < from + n; i++) {
            Chunk c = file.chunks.get(i >>> pmdOrder);
            if (c != null && c.pages[(int) (i & (pmdPages - 1))] != 0) {
                return false;
            }
        }
        return true;
    }

    private void add(File file, long from, int order, Memcg owner) {
        long n = 1L << order;
        for (long i = from; i < from + n; i++) {
            Chunk c = file.chunks.get(i >>> pmdOrder);
            if (c == null) {
                c = new Chunk(pmdPages);
                c.owner = owner;
                file.chunks.put(i >>> pmdOrder, c);
            }
            c.pages[(int) (i & (pmdPages - 1))] = (byte) (PmdTable.PRESENT | order);
        }
        owner.addShmem(n, order == pmdOrder ? n : 0);
        mm.vmstat.add(Vmstat.NR_SHMEM, n);
        if (order == pmdOrder) {
            mm.vmstat.add(Vmstat.NR_SHMEM_HUGEPAGES, 1);
        }
    }

    /**
     * Collapse of one PMD range of a shmem mapping (collapse_file, simplified): the file's pages of that range
     * become one PMD folio, holes filled; khugepaged refuses more than max_ptes_none missing pages.
     */
    int collapse(FakeProcess p, VmaInfo vma, long pmdAddr) {
        FakeProcess.Region region = p.regionAt(pmdAddr);
        if (region == null || region.shmem() == null) {
            return MemoryManager.SCAN_VMA_CHECK;
        }
        File file = region.shmem();
        long index = (pmdAddr - region.base()) >>> pageShift;
        if ((index & (pmdPages - 1)) != 0 || index + pmdPages > file.sizePages) {
            return MemoryManager.SCAN_VMA_CHECK;
        }
        Chunk chunk = file.chunks.get(index >>> pmdOrder);
        if (chunk != null && PmdTable.order(chunk.pages[0]) == pmdOrder && PmdTable.present(chunk.pages[0])) {
            return MemoryManager.SCAN_PMD_MAPPED;
        }
        int present = 0;
        if (chunk != null) {
            for (byte b : chunk.pages) {
                if (PmdTable.present(b)) {
                    present++;
                }
            }
        }
        if (present == 0) {
            return MemoryManager.SCAN_PMD_NULL;
        }
        if (!mm.physical.allocate(pmdOrder)) {
            mm.vmstat.add(Vmstat.THP_COLLAPSE_ALLOC_FAILED, 1);
            return MemoryManager.SCAN_ALLOC_HUGE_PAGE_FAIL;
        }
        Memcg owner = chunk.owner;
        if (owner.overMaxWith(pmdPages - present) != null) {
            mm.physical.free(pmdPages);
            return MemoryManager.SCAN_CGROUP_CHARGE_FAIL;
        }
        mm.vmstat.add(Vmstat.THP_COLLAPSE_ALLOC, 1);
        // The old pages are freed; the new folio is charged to the chunk's owner.
        mm.physical.free(present);
        mm.commitCharge(owner, pmdPages - present);
        owner.addShmem(pmdPages - present, pmdPages);
        mm.vmstat.add(Vmstat.NR_SHMEM, pmdPages - present);
        mm.vmstat.add(Vmstat.NR_SHMEM_HUGEPAGES, 1);
        java.util.Arrays.fill(chunk.pages, (byte) (PmdTable.PRESENT | pmdOrder));
        // The collapsing process's mapping now points at the new folio (retract_page_tables, for this mm; other
        // mappers see the new folio when they fault it again).
        PmdTable t = p.tables.get(pmdAddr >>> (pageShift + pmdOrder));
        if (t != null && t.pte != null) {
            for (int i = 0; i < t.pte.length; i++) {
                if (PmdTable.present(t.pte[i])) {
                    t.pte[i] = (byte) ((t.pte[i] & ~PmdTable.ORDER) | pmdOrder);
                }
            }
        }
        return MemoryManager.SCAN_SUCCEED;
    }

    /** One mapping of {@code file} went away; the last one frees the pages. */
    void release(File file) {
        if (--file.mappers > 0) {
            return;
        }
        for (long key : file.chunks.sortedKeys()) {
            Chunk c = file.chunks.get(key);
            long n = 0;
            long thp = 0;
            for (int i = 0; i < c.pages.length; i++) {
                if (PmdTable.present(c.pages[i])) {
                    n++;
                    if (PmdTable.order(c.pages[i]) == pmdOrder) {
                        thp++;
                    }
                }
            }
            if (thp == pmdPages) {
                mm.vmstat.add(Vmstat.NR_SHMEM_HUGEPAGES, -1);
            }
            mm.physical.free(n);
            c.owner.charge(-n);
            c.owner.addShmem(-n, -thp);
            mm.vmstat.add(Vmstat.NR_SHMEM, -n);
        }
        file.chunks.clear();
    }

}
