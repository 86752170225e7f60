package io.mthp4j.fake;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ThpSettings;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaKind;
import io.mthp4j.core.gate.OrderGate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The fake kernel's memory management: page faults with the mTHP fallback (kernel-semantics.md §5), shmem
 * faults (§8), unmapping with deferred split, fork sharing, memcg charging, reclaim under memory.high and
 * memory.max (the pressure model, docs/fidelity.md), khugepaged and MADV_COLLAPSE (§6). Everything runs under
 * the kernel lock.
 */
final class MemoryManager {

    // Collapse results (the kernel's enum scan_result, the subset the model produces).
    static final int SCAN_SUCCEED = 0;
    static final int SCAN_PMD_NULL = 1;
    static final int SCAN_PMD_MAPPED = 2;
    static final int SCAN_EXCEED_NONE_PTE = 3;
    static final int SCAN_EXCEED_SWAP_PTE = 4;
    static final int SCAN_EXCEED_SHARED_PTE = 5;
    static final int SCAN_PAGE_RO = 6;
    static final int SCAN_LACK_REFERENCED_PAGE = 7;
    static final int SCAN_ALLOC_HUGE_PAGE_FAIL = 8;
    static final int SCAN_CGROUP_CHARGE_FAIL = 9;
    static final int SCAN_VMA_CHECK = 10;
    static final int SCAN_PAGE_ANON = 11;

    private static final int FALLBACK = 1;
    private static final int DONE = 0;

    private final FakeKernel kernel;
    private final PageGeometry geometry;
    private final int pageShift;
    private final int pmdShift;
    private final int pmdOrder;
    private final int pmdPages;
    private final FakeThpSysfs sysfs;
    /** The kernel's rules without a policy, for questions no hook takes part in. */
    private final OrderGate rules;
    final Vmstat vmstat = new Vmstat();
    final PhysicalMemory physical;
    final FakeKernelConfig.PressureModel pressure;
    private long swapUsed;
    /** References to swap slots beyond the first (fork duplicates a swap entry into the child). */
    private long swapDuplicates;
    private boolean hugeZeroPage;
    /** Partially mapped folios waiting for the deferred-split shrinker: table + block, or a SharedFolio. */
    private final ArrayDeque<Object> deferred = new ArrayDeque<>();
    /** The khugepaged scan list (mm slots) and its cursor. */
    private final List<FakeProcess> khugepagedSlots = new ArrayList<>();
    private int khugepagedSlot;
    private long khugepagedCursor;
    private long nextKhugepagedNanos = -1;
    /** When khugepaged last started (boot, or when a settings change started it). */
    private long khugepagedStart;

    record Deferred(FakeProcess process, PmdTable table, int block, int order) {
    }

    MemoryManager(FakeKernel kernel, FakeKernelConfig config) {
        this.kernel = kernel;
        this.geometry = config.geometry();
        this.pageShift = geometry.pageShift();
        this.pmdOrder = geometry.pmdOrder();
        this.pmdShift = pageShift + pmdOrder;
        this.pmdPages = geometry.pmdPages();
        this.sysfs = kernel.sysfs();
        this.rules = OrderGate.builder(geometry).build();
        this.pressure = config.pressure();
        this.physical = new PhysicalMemory(geometry, config.totalMemoryBytes(), config.seed(), kernel.lock);
    }

    long swapUsedPages() {
        return swapUsed;
    }

    long swapTotalPages() {
        return pressure.swapBytes() >> pageShift;
    }

    ThpSettings settings() {
        return sysfs.settings();
    }


    // =====================================================================================================
    // Faults (§5)
    // =====================================================================================================

    /** Faults every page of {@code [start, end)} for reading or writing, as touching the memory would. */
    void access(FakeProcess p, long start, long end, boolean write) {
        long page = 1L << pageShift;
        long addr = start & -page;
        while (addr < end) {
            VmaInfo vma = p.vmaAtLocked(addr);
            if (vma == null) {
                throw new KernelException(write ? "write" : "read", p.describe(addr), Errno.EFAULT,
                        "no VMA maps this address: the process would get SIGSEGV");
            }
            long stop = Math.min(end, vma.end());
            while (addr < stop) {
                addr = faultPage(p, vma, addr, write, stop);
                handleOverHigh(p);
                if (p.killed) {
                    throw oomKilled(p);
                }
                if (vma.kind() == VmaKind.ANON && !vma.has(VmaFlag.ANON_VMA)) {
                    vma = p.vmaAtLocked(vma.start()); // the first fault set anon_vma
                }
            }
        }
    }

    private KernelException oomKilled(FakeProcess p) {
        return new KernelException("fault", "pid " + p.pid(), Errno.ENOMEM, "the OOM killer killed this process ("
                + p.oomReason + ")");
    }

    /** One access at {@code addr}; returns the next address not yet handled (skips a whole PMD mapping). */
    private long faultPage(FakeProcess p, VmaInfo vma, long addr, boolean write, long stop) {
        long pmdIndex = addr >>> pmdShift;
        PmdTable t = p.tables.get(pmdIndex);
        long next = addr + (1L << pageShift);
        if (vma.kind() != VmaKind.ANON) {
            if (t == null) {
                t = new PmdTable(pmdIndex, true);
                p.tables.put(pmdIndex, t);
                t.pte = new byte[pmdPages];
            }
            int i = (int) ((addr >>> pageShift) & (pmdPages - 1));
            if (PmdTable.present(t.pte[i])) {
                t.pte[i] = (byte) (t.pte[i] | PmdTable.YOUNG); // mapped: an access, not a fault
            } else {
                kernel.shmem().fault(p, vma, t, addr, write);
            }
            return next;
        }
        if (t == null || (t.pte == null && t.pmd == PmdTable.PMD_NONE)) {
            if (t == null) {
                t = new PmdTable(pmdIndex, false);
                p.tables.put(pmdIndex, t);
            }
            if (p.bpfThpFaultEnter) {
                // BPF-THP patch 04 (§14.5): every anon fault on a none PMD enters khugepaged before the PAGEFAULT
                // check and before anon_vma is prepared, so "no THP on faults, THP by khugepaged" registers the mm.
                khugepagedEnter(p, vma);
            }
            vma = p.ensureAnonVma(vma);
            // §5.1: a none PMD tries the PMD order first.
            if (p.gate.allowableOrder(settings(), p.mode, vma, TvaType.PAGEFAULT, pmdOrder)
                    && hugePmdAnonymousPage(p, vma, t, addr, write) == DONE) {
                return Math.min(stop, ((pmdIndex + 1) << pmdShift));
            }
            if (p.killed) {
                return next;
            }
            t.pte = new byte[pmdPages];
        } else if (t.pte == null) {
            if (t.pmd == PmdTable.PMD_HUGE_ZERO) {
                if (!write) {
                    return Math.min(stop, ((pmdIndex + 1) << pmdShift));
                }
                // do_huge_zero_wp_pmd: a write to the huge zero page allocates a PMD folio without asking sysfs
                // again (observed on our 6.18 machines, linux-interfaces.md §6 / docs/fidelity.md).
                if (replaceHugeZero(p, vma, t)) {
                    return Math.min(stop, ((pmdIndex + 1) << pmdShift));
                }
                if (p.killed) {
                    return next;
                }
                // It failed: split the PMD into zero-page PTEs; the PTE path below copies one base page.
                t.pte = new byte[pmdPages];
                java.util.Arrays.fill(t.pte, PmdTable.ZERO);
                t.pmd = PmdTable.PMD_NONE;
                vmstat.add(Vmstat.THP_SPLIT_PMD, 1);
            } else {
                t.pmdYoung = true;
                if (!write || t.pmdShared == null || pmdReusable(t)) {
                    return Math.min(stop, ((pmdIndex + 1) << pmdShift));
                }
                // Copy-on-write of a shared PMD folio: split this process's PMD, then copy one base page.
                splitPmdMapping(t);
                vmstat.add(Vmstat.THP_SPLIT_PMD, 1);
            }
        }
        int i = (int) ((addr >>> pageShift) & (pmdPages - 1));
        int b = t.pte[i];
        if (b == PmdTable.NONE) {
            doAnonymousPage(p, vma, t, addr, i, write);
        } else if (b == PmdTable.ZERO) {
            if (write) {
                copyOnWrite(p, t, i);
            }
        } else if (PmdTable.swap(b)) {
            swapIn(p, vma, t, addr, i);
        } else {
            t.pte[i] = (byte) (b | PmdTable.YOUNG);
            if (write && (b & PmdTable.SHARED) != 0 && !sharedReusable(t, i)) {
                copyOnWrite(p, t, i);
            }
        }
        return next;
    }

