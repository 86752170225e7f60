package io.mthp4j.fake;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.gate.OrderGate;
import io.mthp4j.core.kernel.ThpProcess;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A process of the {@link FakeKernel}: its cgroup, its prctl THP state (kernel-semantics.md §9), its VMAs and
 * their advice (§7), and its page tables. Touching memory ({@link #write}, {@link #read}) runs the kernel's
 * fault path (§5), so the folio sizes a process gets, the counters that move and the memory it is charged
 * are what the kernel would produce for the same settings, advice and memory state.
 *
 * <p>Thread-safe: every operation runs under the kernel lock.
 */
public final class FakeProcess implements ThpProcess {

    /** Where the first mapping is placed; PMD-aligned on every preset. */
    private static final long MMAP_BASE = 1L << 40;

    /** One mmap'd region: where its file offset 0 is, and its shmem file for shared mappings. */
    record Region(long base, long start, long end, Shmem.File shmem) {
    }

    private final FakeKernel kernel;
    private final int pid;
    private volatile CgroupRef cgroup;
    volatile ProcessThpMode mode = ProcessThpMode.NONE;
    private final TreeMap<Long, VmaInfo> vmas = new TreeMap<>();
    private final TreeMap<Long, Region> regions = new TreeMap<>();
    private long nextAddress = MMAP_BASE;
    volatile boolean exited;
    volatile boolean killed;
    String oomReason;

    // The mm: page tables, khugepaged registration, counters. Guarded by the kernel lock.
    final LongMap<PmdTable> tables = new LongMap<>();
    Memcg memcg;
    OrderGate gate;
    boolean khugepagedRegistered;
    /**
     * Whether faults enter khugepaged as BPF-THP patch 04 does (§14.5): set while a BPF-THP policy (global or
     * per process) applies to this process; otherwise mainline 6.18's place, the PMD fault path (§5.2).
     */
    boolean bpfThpFaultEnter;
    long rssAnon;
    long rssShmem;
    long swapPages;
    long reclaimCursor;
    /** A per-process policy (BPF-THP v10+ scoping), inherited on fork and kept on exec; null for none. */
    MthpPolicy processPolicy;

    FakeProcess(FakeKernel kernel, int pid, CgroupRef cgroup, Memcg memcg) {
        this.kernel = kernel;
        this.pid = pid;
        this.cgroup = cgroup;
        this.memcg = memcg;
    }

    @Override
    public int pid() {
        return pid;
    }

    @Override
    public CgroupRef cgroup() {
        return cgroup;
    }

    /** Whether the process is gone (exited or OOM-killed). */
    public boolean exited() {
        return exited;
    }

    /** Whether the OOM killer killed it. */
    public boolean oomKilled() {
        return killed;
    }

    // ---- prctl (§9) ----

    @Override
    public ProcessThpMode thpMode() {
        return ProcessThpMode.ofPrGetValue(prctl(ProcessThpMode.PR_GET_THP_DISABLE, 0, 0, 0, 0));
    }

    @Override
    public void setThpMode(ProcessThpMode newMode) {
        prctl(ProcessThpMode.PR_SET_THP_DISABLE, newMode.prSetArg2(), newMode.prSetArg3(), 0, 0);
    }

    /**
     * {@code prctl(option, arg2, arg3, arg4, arg5)} for the THP options, with the kernel's argument checks.
     * Existing huge pages are not split.
     *
     * @return what the kernel returns (0 for SET; 0, 1 or 3 for GET)
     * @throws KernelException EINVAL for bad arguments or an unknown option
     */
    public int prctl(int option, long arg2, long arg3, long arg4, long arg5) {
        synchronized (kernel.lock) {
            String object = "pid " + pid;
            checkAlive("prctl");
            kernel.faults().beforeCall("prctl", object);
            String op = "prctl(" + option + ", " + arg2 + ", " + arg3 + ", " + arg4 + ", " + arg5 + ")";
            if (option == ProcessThpMode.PR_GET_THP_DISABLE) {
                if (arg2 != 0 || arg3 != 0 || arg4 != 0 || arg5 != 0) {
                    throw new KernelException(op, object, Errno.EINVAL, "PR_GET_THP_DISABLE takes no arguments");
                }
                return mode.prGetValue();
            }
            if (option != ProcessThpMode.PR_SET_THP_DISABLE) {
                throw new KernelException(op, object, Errno.EINVAL, "only PR_SET_THP_DISABLE and PR_GET_THP_DISABLE are modelled");
            }
            if (arg4 != 0 || arg5 != 0) {
                throw new KernelException(op, object, Errno.EINVAL, "arg4 and arg5 must be 0");
            }
            if ((arg2 == 0 && arg3 != 0) || (arg3 & ~(long) ProcessThpMode.PR_THP_DISABLE_EXCEPT_ADVISED) != 0) {
                throw new KernelException(op, object, Errno.EINVAL, "flags are allowed only when disabling, and only "
                        + "PR_THP_DISABLE_EXCEPT_ADVISED");
            }
            mode = arg2 == 0 ? ProcessThpMode.NONE : arg3 == 0 ? ProcessThpMode.DISABLED : ProcessThpMode.DISABLED_EXCEPT_ADVISED;
            return 0;
        }
    }

    // ---- lifecycle ----

    /**
     * {@code fork()}: a child in the same cgroup with the same prctl state, VMAs and memory; anonymous pages
     * are shared copy-on-write, shmem is shared (§9: MMF_INIT_MASK; khugepaged_fork).
     */
    public FakeProcess fork() {
        synchronized (kernel.lock) {
            checkAlive("fork");
            FakeProcess child = kernel.spawn(cgroup);
            child.mode = mode;
            child.processPolicy = processPolicy;
            kernel.rebuildGate(child);
            for (VmaInfo vma : vmas.values()) {
                child.vmas.put(vma.start(), vma.withOwner(child.pid, cgroup));
            }
            for (Region r : regions.values()) {
                child.regions.put(r.start(), r);
                if (r.shmem() != null) {
                    r.shmem().mappers++;
                }
            }
            child.nextAddress = nextAddress;
            kernel.memory().fork(this, child);
            if (khugepagedRegistered) {
                kernel.memory().khugepagedRegister(child);
            }
            return child;
        }
    }

    /** {@code execve()}: the address space is replaced; the prctl state (and a per-process policy) is kept. */
    public void exec() {
        synchronized (kernel.lock) {
            checkAlive("exec");
            dropAddressSpace();
            nextAddress = MMAP_BASE;
        }
    }

    private void dropAddressSpace() {
        kernel.memory().exitMm(this);
        for (Region r : regions.values()) {
            if (r.shmem() != null) {
                kernel.shmem().release(r.shmem());
            }
        }
        regions.clear();
        vmas.clear();
    }

    /** Moves the process to another cgroup ({@code echo pid > cgroup.procs}); its charges stay where they are. */
    public void moveTo(CgroupRef target) {
        synchronized (kernel.lock) {
            checkAlive("move");
            FakeKernel.Cgroups.Node node = kernel.cgroups().node(target);
            CgroupRef from = cgroup;
            cgroup = target;
            memcg = node.memcg;
            kernel.moved(this, from, target);
            vmas.replaceAll((start, vma) -> vma.withOwner(pid, target));
            kernel.rebuildGate(this);
        }
    }

    /** Exits: the process and its memory are gone. */
    public void exit() {
        synchronized (kernel.lock) {
            if (!exited) {
                exited = true;
                dropAddressSpace();
                kernel.exited(this);
            }
        }
    }

    private void checkAlive(String op) {
        if (exited) {
            throw new KernelException(op, "pid " + pid, Errno.ESRCH, killed ? "the OOM killer killed it (" + oomReason + ")"
                    : "the process has exited");
        }
    }

    // ---- mappings ----

    /** {@code mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)}, PMD-aligned. */
    public long mmapAnonymous(long length) {
        return map(length, false);
    }

    /** {@code mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS)}: shmem, PMD-aligned. */
    public long mmapSharedAnonymous(long length) {
        return map(length, true);
    }

    private long map(long length, boolean shared) {
        synchronized (kernel.lock) {
            checkAlive("mmap");
            kernel.faults().beforeCall("mmap", "pid " + pid);
            long page = kernel.geometry().pageSize();
            if (length <= 0) {
                throw new KernelException("mmap(" + length + ")", "pid " + pid, Errno.EINVAL, "length must be positive");
            }
            long len = (length + page - 1) & -page;
            long start = nextAddress;
            long pmd = kernel.geometry().pmdSize();
            nextAddress = (start + len + pmd + pmd - 1) & -pmd; // a gap, so mappings never share a PMD or merge
            VmaInfo vma = shared ? VmaInfo.sharedAnon(start, start + len).withFileSize(len) : VmaInfo.anon(start, start + len);
            vma = vma.withOwner(pid, cgroup);
            vmas.put(start, vma);
            regions.put(start, new Region(start, start, start + len,
                    shared ? new Shmem.File(len >>> kernel.geometry().pageShift()) : null));
            kernel.memory().khugepagedEnter(this, vma); // VMA creation registers the mm [inferred, §6]
            return start;
        }
    }

    /**
     * {@code munmap(start, length)}: EINVAL for an unaligned start or a zero length; unmapping nothing is fine.
     * Partly unmapped large folios go to the deferred-split queue.
     */
    public void munmap(long start, long length) {
        synchronized (kernel.lock) {
            checkAlive("munmap");
            String object = describe(start);
            kernel.faults().beforeCall("munmap", object);
            long page = kernel.geometry().pageSize();
            if ((start & (page - 1)) != 0 || length <= 0) {
                throw new KernelException("munmap", object, Errno.EINVAL, "start must be page-aligned and length positive");
            }
            long end = start + ((length + page - 1) & -page);
            kernel.memory().zap(this, start, end);
            int shift = kernel.geometry().pageShift();
            for (VmaInfo vma : overlapping(start, end)) {
                vmas.remove(vma.start());
                if (vma.start() < start) {
                    vmas.put(vma.start(), vma.withRange(vma.start(), start, shift));
                }
                if (end < vma.end()) {
                    vmas.put(end, vma.withRange(end, vma.end(), shift));
                }
            }
            for (Region r : new ArrayList<>(regions.subMap(regions.floorKey(start) == null ? start : regions.floorKey(start), end).values())) {
                if (r.end() <= start || r.start() >= end) {
                    continue;
                }
                regions.remove(r.start());
                int pieces = 0;
                if (r.start() < start) {
                    regions.put(r.start(), new Region(r.base(), r.start(), start, r.shmem()));
                    pieces++;
                }
                if (end < r.end()) {
                    regions.put(end, new Region(r.base(), end, r.end(), r.shmem()));
                    pieces++;
                }
                if (r.shmem() != null) {
                    r.shmem().mappers += pieces;
                    kernel.shmem().release(r.shmem());
                }
            }
            freePageTables(start, end);
        }
    }

    /** free_pgtables: page tables whose PMD range no VMA covers any more go. */
    private void freePageTables(long start, long end) {
        int pmdShift = kernel.geometry().pageShift() + kernel.geometry().pmdOrder();
        for (long idx = start >>> pmdShift; idx <= (end - 1) >>> pmdShift; idx++) {
            long from = idx << pmdShift;
            long to = (idx + 1) << pmdShift;
            if (overlapping(from, to).isEmpty()) {
                tables.remove(idx);
            }
        }
    }

    /** {@code madvise(start, length, MADV_DONTNEED)}: drops the pages; the page tables and VMAs stay. */
    public void dontneed(long start, long length) {
        synchronized (kernel.lock) {
            checkAlive("madvise");
            String object = describe(start);
            kernel.faults().beforeCall("madvise", object);
            long end = checkRange("madvise(MADV_DONTNEED)", object, start, length);
            boolean hole = holes(start, end);
            kernel.memory().zap(this, start, end);
            if (hole) {
                throw new KernelException("madvise(MADV_DONTNEED)", object, Errno.ENOMEM, "part of the range is not mapped");
            }
        }
    }

    /** The VMAs, lowest first. */
    public List<VmaInfo> vmas() {
        synchronized (kernel.lock) {
            return List.copyOf(vmas.values());
        }
    }

    /** The VMA containing {@code addr}, or null. */
    public VmaInfo vmaAt(long addr) {
        synchronized (kernel.lock) {
            Map.Entry<Long, VmaInfo> e = vmas.floorEntry(addr);
            return e != null && addr < e.getValue().end() ? e.getValue() : null;
        }
    }

    /** {@link #vmaAt} for callers already holding the kernel lock. */
    VmaInfo vmaAtLocked(long addr) {
        Map.Entry<Long, VmaInfo> e = vmas.floorEntry(addr);
        return e != null && addr < e.getValue().end() ? e.getValue() : null;
    }

    /** The VMAs, for callers already holding the kernel lock. */
    List<VmaInfo> vmasLocked() {
        return new ArrayList<>(vmas.values());
    }

    VmaInfo vmaAtOrAfter(long addr) {
        Map.Entry<Long, VmaInfo> e = vmas.floorEntry(addr);
        if (e != null && addr < e.getValue().end()) {
            return e.getValue();
        }
        Map.Entry<Long, VmaInfo> next = vmas.higherEntry(addr);
        return next == null ? null : next.getValue();
    }

    Region regionAt(long addr) {
        Map.Entry<Long, Region> e = regions.floorEntry(addr);
        return e != null && addr < e.getValue().end() ? e.getValue() : null;
    }

    /** Sets VM_ANON_VMA on the VMA at its first fault (anon_vma_prepare) and returns the VMA as it is now. */
    VmaInfo ensureAnonVma(VmaInfo vma) {
        if (vma.has(VmaFlag.ANON_VMA)) {
            return vma;
        }
        VmaInfo updated = vma.withFlags(VmaFlag.ANON_VMA);
        vmas.put(vma.start(), updated);
        return updated;
    }

    // ---- touching memory (§5) ----

    /** Writes to every page of {@code [addr, addr + length)}: write faults where a page is not yet writable. */
    public void write(long addr, long length) {
        touch(addr, length, true);
    }

    /** Reads every page of {@code [addr, addr + length)}: read faults map the zero page (§5.3). */
    public void read(long addr, long length) {
        touch(addr, length, false);
    }

    private void touch(long addr, long length, boolean write) {
        try {
            synchronized (kernel.lock) {
                checkAlive(write ? "write" : "read");
                if (length <= 0) {
                    throw new IllegalArgumentException("length must be positive, was " + length);
                }
                kernel.memory().access(this, addr, addr + length, write);
            }
        } finally {
            kernel.settle();
        }
    }

    void minorFault() {
        memcg.addFaults(1, 0);
        kernel.memory().vmstat.add(Vmstat.PGFAULT, 1);
    }

    // ---- madvise (§7) ----

    @Override
    public void madvise(long start, long length, Madvice advice) {
        try {
            synchronized (kernel.lock) {
                madviseLocked(start, length, advice);
            }
        } finally {
            kernel.settle();
        }
    }

    private void madviseLocked(long start, long length, Madvice advice) {
        String object = describe(start) + " +0x" + Long.toHexString(length);
        checkAlive("madvise");
        kernel.faults().beforeCall("madvise", object);
        String op = "madvise(" + advice + ")";
        long end = checkRange(op, object, start, length);
        if (end == start) {
            return;
        }
        boolean hole = holes(start, end);
        if (advice == Madvice.COLLAPSE) {
            // madvise_walk_vmas: madvise_collapse per VMA on its part of the range; the first error stops the
            // walk; a hole gives ENOMEM at the end (observed: the parts around a hole are collapsed).
            for (VmaInfo vma : overlapping(start, end)) {
                Errno e = kernel.memory().madviseCollapse(this, vma, Math.max(start, vma.start()), Math.min(end, vma.end()));
                if (e != null) {
                    throw new KernelException(op, object, e, collapseHint(e));
                }
            }
        } else {
            int shift = kernel.geometry().pageShift();
            for (VmaInfo vma : overlapping(start, end)) {
                // Split at the range boundaries (§7 [inferred]), then change the flags of the middle part.
                vmas.remove(vma.start());
                long from = Math.max(vma.start(), start);
                long to = Math.min(vma.end(), end);
                if (vma.start() < from) {
                    vmas.put(vma.start(), vma.withRange(vma.start(), from, shift));
                }
                VmaInfo advised = vma.withRange(from, to, shift).advised(advice);
                vmas.put(from, advised);
                if (to < vma.end()) {
                    vmas.put(to, vma.withRange(to, vma.end(), shift));
                }
                if (advice == Madvice.HUGEPAGE) {
                    kernel.memory().khugepagedEnter(this, advised);
                }
            }
        }
        if (hole) {
            throw new KernelException(op, object, Errno.ENOMEM, "part of the range is not mapped");
        }
    }

    private static String collapseHint(Errno e) {
        return switch (e) {
            case ENOMEM -> "no PMD-sized folio could be allocated";
            case EBUSY -> "the memcg charge failed";
            default -> "THP is disabled for this range (MADV_NOHUGEPAGE or PR_SET_THP_DISABLE), or a PMD range "
                    + "has no page to collapse, or crosses the VMA";
        };
    }

    private long checkRange(String op, String object, long start, long length) {
        long page = kernel.geometry().pageSize();
        if ((start & (page - 1)) != 0 || length < 0) {
            throw new KernelException(op, object, Errno.EINVAL, "start must be page-aligned and length not negative");
        }
        long end = start + ((length + page - 1) & -page);
        if (end < start) {
            throw new KernelException(op, object, Errno.EINVAL, "the range wraps around");
        }
        return end;
    }

    private boolean holes(long start, long end) {
        long cursor = start;
        for (VmaInfo vma : overlapping(start, end)) {
            if (vma.start() > cursor) {
                return true;
            }
            cursor = vma.end();
        }
        return cursor < end;
    }

    private List<VmaInfo> overlapping(long start, long end) {
        List<VmaInfo> out = new ArrayList<>();
        Long from = vmas.floorKey(start);
        for (VmaInfo vma : vmas.tailMap(from == null ? start : from).values()) {
            if (vma.start() >= end) {
                break;
            }
            if (vma.end() > start) {
                out.add(vma);
            }
        }
        return out;
    }

    String describe(long addr) {
        return "pid " + pid + " 0x" + Long.toHexString(addr);
    }

    // ---- what the process has ----

    /**
     * The size of the folio that maps {@code addr}, in bytes: 0 if nothing is mapped there (never touched,
     * unmapped, swapped out, or the zero page).
     */
    public long folioSizeAt(long addr) {
        synchronized (kernel.lock) {
            int order = kernel.memory().orderAtAddress(this, addr);
            return order < 0 ? 0 : kernel.geometry().bytes(order);
        }
    }

    /** Whether {@code addr} maps the zero page (or the huge zero page). */
    public boolean zeroPageAt(long addr) {
        synchronized (kernel.lock) {
            return kernel.memory().zeroAt(this, addr);
        }
    }

    /**
     * The folio census of {@code [start, start + length)}, like the kernel's tools/mm/thpmaps: mapped bytes per
     * folio size (sizes with no bytes left out), smallest first.
     */
    public SortedMap<Long, Long> census(long start, long length) {
        synchronized (kernel.lock) {
            long[] pages = kernel.memory().census(this, start, start + length);
            TreeMap<Long, Long> out = new TreeMap<>();
            for (int o = 0; o < pages.length; o++) {
                if (pages[o] > 0) {
                    out.put(kernel.geometry().bytes(o), pages[o] * kernel.geometry().pageSize());
                }
            }
            return Collections.unmodifiableSortedMap(out);
        }
    }

    /** Resident anonymous memory in bytes (RssAnon). */
    public long rssAnonBytes() {
        synchronized (kernel.lock) {
            return rssAnon << kernel.geometry().pageShift();
        }
    }

    /** Resident shmem in bytes (RssShmem). */
    public long rssShmemBytes() {
        synchronized (kernel.lock) {
            return rssShmem << kernel.geometry().pageShift();
        }
    }

    /** {@code RssAnon + RssShmem}, as {@code /proc/<pid>/status} shows them. */
    @Override
    public long anonShmemBytes() {
        synchronized (kernel.lock) {
            return (rssAnon + rssShmem) << kernel.geometry().pageShift();
        }
    }

    /** Swapped-out memory in bytes (VmSwap). */
    public long swapBytes() {
        synchronized (kernel.lock) {
            return swapPages << kernel.geometry().pageShift();
        }
    }

    /** Whether the mm is on khugepaged's list (MMF_VM_HUGEPAGE). */
    public boolean registeredWithKhugepaged() {
        synchronized (kernel.lock) {
            return khugepagedRegistered;
        }
    }

    @Override
    public String toString() {
        return "FakeProcess[pid " + pid + ", " + cgroup + ", " + mode + ", " + vmas.size() + " VMAs]";
    }
}
