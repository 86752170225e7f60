package io.mthp4j.fake;

import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaKind;

/**
 * The text of the fake kernel's {@code /proc} and cgroup memory files, in the kernel's formats (observed on
 * our 6.18 machines: /tmp-free copies in docs/fidelity.md). Callers hold the kernel lock.
 */
final class ProcFiles {

    private ProcFiles() {
    }

    /** {@code /proc/<pid>/status}: the memory lines and THP_enabled (0 only under PR_SET_THP_DISABLE, §9). */
    static String status(FakeKernel kernel, FakeProcess p) {
        int shift = kernel.geometry().pageShift() - 10;
        StringBuilder b = new StringBuilder(256);
        b.append("Name:\tfake-").append(p.pid()).append('\n');
        b.append("State:\tS (sleeping)\n");
        b.append("Tgid:\t").append(p.pid()).append('\n');
        b.append("Pid:\t").append(p.pid()).append('\n');
        kb(b, "VmRSS:\t", (p.rssAnon + p.rssShmem) << shift);
        kb(b, "RssAnon:\t", p.rssAnon << shift);
        kb(b, "RssFile:\t", 0);
        kb(b, "RssShmem:\t", p.rssShmem << shift);
        kb(b, "VmSwap:\t", p.swapPages << shift);
        b.append("THP_enabled:\t").append(p.mode == ProcessThpMode.DISABLED ? 0 : 1).append('\n');
        return b.toString();
    }

    private static void kb(StringBuilder b, String label, long kb) {
        b.append(label).append(String.format("%8d", kb)).append(" kB\n");
    }