    /** §5.2 do_huge_pmd_anonymous_page. */
    private int hugePmdAnonymousPage(FakeProcess p, VmaInfo vma, PmdTable t, long addr, boolean write) {
        long haddr = addr & -(1L << pmdShift);
        if (!p.gate.suitableOrder(vma, haddr, pmdOrder)) {
            return FALLBACK;
        }
        if (!p.bpfThpFaultEnter) {
            khugepagedEnter(p, vma); // mainline's place (§5.2); BPF-THP patch 04 moves it to the dispatcher
        }
        if (!write && settings().useZeroPage()) {
            // The huge zero page: no allocation, no fault counters; thp_zero_page_alloc on first use.
            if (!hugeZeroPage) {
                hugeZeroPage = true;
                vmstat.add(Vmstat.THP_ZERO_PAGE_ALLOC, 1);
            }
            t.pmd = PmdTable.PMD_HUGE_ZERO;
            p.minorFault();
            return DONE;
        }
        return allocPmdFolio(p, vma, t) ? DONE : FALLBACK;
    }

    /** The write to a huge zero PMD: a fresh PMD folio, or false (with the fallback counted). */
    private boolean replaceHugeZero(FakeProcess p, VmaInfo vma, PmdTable t) {
        t.pmd = PmdTable.PMD_NONE;
        if (allocPmdFolio(p, vma, t)) {
            return true;
        }
        t.pmd = PmdTable.PMD_HUGE_ZERO;
        return false;
    }

    /** Allocates, charges and maps a PMD folio, moving the §5.5 counters either way. */
    private boolean allocPmdFolio(FakeProcess p, VmaInfo vma, PmdTable t) {
        if (!physical.allocate(pmdOrder)) {
            vmstat.add(Vmstat.THP_FAULT_FALLBACK, 1);
            sysfs.add(pmdOrder, FakeThpSysfs.ANON_FAULT_FALLBACK, 1);
            return false;
        }
        Memcg memcg = p.memcg;
        if (!chargeLarge(p, vma, memcg, pmdOrder)) {
            physical.free(pmdPages);
            vmstat.add(Vmstat.THP_FAULT_FALLBACK, 1);
            vmstat.add(Vmstat.THP_FAULT_FALLBACK_CHARGE, 1);
            sysfs.add(pmdOrder, FakeThpSysfs.ANON_FAULT_FALLBACK, 1);
            sysfs.add(pmdOrder, FakeThpSysfs.ANON_FAULT_FALLBACK_CHARGE, 1);
            return false;
        }
        t.pmd = PmdTable.PMD_FOLIO;
        t.pmdYoung = true;
        t.owner = memcg;
        t.owners = null;
        vmstat.add(Vmstat.THP_FAULT_ALLOC, 1);
        sysfs.add(pmdOrder, FakeThpSysfs.ANON_FAULT_ALLOC, 1);
        memcg.addThpEvents(1, 0);
        newAnonFolio(p, memcg, pmdOrder, true);
        p.minorFault();
        return true;
    }

    /** §5.3 do_anonymous_page with §5.4 alloc_anon_folio. */
    private void doAnonymousPage(FakeProcess p, VmaInfo vma, PmdTable t, long addr, int i, boolean write) {
        p.minorFault();
        if (!write) {
            t.pte[i] = PmdTable.ZERO; // the shared zero page
            return;
        }
        int order = allocAnonFolio(p, vma, t, addr);
        if (order < 0) {
            return; // OOM-killed
        }
        int n = 1 << order;
        int base = i & -n;
        byte b = (byte) (PmdTable.PRESENT | PmdTable.YOUNG | order);
        for (int j = base; j < base + n; j++) {
            t.pte[j] = b;
        }
        t.setOwner(base, n, p.memcg);
        if (order > 0) {
            sysfs.add(order, FakeThpSysfs.ANON_FAULT_ALLOC, 1);
        }
        newAnonFolio(p, p.memcg, order, false);
    }

    /** Returns the order allocated and charged, or -1 if the process was OOM-killed. */
    private int allocAnonFolio(FakeProcess p, VmaInfo vma, PmdTable t, long addr) {
        long cand = 0;
        if (!vma.has(VmaFlag.UFFD_ARMED)) {
            cand = p.gate.allowableOrders(settings(), p.mode, vma, TvaType.PAGEFAULT, Orders.bit(pmdOrder) - 1);
            cand = p.gate.suitableOrders(vma, addr, cand);
        }
        if (cand != 0) {
            int i = (int) ((addr >>> pageShift) & (pmdPages - 1));
            int order = Orders.highest(cand);
            while (cand != 0) {
                int n = 1 << order;
                if (t.rangeNone(i & -n, n)) {
                    break;
                }
                cand &= ~Orders.bit(order);
                order = cand == 0 ? -1 : Orders.highest(cand);
            }
            while (cand != 0) {
                if (physical.allocate(order)) {
                    if (chargeLarge(p, vma, p.memcg, order)) {
                        return order;
                    }
                    physical.free(1L << order);
                    if (p.killed) {
                        return -1;
                    }
                    sysfs.add(order, FakeThpSysfs.ANON_FAULT_FALLBACK_CHARGE, 1);
                }
                sysfs.add(order, FakeThpSysfs.ANON_FAULT_FALLBACK, 1);
                cand &= ~Orders.bit(order);
                order = cand == 0 ? -1 : Orders.highest(cand);
            }
        }
        return allocOrder0(p, p.memcg) ? 0 : -1;
    }

    /**
     * mem_cgroup_charge of a large folio with the VMA's THP gfp mask (vma_thp_gfp_mask): over memory.max it
     * reclaims only if the mask allows direct reclaim (defrag {@code always}, or {@code madvise} /
     * {@code defer+madvise} on a VM_HUGEPAGE VMA), gives up after one round with __GFP_NORETRY (defrag
     * {@code always} without VM_HUGEPAGE), and otherwise, for orders up to PAGE_ALLOC_COSTLY_ORDER (3), calls
     * the memcg OOM killer, as observed on our machines for 16K and 32K (docs/fidelity.md); larger orders fall
     * back. Returns false if the charge failed (or {@code p} was killed).
     */
    private boolean chargeLarge(FakeProcess p, VmaInfo vma, Memcg memcg, int order) {
        long pages = 1L << order;
        Memcg over = memcg.overMaxWith(pages);
        if (over == null) {
            commitCharge(memcg, pages);
            return true;
        }
        over.event(Memcg.EVENT_MAX);
        io.mthp4j.api.ThpDefrag defrag = settings().defrag();
        boolean advised = vma.has(VmaFlag.HUGEPAGE);
        boolean direct = defrag == io.mthp4j.api.ThpDefrag.ALWAYS
                || (advised && (defrag == io.mthp4j.api.ThpDefrag.MADVISE || defrag == io.mthp4j.api.ThpDefrag.DEFER_MADVISE));
        if (!direct) {
            return false;
        }
        boolean noRetry = defrag == io.mthp4j.api.ThpDefrag.ALWAYS && !advised;
        for (int attempt = 0; attempt < (noRetry ? 1 : 16); attempt++) {
            if (reclaim(p, over, pages) == 0) {
                break;
            }
            over = memcg.overMaxWith(pages);
            if (over == null) {
                commitCharge(memcg, pages);
                return true;
            }
        }
        if (!noRetry && order <= 3) {
            oomKill(p, over, "memory.max of " + over.node.ref.path() + ", order-" + order + " THP charge");
            if (p.killed) {
                return false;
            }
            if (memcg.overMaxWith(pages) == null) {
                commitCharge(memcg, pages);
                return true;
            }
        }
        return false;
    }

