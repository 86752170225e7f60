package io.mthp4j.fake;

import java.util.ArrayList;
import java.util.List;

/**
 * The fake kernel's invariants, checked by tests after every step of a model-based run: per-size nr_anon equals
 * the live folios of that size, memory.current equals what is charged, memcg counters are hierarchical, every
 * mapped page lies in a VMA, and each process's RSS matches its page tables. Called under the kernel lock.
 */
final class Invariants {

    private Invariants() {
    }

    static void check(FakeKernel kernel, MemoryManager mm, FakeKernel.Cgroups.Node root) {
        List<FakeProcess> procs = kernel.processes();
        long[] live = mm.liveAnonFolios(procs);
        FakeThpSysfs sysfs = kernel.sysfs();
        for (long rest = kernel.geometry().allAnonOrders(); rest != 0; rest &= rest - 1) {
            int o = Long.numberOfTrailingZeros(rest);
            long gauge = sysfs.stat(o, FakeThpSysfs.NR_ANON);
            if (gauge != live[o]) {
                throw new AssertionError("nr_anon of order " + o + " is " + gauge + " but " + live[o] + " folios are alive");
            }
            long partial = sysfs.stat(o, FakeThpSysfs.NR_ANON_PARTIALLY_MAPPED);
            if (partial != live[64 + o]) {
                throw new AssertionError("nr_anon_partially_mapped of order " + o + " is " + partial + " but "
                        + live[64 + o] + " live folios are partially mapped");
            }
        }
        PhysicalMemory pm = kernel.physicalMemory();
        long used = pm.totalPages() - pm.freePages();
        if (root.memcg.charged != used) {
            throw new AssertionError("memory.current of the root is " + root.memcg.charged + " pages but " + used
                    + " pages are allocated");
        }
        if (root.memcg.anon != mm.vmstat.get(Vmstat.NR_ANON_PAGES)) {
            throw new AssertionError("memory.stat anon of the root is " + root.memcg.anon + " pages but nr_anon_pages is "
                    + mm.vmstat.get(Vmstat.NR_ANON_PAGES));
        }
        if (mm.swapUsedPages() < 0 || mm.swapUsedPages() > mm.swapTotalPages()) {
            throw new AssertionError("swap used " + mm.swapUsedPages() + " of " + mm.swapTotalPages());
        }
        checkHierarchy(root);
        for (FakeProcess p : procs) {
            checkProcess(kernel, mm, p);
        }
    }

    private static void checkHierarchy(FakeKernel.Cgroups.Node node) {
        long children = 0;
        for (FakeKernel.Cgroups.Node c : new ArrayList<>(node.children)) {
            checkHierarchy(c);
            children += c.memcg.charged;
        }
        Memcg m = node.memcg;
        if (m.charged < children || m.charged < 0 || m.anon < 0 || m.shmem < 0 || m.swap < 0 || m.anonThp < 0) {
            throw new AssertionError("memcg counters of " + node.ref.path() + " are inconsistent: charged " + m.charged
                    + " (children " + children + "), anon " + m.anon + ", shmem " + m.shmem + ", swap " + m.swap);
        }
    }

    private static void checkProcess(FakeKernel kernel, MemoryManager mm, FakeProcess p) {
        int pageShift = kernel.geometry().pageShift();
        int pmdShift = pageShift + kernel.geometry().pmdOrder();
        int pmdPages = kernel.geometry().pmdPages();
        long anon = 0;
        long shmem = 0;
        long swap = 0;
        for (long key : p.tables.sortedKeys()) {
            PmdTable t = p.tables.get(key);
            long base = key << pmdShift;
            if (t.pte == null) {
                if (t.pmd == PmdTable.PMD_FOLIO) {
                    anon += pmdPages;
                    if (p.vmaAtLocked(base) == null || p.vmaAtLocked(base + (1L << pmdShift) - 1) == null) {
                        throw new AssertionError("pid " + p.pid() + ": a PMD folio at 0x" + Long.toHexString(base)
                                + " is not inside a VMA");
                    }
                }
                continue;
            }
            for (int i = 0; i < pmdPages; i++) {
                int b = t.pte[i];
                if (b == PmdTable.NONE) {
                    continue;
                }
                long addr = base + ((long) i << pageShift);
                if (p.vmaAtLocked(addr) == null) {
                    throw new AssertionError("pid " + p.pid() + ": page 0x" + Long.toHexString(addr) + " is mapped outside every VMA");
                }
                if (PmdTable.swap(b)) {
                    swap++;
                } else if (PmdTable.present(b)) {
                    if ((b & PmdTable.SHARED) != 0 && !t.shmem && (t.shared == null || t.shared[i] == null)) {
                        throw new AssertionError("pid " + p.pid() + ": page 0x" + Long.toHexString(addr)
                                + " is marked shared but has no shared folio");
                    }
                    if (t.shmem) {
                        shmem++;
                    } else {
                        anon++;
                    }
                }
            }
        }
        if (anon != p.rssAnon || shmem != p.rssShmem || swap != p.swapPages) {
            throw new AssertionError("pid " + p.pid() + ": RssAnon/RssShmem/VmSwap are " + p.rssAnon + "/" + p.rssShmem + "/"
                    + p.swapPages + " pages but the page tables map " + anon + "/" + shmem + "/" + swap);
        }
    }
}