    /** {@code /proc/<pid>/smaps}: one entry per VMA with the 6.18 field list. */
    static String smaps(FakeKernel kernel, FakeProcess p) {
        MemoryManager mm = kernel.memory();
        long pageKb = kernel.geometry().pageSize() >> 10;
        int pmdOrder = kernel.geometry().pmdOrder();
        StringBuilder b = new StringBuilder(1024);
        for (VmaInfo vma : p.vmasLocked()) {
            long rss = 0;
            long anonHuge = 0;
            long shmemPmd = 0;
            long shared = 0;
            long swap = 0;
            for (long a = vma.start(); a < vma.end(); a += kernel.geometry().pageSize()) {
                int order = mm.orderAtAddress(p, a);
                if (order >= 0) {
                    rss++;
                    boolean pmdMapped = mm.pmdMappedAt(p, a);
                    if (pmdMapped && vma.kind() == VmaKind.ANON) {
                        anonHuge++;
                    }
                    if (order == pmdOrder && vma.kind() != VmaKind.ANON) {
                        shmemPmd++;
                    }
                    if (vma.kind() != VmaKind.ANON || mm.sharedAt(p, a)) {
                        shared++;
                    }
                } else if (mm.swapAt(p, a)) {
                    swap++;
                }
            }
            boolean anon = vma.kind() == VmaKind.ANON;
            b.append(String.format("%08x-%08x %s %08x 00:00 %d ", vma.start(), vma.end(), anon ? "rw-p" : "rw-s",
                    anon ? 0 : vma.pgoff() << kernel.geometry().pageShift(), anon ? 0 : 1));
            if (!anon) {
                b.append(" ".repeat(Math.max(1, 73 - lineLength(b)))).append("/dev/zero (deleted)");
            }
            b.append('\n');
            kb(b, "Size:           ", (vma.end() - vma.start()) >> 10);
            kb(b, "KernelPageSize: ", pageKb);
            kb(b, "MMUPageSize:    ", pageKb);
            kb(b, "Rss:            ", rss * pageKb);
            kb(b, "Pss:            ", rss * pageKb);
            kb(b, "Pss_Dirty:      ", rss * pageKb);
            kb(b, "Shared_Clean:   ", 0);
            kb(b, "Shared_Dirty:   ", shared * pageKb);
            kb(b, "Private_Clean:  ", 0);
            kb(b, "Private_Dirty:  ", (rss - shared) * pageKb);
            kb(b, "Referenced:     ", rss * pageKb);
            kb(b, "Anonymous:      ", anon ? rss * pageKb : 0);
            kb(b, "KSM:            ", 0);
            kb(b, "LazyFree:       ", 0);
            kb(b, "AnonHugePages:  ", anonHuge * pageKb);
            kb(b, "ShmemPmdMapped: ", shmemPmd * pageKb);
            kb(b, "FilePmdMapped:  ", 0);
            kb(b, "Shared_Hugetlb: ", 0);
            kb(b, "Private_Hugetlb:", 0);
            kb(b, "Swap:           ", swap * pageKb);
            kb(b, "SwapPss:        ", swap * pageKb);
            kb(b, "Locked:         ", 0);
            b.append(String.format("THPeligible:    %8d%n", kernel.thpEligible(p, vma) ? 1 : 0));
            b.append("VmFlags: rd wr ").append(anon ? "mr mw me ac " : "sh mr mw me ms ");
            if (vma.has(io.mthp4j.api.VmaFlag.HUGEPAGE)) {
                b.append("hg ");
            }
            if (vma.has(io.mthp4j.api.VmaFlag.NOHUGEPAGE)) {
                b.append("nh ");
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static int lineLength(StringBuilder b) {
        int nl = b.lastIndexOf("\n");
        return b.length() - nl - 1;
    }

    /** {@code /proc/meminfo}: the lines the model knows. */
    static String meminfo(FakeKernel kernel) {
        int shift = kernel.geometry().pageShift() - 10;
        PhysicalMemory pm = kernel.physicalMemory();
        MemoryManager mm = kernel.memory();
        StringBuilder b = new StringBuilder();
        line(b, "MemTotal:", pm.totalPages() << shift);
        line(b, "MemFree:", pm.freePages() << shift);
        line(b, "MemAvailable:", pm.freePages() << shift);
        line(b, "AnonPages:", mm.vmstat.get(Vmstat.NR_ANON_PAGES) << shift);
        line(b, "Shmem:", mm.vmstat.get(Vmstat.NR_SHMEM) << shift);
        line(b, "SwapTotal:", mm.swapTotalPages() << shift);
        line(b, "SwapFree:", (mm.swapTotalPages() - mm.swapUsedPages()) << shift);
        line(b, "AnonHugePages:", (mm.vmstat.get(Vmstat.NR_ANON_TRANSPARENT_HUGEPAGES) << kernel.geometry().pmdOrder()) << shift);
        line(b, "ShmemHugePages:", (mm.vmstat.get(Vmstat.NR_SHMEM_HUGEPAGES) << kernel.geometry().pmdOrder()) << shift);
        return b.toString();
    }

    private static void line(StringBuilder b, String label, long kb) {
        b.append(String.format("%-15s%9d kB%n", label, kb));
    }

    /** cgroup v2 {@code memory.stat}: the items the model keeps, in the kernel's order, in bytes or counts. */
    static String memoryStat(FakeKernel kernel, Memcg m) {
        int shift = kernel.geometry().pageShift();
        return "anon " + (m.anon << shift) + "\n"
                + "file 0\n"
                + "kernel 0\n"
                + "shmem " + (m.shmem << shift) + "\n"
                + "file_mapped 0\n"
                + "anon_thp " + (m.anonThp << shift) + "\n"
                + "file_thp 0\n"
                + "shmem_thp " + (m.shmemThp << shift) + "\n"
                + "pgfault " + m.pgfault + "\n"
                + "pgmajfault " + m.pgmajfault + "\n"
                + "pswpin " + m.pswpin + "\n"
                + "pswpout " + m.pswpout + "\n"
                + "thp_fault_alloc " + m.thpFaultAlloc + "\n"
                + "thp_collapse_alloc " + m.thpCollapseAlloc + "\n";
    }

    /** cgroup v2 {@code memory.events}. */
    static String memoryEvents(long[] events) {
        return "low " + events[0] + "\nhigh " + events[1] + "\nmax " + events[2] + "\noom " + events[3]
                + "\noom_kill " + events[4] + "\noom_group_kill 0\n";
    }
}