    void commitCharge(Memcg memcg, long pages) {
        memcg.charge(pages);
        for (Memcg m = memcg; m != null; m = m.parent) {
            if (m.high != Memcg.NO_LIMIT && m.charged > m.high) {
                m.event(Memcg.EVENT_HIGH);
                chargedOverHigh += pages; // current->memcg_nr_pages_over_high
                break;
            }
        }
    }

    /** Pages charged while over memory.high since the last return to user space. */
    private long chargedOverHigh;

    /**
     * Allocates and charges one base page for {@code memcg}: reclaims when memory.max or physical memory is
     * exhausted, and calls the OOM killer when reclaim cannot help. Returns false if {@code p} was killed.
     */
    boolean allocOrder0(FakeProcess p, Memcg memcg) {
        for (int attempt = 0; ; attempt++) {
            if (!physical.allocate(0)) {
                if (attempt < 2 && reclaim(p, kernel.rootMemcg(), pressure.reclaimBatchPages()) > 0) {
                    continue;
                }
                if (oomKill(p, kernel.rootMemcg(), "out of physical memory")) {
                    return false;
                }
                continue;
            }
            Memcg over = memcg.overMaxWith(1);
            if (over == null) {
                commitCharge(memcg, 1);
                return true;
            }
            physical.free(1);
            over.event(Memcg.EVENT_MAX);
            if (attempt < 16 && reclaim(p, over, pressure.reclaimBatchPages()) > 0) {
                continue;
            }
            if (oomKill(p, over, "memory.max of " + over.node.ref.path())) {
                return false;
            }
        }
    }

    private void newAnonFolio(FakeProcess p, Memcg memcg, int order, boolean pmdMapped) {
        long n = 1L << order;
        if (order > 0) {
            sysfs.add(order, FakeThpSysfs.NR_ANON, 1);
        }
        memcg.addAnon(n);
        vmstat.add(Vmstat.NR_ANON_PAGES, n);
        if (pmdMapped) {
            memcg.addAnonThp(n);
            vmstat.add(Vmstat.NR_ANON_TRANSPARENT_HUGEPAGES, 1);
        }
        p.rssAnon += n;
    }

    /** wp_page_copy: a write to the zero page or to a shared page gets a private base page (order 0). */
    private void copyOnWrite(FakeProcess p, PmdTable t, int i) {
        if (!allocOrder0(p, p.memcg)) {
            return;
        }
        int old = t.pte[i];
        if (PmdTable.present(old)) {
            unmapShared(p, t, i);
        }
        t.pte[i] = (byte) (PmdTable.PRESENT | PmdTable.YOUNG);
        t.setOwner(i, 1, p.memcg);
        newAnonFolio(p, p.memcg, 0, false);
    }

    /**
     * A write to a shared page reuses it when this table is the only mapper of the whole folio
     * (wp_can_reuse_anon_folio; observed: writes after the child exits reuse the folio in place).
     */
    private boolean sharedReusable(PmdTable t, int i) {
        SharedFolio f = t.shared[i];
        int n = 1 << f.order;
        int base = i & -n;
        for (int j = 0; j < n; j++) {
            short c = f.mapcount[j];
            if (c > 1 || (c == 1 && (t.pte[base + j] & PmdTable.SHARED) == 0) || (c == 1 && t.shared[base + j] != f)) {
                return false;
            }
        }
        return true;
    }

    private boolean pmdReusable(PmdTable t) {
        for (short c : t.pmdShared.mapcount) {
            if (c != 1) {
                return false;
            }
        }
        return true;
    }

    // =====================================================================================================
    // Swap-in
    // =====================================================================================================

    /**
     * do_swap_page. With {@code mthpSwapIn} (a synchronous swap device such as zram, and zswap never enabled),
     * alloc_swap_folio tries the orders the gate allows for SWAP_PAGEFAULT whose aligned block is all swap entries
     * from one swapped-out folio at least that large (can_swapin_thp: contiguous slots), highest first, with
     * {@code swpin_fallback} / {@code swpin_fallback_charge} per failed order; otherwise, or when none fits, a
     * base page. The folio is charged to the memcg that owned the swapped pages; every page read costs stall.
     */
    private void swapIn(FakeProcess p, VmaInfo vma, PmdTable t, long addr, int i) {
        Memcg owner = t.ownerOf(i) != null ? t.ownerOf(i) : p.memcg;
        int order = -1;
        if (pressure.mthpSwapIn() && !vma.has(VmaFlag.UFFD_ARMED)) {
            long cand = p.gate.allowableOrders(settings(), p.mode, vma, TvaType.SWAP_PAGEFAULT, Orders.bit(pmdOrder) - 1);
            cand = p.gate.suitableOrders(vma, addr, cand);
            int o = cand == 0 ? -1 : Orders.highest(cand);
            while (cand != 0 && !swappedTogether(t, i & -(1 << o), 1 << o)) {
                cand &= ~Orders.bit(o);
                o = cand == 0 ? -1 : Orders.highest(cand);
            }
            while (cand != 0) {
                if (physical.allocate(o)) {
                    if (chargeLarge(p, vma, owner, o)) {
                        order = o;
                        break;
                    }
                    physical.free(1L << o);
                    if (p.killed) {
                        return;
                    }
                    sysfs.add(o, FakeThpSysfs.SWPIN_FALLBACK_CHARGE, 1);
                }
                sysfs.add(o, FakeThpSysfs.SWPIN_FALLBACK, 1);
                cand &= ~Orders.bit(o);
                o = cand == 0 ? -1 : Orders.highest(cand);
            }
        }
        if (order < 0) {
            if (!allocOrder0(p, owner)) {
                return;
            }
            order = 0;
        }
        int n = 1 << order;
        int base = i & -n;
        byte b = (byte) (PmdTable.PRESENT | PmdTable.YOUNG | order);
        for (int j = base; j < base + n; j++) {
            dropSwapReference(owner);
            t.pte[j] = b;
        }
        t.setOwner(base, n, owner);
        owner.addSwapIo(n, 0);
        owner.addFaults(0, 1);
        vmstat.add(Vmstat.PSWPIN, n);
        vmstat.add(Vmstat.PGMAJFAULT, 1);
        sysfs.add(order, FakeThpSysfs.SWPIN, 1);
        p.swapPages -= n;
        newAnonFolio(p, owner, order, false);
        kernel.stall(p.memcg, pressure.swapInNanosPerPage() * n);
    }

    /** can_swapin_thp in the model: all {@code n} PTEs from {@code from} are swap entries of one folio of order >= log2(n). */
    private static boolean swappedTogether(PmdTable t, int from, int n) {
        int order = Integer.numberOfTrailingZeros(n);
        for (int j = from; j < from + n; j++) {
            int b = t.pte[j];
            if (!PmdTable.swap(b) || PmdTable.order(b) < order) {
                return false;
            }
        }
        return true;
    }

    /**
     * One swap entry goes (zap or swap-in). The model does not track which reference of a duplicated slot
     * is the last, only how many remain: the slot (and its memcg swap charge) goes with the last reference.
     */
    private void dropSwapReference(Memcg owner) {
        if (swapDuplicates > 0) {
            swapDuplicates--;
            return;
        }
        swapUsed--;
        if (owner != null) {
            owner.addSwap(-1);
        }
    }

    // =====================================================================================================
    // Unmapping (munmap, MADV_DONTNEED, exit) and deferred split
    // =====================================================================================================

