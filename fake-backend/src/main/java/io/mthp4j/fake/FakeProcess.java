package io.mthp4j.fake;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.core.gate.OrderGate;
import io.mthp4j.core.kernel.ThpProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A process of the {@link FakeKernel}: its cgroup, its prctl THP state (kernel-semantics.md §9) and its VMAs
 * with their advice (§7). Memory contents, faults and folios are not modelled yet.
 */
public final class FakeProcess implements ThpProcess {

    /** Where the first mapping is placed; PMD-aligned on every preset. */
    private static final long MMAP_BASE = 1L << 40;

    private final FakeKernel kernel;
    private final int pid;
    private volatile CgroupRef cgroup;
    private volatile ProcessThpMode mode = ProcessThpMode.NONE;
    private final TreeMap<Long, VmaInfo> vmas = new TreeMap<>();
    private long nextAddress = MMAP_BASE;
    private boolean exited;

    FakeProcess(FakeKernel kernel, int pid, CgroupRef cgroup) {
        this.kernel = kernel;
        this.pid = pid;
        this.cgroup = cgroup;
    }

    @Override
    public int pid() {
        return pid;
    }

    public CgroupRef cgroup() {
        return cgroup;
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
     *
     * @return what the kernel returns (0 for SET; 0, 1 or 3 for GET)
     * @throws KernelException EINVAL for bad arguments or an unknown option
     */
    public synchronized int prctl(int option, long arg2, long arg3, long arg4, long arg5) {
        String object = "pid " + pid;
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

    // ---- lifecycle ----

    /** {@code fork()}: a child in the same cgroup with the same prctl state and VMAs (§9: MMF_INIT_MASK). */
    public synchronized FakeProcess fork() {
        FakeProcess child = kernel.spawn(cgroup);
        child.mode = mode;
        synchronized (child) {
            for (VmaInfo vma : vmas.values()) {
                child.vmas.put(vma.start(), vma.withOwner(child.pid, cgroup));
            }
            child.nextAddress = nextAddress;
        }
        return child;
    }

    /** {@code execve()}: the address space is replaced; the prctl state is kept. */
    public synchronized void exec() {
        vmas.clear();
        nextAddress = MMAP_BASE;
    }

    /** Moves the process to another cgroup ({@code echo pid > cgroup.procs}). */
    public synchronized void moveTo(CgroupRef target) {
        kernel.cgroups().node(target);
        CgroupRef from = cgroup;
        cgroup = target;
        kernel.moved(this, from, target);
        vmas.replaceAll((start, vma) -> vma.withOwner(pid, target));
    }

    /** Exits: the process and its memory are gone. */
    public synchronized void exit() {
        if (!exited) {
            exited = true;
            vmas.clear();
            kernel.exited(this);
        }
    }

    // ---- mappings ----

    /** {@code mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)}, PMD-aligned. */
    public synchronized long mmapAnonymous(long length) {
        return map(length, false);
    }

    /** {@code mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS)}: shmem, PMD-aligned. */
    public synchronized long mmapSharedAnonymous(long length) {
        return map(length, true);
    }

    private long map(long length, boolean shared) {
        long page = kernel.geometry().pageSize();
        if (length <= 0) {
            throw new KernelException("mmap(" + length + ")", "pid " + pid, Errno.EINVAL, "length must be positive");
        }
        long len = (length + page - 1) & -page;
        long start = nextAddress;
        long pmd = kernel.geometry().pmdSize();
        nextAddress = (start + len + pmd + pmd - 1) & -pmd; // leave a gap so mappings never merge
        VmaInfo vma = shared ? VmaInfo.sharedAnon(start, start + len) : VmaInfo.anon(start, start + len);
        vmas.put(start, vma.withOwner(pid, cgroup));
        return start;
    }

    /** The VMAs, lowest first. */
    public synchronized List<VmaInfo> vmas() {
        return List.copyOf(vmas.values());
    }

    /** The VMA containing {@code addr}, or null. */
    public synchronized VmaInfo vmaAt(long addr) {
        Map.Entry<Long, VmaInfo> e = vmas.floorEntry(addr);
        return e != null && addr < e.getValue().end() ? e.getValue() : null;
    }

    // ---- madvise (§7) ----

    @Override
    public synchronized void madvise(long start, long length, Madvice advice) {
        String object = "pid " + pid + " [0x" + Long.toHexString(start) + ", +0x" + Long.toHexString(length) + ")";
        kernel.faults().beforeCall("madvise", object);
        String op = "madvise(" + advice + ")";
        long page = kernel.geometry().pageSize();
        if ((start & (page - 1)) != 0 || length < 0) {
            throw new KernelException(op, object, Errno.EINVAL, "start must be page-aligned and length not negative");
        }
        long end = start + ((length + page - 1) & -page);
        if (end < start) {
            throw new KernelException(op, object, Errno.EINVAL, "the range wraps around");
        }
        if (end == start) {
            return;
        }
        if (advice == Madvice.COLLAPSE) {
            collapse(start, end, op, object);
            return;
        }
        boolean hole = false;
        long cursor = start;
        for (VmaInfo vma : overlapping(start, end)) {
            hole |= vma.start() > cursor;
            cursor = vma.end();
            // Split at the range boundaries (§7 [inferred]), then change the flags of the middle part.
            vmas.remove(vma.start());
            long from = Math.max(vma.start(), start);
            long to = Math.min(vma.end(), end);
            int shift = kernel.geometry().pageShift();
            if (vma.start() < from) {
                vmas.put(vma.start(), vma.withRange(vma.start(), from, shift));
            }
            vmas.put(from, vma.withRange(from, to, shift).advised(advice));
            if (to < vma.end()) {
                vmas.put(to, vma.withRange(to, vma.end(), shift));
            }
        }
        if (hole || cursor < end) {
            throw new KernelException(op, object, Errno.ENOMEM, "part of the range is not mapped");
        }
    }

    /** MADV_COLLAPSE: refused with EINVAL where the gate says no (§6); the collapse itself needs the page model. */
    private void collapse(long start, long end, String op, String object) {
        OrderGate gate = kernel.gateBuilder().build();
        for (VmaInfo vma : overlapping(start, end)) {
            if (!gate.allowableOrder(kernel.thp().settings(), mode, vma, TvaType.FORCED_COLLAPSE, kernel.geometry().pmdOrder())) {
                throw new KernelException(op, object, Errno.EINVAL, "THP is disabled for this range (VM_NOHUGEPAGE or "
                        + "PR_SET_THP_DISABLE)");
            }
        }
        throw new UnsupportedOperationException("MADV_COLLAPSE needs the fake kernel's page model, which is not built yet");
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

    @Override
    public String toString() {
        return "FakeProcess[pid " + pid + ", " + cgroup + ", " + mode + ", " + vmas.size() + " VMAs]";
    }
}