    /** Zaps the pages of {@code [start, end)} in {@code p}; the page tables stay (munmap frees them separately). */
    void zap(FakeProcess p, long start, long end) {
        for (long a = start; a < end; ) {
            long pmdIndex = a >>> pmdShift;
            long tableEnd = (pmdIndex + 1) << pmdShift;
            long to = Math.min(end, tableEnd);
            PmdTable t = p.tables.get(pmdIndex);
            if (t != null) {
                int from = (int) ((a >>> pageShift) & (pmdPages - 1));
                int until = to == tableEnd ? pmdPages : (int) ((to >>> pageShift) & (pmdPages - 1));
                zapTable(p, t, from, until);
            }
            a = to;
        }
    }

    private void zapTable(FakeProcess p, PmdTable t, int from, int until) {
        if (t.pte == null) {
            if (t.pmd == PmdTable.PMD_NONE) {
                return;
            }
            if (from == 0 && until == pmdPages) {
                if (t.pmd == PmdTable.PMD_HUGE_ZERO) {
                    t.pmd = PmdTable.PMD_NONE;
                    return;
                }
                unmapPmdFolio(p, t);
                return;
            }
            if (t.pmd == PmdTable.PMD_HUGE_ZERO) {
                t.pte = new byte[pmdPages];
                java.util.Arrays.fill(t.pte, PmdTable.ZERO);
                t.pmd = PmdTable.PMD_NONE;
            } else {
                splitPmdMapping(t);
            }
            vmstat.add(Vmstat.THP_SPLIT_PMD, 1);
        }
        if (t.shmem) {
            for (int i = from; i < until; i++) {
                if (PmdTable.present(t.pte[i])) {
                    p.rssShmem--;
                }
                t.pte[i] = PmdTable.NONE;
            }
            return;
        }
        int i = from;
        while (i < until) {
            int b = t.pte[i];
            if (b == PmdTable.NONE || b == PmdTable.ZERO) {
                t.pte[i++] = PmdTable.NONE;
                continue;
            }
            if (PmdTable.swap(b)) {
                dropSwapReference(t.ownerOf(i));
                p.swapPages--;
                t.pte[i++] = PmdTable.NONE;
                continue;
            }
            if ((b & PmdTable.SHARED) != 0) {
                unmapShared(p, t, i);
                t.pte[i++] = PmdTable.NONE;
                continue;
            }
            // An exclusive folio: zap the part inside the range, then free it or queue it for deferred split.
            int order = PmdTable.order(b);
            int n = 1 << order;
            int base = i & -n;
            int stop = Math.min(until, base + n);
            int removed = 0;
            for (int j = i; j < stop; j++) {
                int c = t.pte[j];
                if (PmdTable.exclusiveOf(c, order)) {
                    t.pte[j] = PmdTable.NONE;
                    removed++;
                }
            }
            Memcg owner = t.ownerOf(base);
            owner.addAnon(-removed);
            vmstat.add(Vmstat.NR_ANON_PAGES, -removed);
            p.rssAnon -= removed;
            int remaining = countExclusive(t, base, n, order);
            boolean wasPartial = (b & PmdTable.PARTIAL) != 0;
            if (remaining == 0) {
                freeFolio(owner, order, wasPartial);
            } else if (!wasPartial && order > 0) {
                markPartial(t, base, n, order);
                deferred.add(new Deferred(p, t, base, order));
            }
            // Not i = stop: pages refaulted in a hole of a partly unmapped folio lie inside its span and are
            // other folios; this folio's own PTEs are NONE now, so the loop steps over them.
            i++;
        }
    }

    private static int countExclusive(PmdTable t, int base, int n, int order) {
        int count = 0;
        for (int j = base; j < base + n; j++) {
            int c = t.pte[j];
            if (PmdTable.exclusiveOf(c, order)) {
                count++;
            }
        }
        return count;
    }

    private void markPartial(PmdTable t, int base, int n, int order) {
        for (int j = base; j < base + n; j++) {
            int c = t.pte[j];
            if (PmdTable.exclusiveOf(c, order)) {
                t.pte[j] = (byte) (c | PmdTable.PARTIAL);
            }
        }
        queuedPartial(order);
    }

    private void queuedPartial(int order) {
        sysfs.add(order, FakeThpSysfs.SPLIT_DEFERRED, 1);
        sysfs.add(order, FakeThpSysfs.NR_ANON_PARTIALLY_MAPPED, 1);
        if (order == pmdOrder) {
            vmstat.add(Vmstat.THP_DEFERRED_SPLIT_PAGE, 1);
        }
    }

    /** Frees an anonymous folio: its memory, its charge, its per-size gauge. */
    private void freeFolio(Memcg owner, int order, boolean partial) {
        long n = 1L << order;
        physical.free(n);
        owner.charge(-n);
        if (order > 0) {
            sysfs.add(order, FakeThpSysfs.NR_ANON, -1);
            if (partial) {
                sysfs.add(order, FakeThpSysfs.NR_ANON_PARTIALLY_MAPPED, -1);
            }
        }
    }

    /** NR_ANON_THPS and memcg anon_thp count a folio while at least one PMD maps it. */
    private void lastPmdMappingGone(SharedFolio f) {
        if (--f.pmdMappings == 0) {
            vmstat.add(Vmstat.NR_ANON_TRANSPARENT_HUGEPAGES, -1);
            f.owner.addAnonThp(-pmdPages);
        }
    }

    private void unmapPmdFolio(FakeProcess p, PmdTable t) {
        t.pmd = PmdTable.PMD_NONE;
        p.rssAnon -= pmdPages;
        vmstat.add(Vmstat.NR_ANON_PAGES, -pmdPages);
        if (t.pmdShared == null) {
            vmstat.add(Vmstat.NR_ANON_TRANSPARENT_HUGEPAGES, -1);
        }
        SharedFolio f = t.pmdShared;
        if (f != null) {
            t.pmdShared = null;
            vmstat.add(Vmstat.NR_ANON_PAGES, pmdPages); // undone per page below, when a page is mapped nowhere
            lastPmdMappingGone(f);
            for (int j = 0; j < pmdPages; j++) {
                unmapSharedPage(f, j);
            }
            return;
        }
        t.owner.addAnon(-pmdPages);
        t.owner.addAnonThp(-pmdPages);
        freeFolio(t.owner, pmdOrder, false);
    }

    /** Turns a PMD mapping into a full table of PTEs mapping the same folio (__split_huge_pmd). */
    private void splitPmdMapping(PmdTable t) {
        byte[] ptes = new byte[pmdPages];
        SharedFolio f = t.pmdShared;
        byte b = (byte) (PmdTable.PRESENT | (t.pmdYoung ? PmdTable.YOUNG : 0) | pmdOrder
                | (f != null ? PmdTable.SHARED : 0));
        java.util.Arrays.fill(ptes, b);
        if (f != null) {
            t.shared = new SharedFolio[pmdPages];
            java.util.Arrays.fill(t.shared, f);
        }
        t.pte = ptes;
        t.pmd = PmdTable.PMD_NONE;
        t.pmdShared = null;
        if (f != null) {
            lastPmdMappingGone(f);
        } else {
            t.owner.addAnonThp(-pmdPages);
            vmstat.add(Vmstat.NR_ANON_TRANSPARENT_HUGEPAGES, -1);
        }
    }

    private void unmapShared(FakeProcess p, PmdTable t, int i) {
        SharedFolio f = t.shared[i];
        t.shared[i] = null;
        p.rssAnon--;
        unmapSharedPage(f, i & ((1 << f.order) - 1));
    }

    /** One mapping of one page of a shared folio goes; NR_ANON_MAPPED drops when the page is mapped nowhere. */
    private void unmapSharedPage(SharedFolio f, int page) {
        if (--f.mapcount[page] > 0) {
            return;
        }
        f.mappedPages--;
        f.owner.addAnon(-1);
        vmstat.add(Vmstat.NR_ANON_PAGES, -1);
        if (f.split) {
            physical.free(1);
            f.owner.charge(-1);
            f.chargedPages--;
            return;
        }
        if (f.mappedPages == 0) {
            freeFolio(f.owner, f.order, f.partial);
            f.chargedPages = 0;
        } else if (!f.partial && f.order > 0) {
            f.partial = true;
            queuedPartial(f.order);
            deferred.add(f);
        }
    }

    /**
     * The deferred-split shrinker: splits queued partially mapped folios charged inside {@code target} and
     * frees their unmapped pages. Returns the pages freed.
     */
    long splitDeferred(Memcg target, long wanted) {
        long freed = 0;
        int n = deferred.size();
        for (int k = 0; k < n && freed < wanted; k++) {
            Object o = deferred.poll();
            if (o instanceof SharedFolio f) {
                if (!f.partial || f.split || f.chargedPages == 0) {
                    continue;
                }
                if (!target.contains(f.owner)) {
                    deferred.add(o);
                    continue;
                }
                f.split = true;
                f.partial = false;
                countSplit(f.order);
                long unmapped = (1L << f.order) - f.mappedPages;
                physical.free(unmapped);
                f.owner.charge(-unmapped);
                f.chargedPages -= unmapped;
                freed += unmapped;
            } else {
                Deferred d = (Deferred) o;
                PmdTable t = d.table();
                if (t.pte == null || d.process().exited) {
                    continue;
                }
                int n2 = 1 << d.order();
                int mapped = 0;
                boolean still = false;
                for (int j = d.block(); j < d.block() + n2; j++) {
                    int c = t.pte[j];
                    if (PmdTable.exclusiveOf(c, d.order())) {
                        mapped++;
                        still |= (c & PmdTable.PARTIAL) != 0;
                    }
                }
                if (!still || mapped == 0) {
                    continue;
                }
                Memcg owner = t.ownerOf(d.block());
                if (!target.contains(owner)) {
                    deferred.add(o);
                    continue;
                }
                for (int j = d.block(); j < d.block() + n2; j++) {
                    int c = t.pte[j];
                    if (PmdTable.exclusiveOf(c, d.order())) {
                        t.pte[j] = (byte) ((c & ~(PmdTable.ORDER | PmdTable.PARTIAL)));
                    }
                }
                countSplit(d.order());
                long unmapped = n2 - mapped;
                physical.free(unmapped);
                owner.charge(-unmapped);
                freed += unmapped;
            }
        }
        return freed;
    }

    private void countSplit(int order) {
        sysfs.add(order, FakeThpSysfs.SPLIT, 1);
        sysfs.add(order, FakeThpSysfs.NR_ANON, -1);
        sysfs.add(order, FakeThpSysfs.NR_ANON_PARTIALLY_MAPPED, -1);
        if (order == pmdOrder) {
            vmstat.add(Vmstat.THP_SPLIT_PAGE, 1);
        }
    }

    /** Everything of {@code p} goes: pages, swap, tables (its khugepaged slot goes at khugepaged's next visit). */
    void exitMm(FakeProcess p) {
        for (long key : p.tables.sortedKeys()) {
            PmdTable t = p.tables.get(key);
            zapTable(p, t, 0, pmdPages);
        }
        p.tables.clear();
    }

    // =====================================================================================================
    // fork: copy-on-write sharing
    // =====================================================================================================

    /** Copies {@code parent}'s page tables into {@code child}, sharing every present anonymous page. */
    void fork(FakeProcess parent, FakeProcess child) {
        for (long key : parent.tables.sortedKeys()) {
            PmdTable t = parent.tables.get(key);
            PmdTable c = new PmdTable(t.index, t.shmem);
            c.owner = t.owner;
            c.owners = t.owners == null ? null : t.owners.clone();
            child.tables.put(key, c);
            if (t.shmem) {
                c.pte = t.pte.clone();
                for (byte b : t.pte) {
                    if (PmdTable.present(b)) {
                        child.rssShmem++;
                    }
                }
                continue;
            }
            if (t.pte == null) {
                c.pmd = t.pmd;
                c.pmdYoung = t.pmdYoung;
                if (t.pmd == PmdTable.PMD_FOLIO) {
                    if (t.pmdShared == null) {
                        SharedFolio f = new SharedFolio(pmdOrder, t.owner);
                        java.util.Arrays.fill(f.mapcount, (short) 1);
                        f.mappedPages = pmdPages;
                        f.pmdMappings = 1;
                        t.pmdShared = f;
                    }
                    SharedFolio f = t.pmdShared;
                    for (int j = 0; j < pmdPages; j++) {
                        f.mapcount[j]++;
                    }
                    f.pmdMappings++;
                    c.pmdShared = f;
                    child.rssAnon += pmdPages;
                }
                continue;
            }
            shareTable(t);
            c.pte = t.pte.clone();
            c.shared = t.shared.clone();
            for (int j = 0; j < pmdPages; j++) {
                int b = c.pte[j];
                if (PmdTable.present(b)) {
                    SharedFolio f = c.shared[j];
                    f.mapcount[j & ((1 << f.order) - 1)]++;
                    child.rssAnon++;
                } else if (PmdTable.swap(b)) {
                    // swap_duplicate: both processes refer to the same slot; no slot and no charge is added.
                    swapDuplicates++;
                    child.swapPages++;
                }
            }
        }
    }

    /** Gives every present exclusive folio of {@code t} a SharedFolio, so that two tables can map it. */
    private void shareTable(PmdTable t) {
        if (t.shared == null) {
            t.shared = new SharedFolio[pmdPages];
        }
        for (int i = 0; i < pmdPages; ) {
            int b = t.pte[i];
            if (!PmdTable.present(b) || (b & PmdTable.SHARED) != 0) {
                i++;
                continue;
            }
            int order = PmdTable.order(b);
            int n = 1 << order;
            int base = i & -n;
            SharedFolio f = new SharedFolio(order, t.ownerOf(base));
            f.partial = (b & PmdTable.PARTIAL) != 0;
            for (int j = base; j < base + n; j++) {
                int c = t.pte[j];
                if (PmdTable.exclusiveOf(c, order)) {
                    t.pte[j] = (byte) ((c & ~PmdTable.PARTIAL) | PmdTable.SHARED);
                    t.shared[j] = f;
                    f.mapcount[j - base] = 1;
                    f.mappedPages++;
                }
            }
            if (f.partial) {
                deferred.add(f);
            }
            // Not i = base + n: a page refaulted in a hole of a partly unmapped folio lies inside its span and is
            // another folio, which needs its own SharedFolio; this folio's PTEs are SHARED now and are stepped over.
            i++;
        }
    }

    // =====================================================================================================
    // Pressure: memory.high, reclaim, OOM
    // =====================================================================================================

    /**
     * mem_cgroup_handle_over_high on return to user space: reclaim from every level above memory.high, then,
     * if that did not bring usage down, the throttling penalty of calculate_high_delay (capped at 2 s, skipped
     * at or below 10 ms). Both count as memory stall of the process's cgroup.
     */
    private void handleOverHigh(FakeProcess p) {
        long nrPages = chargedOverHigh;
        chargedOverHigh = 0;
        if (nrPages == 0 || p.killed || p.memcg.overHigh() == null) {
            return;
        }
        long reclaimPages = Math.max(nrPages, pressure.reclaimBatchPages());
        while (true) {
            long reclaimed = 0;
            for (Memcg m = p.memcg; m != null; m = m.parent) {
                if (m.high != Memcg.NO_LIMIT && m.charged > m.high) {
                    reclaimed += reclaim(p, m, reclaimPages);
                }
            }
            long penaltyJiffies = highDelayJiffies(p.memcg, nrPages);
            int hz = pressure.hz();
            if (penaltyJiffies <= hz / 100) {
                return;
            }
            // The kernel retries while reclaim makes progress (and up to MAX_RECLAIM_RETRIES times without
            // progress, which in the model changes nothing, so it goes straight to the penalty).
            if (reclaimed > 0) {
                continue;
            }
            kernel.stall(p.memcg, penaltyJiffies * 1_000_000_000L / hz);
            return;
        }
    }

    /** calculate_high_delay over mem_find_max_overage (mm/memcontrol.c). */
    private long highDelayJiffies(Memcg memcg, long nrPages) {
        long maxOverage = 0;
        for (Memcg m = memcg; m != null; m = m.parent) {
            if (m.high == Memcg.NO_LIMIT || m.charged <= m.high) {
                continue;
            }
            long high = Math.max(m.high, 1);
            long overage = ((m.charged - high) << 20) / high; // MEMCG_DELAY_PRECISION_SHIFT
            maxOverage = Math.max(maxOverage, overage);
        }
        if (maxOverage == 0) {
            return 0;
        }
        long penalty;
        try {
            penalty = Math.multiplyExact(Math.multiplyExact(maxOverage, maxOverage), (long) pressure.hz());
        } catch (ArithmeticException e) {
            penalty = Long.MAX_VALUE;
        }
        penalty >>>= 20; // MEMCG_DELAY_PRECISION_SHIFT
        penalty >>>= 14; // MEMCG_DELAY_SCALING_SHIFT
        penalty = penalty > Long.MAX_VALUE / Math.max(1, nrPages) ? Long.MAX_VALUE : penalty * nrPages / 64; // MEMCG_CHARGE_BATCH
        return Math.min(penalty, 2L * pressure.hz()); // MEMCG_MAX_HIGH_DELAY_JIFFIES
    }

    /**
     * Reclaims up to {@code wanted} pages charged inside {@code target}: first the unmapped parts of partially
     * mapped folios (the deferred-split shrinker), then, while swap has room, anonymous folios chosen by a clock
     * over the processes' page tables (a folio accessed since the last pass gets a second chance). A folio is
     * swapped out whole. The time spent counts as memory stall of {@code stalled}'s cgroup.
     */
    long reclaim(FakeProcess stalled, Memcg target, long wanted) {
        long reclaimed = splitDeferred(target, wanted);
        if (reclaimed < wanted && swapUsed < swapTotalPages()) {
            List<FakeProcess> procs = kernel.processesIn(target);
            for (int pass = 0; pass < 2 && reclaimed < wanted; pass++) {
                for (FakeProcess q : procs) {
                    reclaimed += reclaimFrom(q, target, wanted - reclaimed);
                    if (reclaimed >= wanted || swapUsed >= swapTotalPages()) {
                        break;
                    }
                }
            }
        }
        if (reclaimed > 0 && stalled != null) {
            kernel.stall(stalled.memcg, reclaimed * pressure.reclaimNanosPerPage());
        }
        return reclaimed;
    }

    private long reclaimFrom(FakeProcess q, Memcg target, long wanted) {
        long reclaimed = 0;
        long[] keys = q.tables.sortedKeys();
        int start = 0;
        while (start < keys.length && keys[start] < q.reclaimCursor) {
            start++;
        }
        for (int k = 0; k < keys.length && reclaimed < wanted; k++) {
            long key = keys[(start + k) % keys.length];
            PmdTable t = q.tables.get(key);
            q.reclaimCursor = key;
            if (t.shmem) {
                continue;
            }
            if (t.pte == null) {
                if (t.pmd != PmdTable.PMD_FOLIO || t.pmdShared != null || !target.contains(t.owner)) {
                    continue;
                }
                if (t.pmdYoung) {
                    t.pmdYoung = false;
                    continue;
                }
                if (swapUsed + pmdPages > swapTotalPages()) {
                    continue;
                }
                Memcg owner = t.owner;
                splitPmdMapping(t);
                reclaimed += swapOutFolio(q, t, 0, pmdOrder, owner);
                continue;
            }
            for (int i = 0; i < pmdPages && reclaimed < wanted; ) {
                int b = t.pte[i];
                if (!PmdTable.present(b) || (b & PmdTable.SHARED) != 0) {
                    i++;
                    continue;
                }
                int order = PmdTable.order(b);
                int n = 1 << order;
                int base = i & -n;
                Memcg owner = t.ownerOf(base);
                if (!target.contains(owner)) {
                    i = base + n;
                    continue;
                }
                boolean young = false;
                for (int j = base; j < base + n; j++) {
                    int c = t.pte[j];
                    if (PmdTable.exclusiveOf(c, order)
                            && (c & PmdTable.YOUNG) != 0) {
                        young = true;
                        t.pte[j] = (byte) (c & ~PmdTable.YOUNG);
                    }
                }
                if (!young) {
                    reclaimed += swapOutFolio(q, t, base, order, owner);
                }
                i = base + n;
            }
        }
        return reclaimed;
    }

    /** Swaps out one exclusive folio whole; returns the pages freed (0 if swap is full). */
    private long swapOutFolio(FakeProcess q, PmdTable t, int base, int order, Memcg owner) {
        int n = 1 << order;
        int mapped = countExclusive(t, base, n, order);
        if (swapUsed + mapped > swapTotalPages()) {
            return 0;
        }
        boolean partial = false;
        for (int j = base; j < base + n; j++) {
            int c = t.pte[j];
            if (PmdTable.exclusiveOf(c, order)) {
                partial |= (c & PmdTable.PARTIAL) != 0;
                t.pte[j] = (byte) (PmdTable.SWAP | order);
            }
        }
        swapUsed += mapped;
        owner.addAnon(-mapped);
        owner.addSwap(mapped);
        owner.addSwapIo(0, mapped);
        vmstat.add(Vmstat.NR_ANON_PAGES, -mapped);
        vmstat.add(Vmstat.PSWPOUT, mapped);
        q.rssAnon -= mapped;
        q.swapPages += mapped;
        if (order > 0) {
            sysfs.add(order, FakeThpSysfs.SWPOUT, 1);
        }
        if (order == pmdOrder) {
            vmstat.add(Vmstat.THP_SWPOUT, 1);
        }
        freeFolio(owner, order, partial);
        return n;
    }

    /**
     * The OOM killer for {@code scope}: kills the process in it with the most anonymous memory and swap
     * (oom_badness without the adjustments), else {@code p} (may be null). Returns true if that was {@code p}.
     */
    boolean oomKill(FakeProcess p, Memcg scope, String why) {
        scope.event(Memcg.EVENT_OOM);
        FakeProcess victim = null;
        for (FakeProcess q : kernel.processesIn(scope)) {
            if (!q.killed && (victim == null || q.rssAnon + q.swapPages > victim.rssAnon + victim.swapPages)) {
                victim = q;
            }
        }
        if (victim == null) {
            victim = p;
        }
        if (victim == null) {
            return false; // nobody to kill (a limit lowered on a cgroup without processes)
        }
        victim.memcg.event(Memcg.EVENT_OOM_KILL);
        victim.killed = true;
        victim.oomReason = why;
        kernel.oomKilled(victim);
        return victim == p;
    }

    // =====================================================================================================
    // khugepaged and MADV_COLLAPSE (§6)
    // =====================================================================================================

    /** khugepaged_enter_vma: registers the mm when the PMD order may be collapsed for this VMA. */
    void khugepagedEnter(FakeProcess p, VmaInfo vma) {
        if (p.khugepagedRegistered || p.mode == io.mthp4j.api.ProcessThpMode.DISABLED) {
            return;
        }
        if (p.gate.hugepagePmdEnabled(settings())
                && p.gate.allowableOrder(settings(), p.mode, vma, TvaType.KHUGEPAGED, pmdOrder)) {
            khugepagedRegister(p);
        }
    }

    /** start_stop_khugepaged: the thread runs while hugepage_pmd_enabled() (§6). */
    private boolean khugepagedRunning() {
        return rules.hugepagePmdEnabled(settings());
    }

    /** Runs the khugepaged passes due by {@code now} (one per scan_sleep_millisecs while it runs). */
    void khugepagedUntil(long now) {
        if (!khugepagedRunning()) {
            nextKhugepagedNanos = -1;
            khugepagedStart = now;
            return;
        }
        long sleep = settings().khugepaged().scanSleepMillis() * 1_000_000L;
        if (nextKhugepagedNanos < 0) {
            nextKhugepagedNanos = khugepagedStart; // the thread scans, then sleeps scan_sleep_millisecs
        }
        int guard = 0;
        while (nextKhugepagedNanos <= now && guard++ < 1_000_000) {
            khugepagedPass();
            nextKhugepagedNanos += Math.max(sleep, 1);
        }
        if (nextKhugepagedNanos <= now) {
            nextKhugepagedNanos = now + Math.max(sleep, 1); // scan_sleep_millisecs 0: a million passes are enough
        }
    }

    /**
     * One khugepaged_do_scan: khugepaged_scan_mm_slot over the mm slots until pages_to_scan pages of progress
     * (a skipped VMA counts 1, a scanned PMD range HPAGE_PMD_NR). The cursor is an mm slot and an address; when
     * it passes the last slot, full_scans moves. Slots of exited or PR_SET_THP_DISABLE'd mms are dropped.
     */
    void khugepagedPass() {
        long budget = settings().khugepaged().pagesToScan();
        long progress = 0;
        long pmdSize = 1L << pmdShift;
        int passesThroughHead = 0;
        // khugepaged_do_scan stops after passing the head of the list twice (pass_through_head < 2), and each
        // khugepaged_scan_mm_slot counts one page of progress for taking an mm: a list of mms with nothing to
        // scan cannot keep the pass going.
        while (progress < budget && !khugepagedSlots.isEmpty()) {
            if (khugepagedSlot >= khugepagedSlots.size()) {
                khugepagedSlot = 0;
                khugepagedCursor = 0;
            }
            if (khugepagedSlot == 0 && khugepagedCursor == 0 && ++passesThroughHead > 2) {
                break;
            }
            FakeProcess p = khugepagedSlots.get(khugepagedSlot);
            progress++;
            boolean dropped = p.exited || p.mode == io.mthp4j.api.ProcessThpMode.DISABLED;
            boolean stopped = false;
            if (!dropped) {
                for (VmaInfo vma : p.vmasLocked()) {
                    if (vma.end() <= khugepagedCursor) {
                        continue;
                    }
                    if (!p.gate.allowableOrder(settings(), p.mode, vma, TvaType.KHUGEPAGED, pmdOrder)) {
                        progress++;
                        continue;
                    }
                    long hstart = (vma.start() + pmdSize - 1) & -pmdSize;
                    long hend = vma.end() & -pmdSize;
                    if (khugepagedCursor > hend) {
                        progress++;
                        continue;
                    }
                    khugepagedCursor = Math.max(khugepagedCursor, hstart);
                    while (khugepagedCursor < hend) {
                        if (vma.kind() == VmaKind.ANON) {
                            if (collapseAnon(p, vma, khugepagedCursor >>> pmdShift, true) == SCAN_SUCCEED) {
                                sysfs.addKhugepaged(1, 1);
                            }
                        } else if (kernel.shmem().collapse(p, vma, khugepagedCursor) == SCAN_SUCCEED) {
                            sysfs.addKhugepaged(1, 1);
                        }
                        khugepagedCursor += pmdSize;
                        progress += pmdPages;
                        if (progress >= budget) {
                            stopped = true;
                            break;
                        }
                    }
                    if (stopped) {
                        break;
                    }
                }
            }
            if (stopped && khugepagedCursor < Long.MAX_VALUE && p.vmaAtOrAfter(khugepagedCursor) != null) {
                return; // resume this mm at the cursor next time
            }
            // This mm is done: move to the next slot (collect_mm_slot drops dead or disabled ones).
            if (dropped) {
                khugepagedSlots.remove(khugepagedSlot);
                p.khugepagedRegistered = false;
            } else {
                khugepagedSlot++;
            }
            khugepagedCursor = 0;
            if (khugepagedSlot >= khugepagedSlots.size()) {
                sysfs.addKhugepaged(0, 1);
                khugepagedSlot = 0;
            }
        }
    }

    /**
     * hpage_collapse_scan_pmd then collapse_huge_page for the PMD range {@code pmdIndex} of an anonymous VMA.
     * {@code khugepaged} applies the max_ptes_* limits and the referenced check; MADV_COLLAPSE does not.
     */
    int collapseAnon(FakeProcess p, VmaInfo vma, long pmdIndex, boolean khugepaged) {
        if (!vma.has(VmaFlag.ANON_VMA)) {
            return SCAN_PAGE_ANON;
        }
        PmdTable t = p.tables.get(pmdIndex);
        if (t == null || (t.pte == null && t.pmd == PmdTable.PMD_NONE)) {
            return SCAN_PMD_NULL;
        }
        if (t.pte == null) {
            return SCAN_PMD_MAPPED; // a PMD folio or the huge zero page: nothing to do (observed: returns 0)
        }
        io.mthp4j.api.Khugepaged k = settings().khugepaged();
        int noneOrZero = 0;
        int unmapped = 0;
        int shared = 0;
        int referenced = 0;
        boolean writable = false;
        for (int i = 0; i < pmdPages; i++) {
            int b = t.pte[i];
            if (PmdTable.swap(b)) {
                unmapped++;
                if (khugepaged && unmapped > k.maxPtesSwap()) {
                    vmstat.add(Vmstat.THP_SCAN_EXCEED_SWAP_PTE, 1);
                    return SCAN_EXCEED_SWAP_PTE;
                }
            } else if (b == PmdTable.NONE || b == PmdTable.ZERO) {
                noneOrZero++;
                if (vma.has(VmaFlag.UFFD_ARMED) || (khugepaged && noneOrZero > k.maxPtesNone())) {
                    vmstat.add(Vmstat.THP_SCAN_EXCEED_NONE_PTE, 1);
                    return SCAN_EXCEED_NONE_PTE;
                }
            } else {
                writable = true;
                if ((b & PmdTable.SHARED) != 0 && t.shared[i].mapcount[i & ((1 << t.shared[i].order) - 1)] > 1) {
                    shared++;
                    if (khugepaged && shared > k.maxPtesShared()) {
                        vmstat.add(Vmstat.THP_SCAN_EXCEED_SHARE_PTE, 1);
                        return SCAN_EXCEED_SHARED_PTE;
                    }
                }
                if ((b & PmdTable.YOUNG) != 0) {
                    referenced++;
                }
            }
        }
        if (!writable) {
            return SCAN_PAGE_RO;
        }
        if (khugepaged && (referenced == 0 || (unmapped > 0 && referenced < pmdPages / 2))) {
            return SCAN_LACK_REFERENCED_PAGE;
        }
        // collapse_huge_page
        if (!physical.allocate(pmdOrder)) {
            vmstat.add(Vmstat.THP_COLLAPSE_ALLOC_FAILED, 1);
            return SCAN_ALLOC_HUGE_PAGE_FAIL;
        }
        Memcg memcg = p.memcg;
        if (memcg.overMaxWith(pmdPages) != null) {
            physical.free(pmdPages);
            return SCAN_CGROUP_CHARGE_FAIL;
        }
        vmstat.add(Vmstat.THP_COLLAPSE_ALLOC, 1);
        memcg.addThpEvents(0, 1);
        commitCharge(memcg, pmdPages);
        // Swap in what was swapped out (__collapse_huge_page_swapin), then drop the old pages.
        for (int i = 0; i < pmdPages; i++) {
            if (PmdTable.swap(t.pte[i])) {
                vmstat.add(Vmstat.PSWPIN, 1);
                vmstat.add(Vmstat.PGMAJFAULT, 1);
            }
        }
        zapTable(p, t, 0, pmdPages);
        t.pte = null;
        t.shared = null;
        t.owners = null;
        t.pmd = PmdTable.PMD_FOLIO;
        t.pmdYoung = true;
        t.owner = memcg;
        sysfs.add(pmdOrder, FakeThpSysfs.NR_ANON, 1);
        memcg.addAnon(pmdPages);
        memcg.addAnonThp(pmdPages);
        vmstat.add(Vmstat.NR_ANON_PAGES, pmdPages);
        vmstat.add(Vmstat.NR_ANON_TRANSPARENT_HUGEPAGES, 1);
        p.rssAnon += pmdPages;
        return SCAN_SUCCEED;
    }

    /**
     * madvise_collapse for one VMA's part {@code [start, end)}: EINVAL unless FORCED_COLLAPSE allows the PMD
     * order; each PMD range fully inside is collapsed ignoring max_ptes_* and sysfs; the result is 0 when
     * every range ends PMD-mapped, else the errno of the last failure (madvise_collapse_errno).
     */
    Errno madviseCollapse(FakeProcess p, VmaInfo vma, long start, long end) {
        OrderGate gate = p.gate;
        if (!gate.allowableOrder(settings(), p.mode, vma, TvaType.FORCED_COLLAPSE, pmdOrder)) {
            return Errno.EINVAL;
        }
        long pmdSize = 1L << pmdShift;
        long hstart = (start + pmdSize - 1) & -pmdSize;
        long hend = end & -pmdSize;
        int thps = 0;
        int lastFail = SCAN_SUCCEED;
        for (long a = hstart; a < hend; a += pmdSize) {
            int r = vma.kind() == VmaKind.ANON
                    ? collapseAnon(p, vma, a >>> pmdShift, false)
                    : kernel.shmem().collapse(p, vma, a);
            switch (r) {
                case SCAN_SUCCEED, SCAN_PMD_MAPPED -> thps++;
                case SCAN_PMD_NULL, SCAN_PAGE_RO, SCAN_LACK_REFERENCED_PAGE -> lastFail = r;
                default -> {
                    return collapseErrno(r);
                }
            }
        }
        long total = hend > hstart ? (hend - hstart) >>> pmdShift : 0;
        return thps == total ? null : collapseErrno(lastFail);
    }

    private static Errno collapseErrno(int r) {
        return switch (r) {
            case SCAN_ALLOC_HUGE_PAGE_FAIL -> Errno.ENOMEM;
            case SCAN_CGROUP_CHARGE_FAIL, SCAN_EXCEED_NONE_PTE -> Errno.EBUSY;
            default -> Errno.EINVAL;
        };
    }

    // =====================================================================================================
    // Census (for /proc and tests)
    // =====================================================================================================

    /** Folios mapped by {@code p} in {@code [start, end)}: per order, the number of pages mapped. */
    long[] census(FakeProcess p, long start, long end) {
        long[] pagesByOrder = new long[64];
        for (long key : p.tables.sortedKeys()) {
            PmdTable t = p.tables.get(key);
            long tableStart = key << pmdShift;
            for (int i = 0; i < pmdPages; i++) {
                long a = tableStart + ((long) i << pageShift);
                if (a < start || a >= end) {
                    continue;
                }
                int order = orderAt(t, i);
                if (order >= 0) {
                    pagesByOrder[order]++;
                }
            }
        }
        return pagesByOrder;
    }

    /** The order of the folio mapped at PTE {@code i} of {@code t}, or -1 when nothing is (none, zero, swap). */
    int orderAt(PmdTable t, int i) {
        if (t.pte == null) {
            return t.pmd == PmdTable.PMD_FOLIO ? pmdOrder : -1;
        }
        int b = t.pte[i];
        if (!PmdTable.present(b)) {
            return -1;
        }
        if (t.shmem) {
            return PmdTable.order(b);
        }
        if ((b & PmdTable.SHARED) != 0) {
            return t.shared[i].currentOrder();
        }
        return PmdTable.order(b);
    }

    /** The folio order mapped at {@code addr}, or -1. */
    int orderAtAddress(FakeProcess p, long addr) {
        PmdTable t = p.tables.get(addr >>> pmdShift);
        if (t == null) {
            return -1;
        }
        return orderAt(t, (int) ((addr >>> pageShift) & (pmdPages - 1)));
    }

    boolean pmdMappedAt(FakeProcess p, long addr) {
        PmdTable t = p.tables.get(addr >>> pmdShift);
        return t != null && t.pte == null && t.pmd == PmdTable.PMD_FOLIO;
    }

    boolean sharedAt(FakeProcess p, long addr) {
        PmdTable t = p.tables.get(addr >>> pmdShift);
        if (t == null) {
            return false;
        }
        if (t.pte == null) {
            return t.pmdShared != null && !allMappedOnce(t.pmdShared);
        }
        int i = (int) ((addr >>> pageShift) & (pmdPages - 1));
        return (t.pte[i] & PmdTable.SHARED) != 0 && PmdTable.present(t.pte[i])
                && t.shared[i].mapcount[i & ((1 << t.shared[i].order) - 1)] > 1;
    }

    boolean swapAt(FakeProcess p, long addr) {
        PmdTable t = p.tables.get(addr >>> pmdShift);
        return t != null && t.pte != null && PmdTable.swap(t.pte[(int) ((addr >>> pageShift) & (pmdPages - 1))]);
    }

    private static boolean allMappedOnce(SharedFolio f) {
        for (short c : f.mapcount) {
            if (c > 1) {
                return false;
            }
        }
        return true;
    }

    boolean zeroAt(FakeProcess p, long addr) {
        PmdTable t = p.tables.get(addr >>> pmdShift);
        if (t == null) {
            return false;
        }
        if (t.pte == null) {
            return t.pmd == PmdTable.PMD_HUGE_ZERO;
        }
        return t.pte[(int) ((addr >>> pageShift) & (pmdPages - 1))] == PmdTable.ZERO;
    }

    void khugepagedRegister(FakeProcess p) {
        if (!p.khugepagedRegistered) {
            p.khugepagedRegistered = true;
            khugepagedSlots.add(p);
        }
    }

    /**
     * Anonymous folios alive (exclusive and shared), per order in {@code [0, 64)}, and of those the partially
     * mapped ones at {@code 64 + order}, for invariant checks.
     */
    long[] liveAnonFolios(List<FakeProcess> processes) {
        long[] out = new long[128];
        java.util.Set<SharedFolio> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (FakeProcess p : processes) {
            for (long key : p.tables.sortedKeys()) {
                PmdTable t = p.tables.get(key);
                if (t.shmem) {
                    continue;
                }
                if (t.pte == null) {
                    if (t.pmd == PmdTable.PMD_FOLIO && (t.pmdShared == null || seen.add(t.pmdShared))) {
                        out[pmdOrder]++;
                        if (t.pmdShared != null && t.pmdShared.partial) {
                            out[64 + pmdOrder]++;
                        }
                    }
                    continue;
                }
                for (int i = 0; i < pmdPages; i++) {
                    int b = t.pte[i];
                    if (!PmdTable.present(b)) {
                        continue;
                    }
                    if ((b & PmdTable.SHARED) != 0) {
                        SharedFolio f = t.shared[i];
                        if (seen.add(f) && !f.split) {
                            out[f.order]++;
                            if (f.partial) {
                                out[64 + f.order]++;
                            }
                        }
                        continue;
                    }
                    int order = PmdTable.order(b);
                    int n = 1 << order;
                    if ((i & (n - 1)) == firstExclusive(t, i & -n, n, order)) {
                        out[order]++;
                        if ((b & PmdTable.PARTIAL) != 0) {
                            out[64 + order]++;
                        }
                    }
                }
            }
        }
        return out;
    }

    private static int firstExclusive(PmdTable t, int base, int n, int order) {
        for (int j = base; j < base + n; j++) {
            int c = t.pte[j];
            if (PmdTable.exclusiveOf(c, order)) {
                return j - base;
            }
        }
        return -1;
    }
}
