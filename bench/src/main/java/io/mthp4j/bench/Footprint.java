package io.mthp4j.bench;

import io.mthp4j.api.Madvice;
import io.mthp4j.fake.FakeKernel;
import io.mthp4j.fake.FakeProcess;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;

/**
 * Target {@code fake_bytes_per_page}: the heap the fake kernel keeps per touched 4 KiB page, measured as the live
 * heap after a full collection, before and after {@value #GIB} GiB of 4 KiB-only memory is written (so each page
 * has its PTE, its memcg charge and its counters), divided by the pages. The kernel and the process stay
 * reachable across both readings. {@link BenchMain} runs it in its own JVM, where nothing else allocates between
 * the readings (the JMH benchmarks run in forks).
 */
final class Footprint {

    static final int GIB = 8;

    private Footprint() {
    }

    /** Bytes of live heap per touched page. */
    static double bytesPerPage() {
        FakeKernel kernel = FakeKernel.create();
        FakeProcess p = kernel.currentProcess();
        long length = (long) GIB << 30;
        long addr = p.mmapAnonymous(length);
        p.madvise(addr, length, Madvice.NOHUGEPAGE);
        p.write(addr, kernel.geometry().pageSize()); // first fault: lazily built state is not per page
        long before = liveHeap();
        p.write(addr, length);
        long after = liveHeap();
        long pages = length / kernel.geometry().pageSize() - 1;
        if (p.rssAnonBytes() != length) {
            throw new IllegalStateException("the fake kernel mapped " + p.rssAnonBytes() + " bytes, not " + length);
        }
        Reference.reachabilityFence(kernel);
        Reference.reachabilityFence(p);
        return (double) (after - before) / pages;
    }

    /** Heap in use after full collections, once it stops shrinking. */
    static long liveHeap() {
        MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            long used = mx.getHeapMemoryUsage().getUsed();
            if (used >= best) {
                break;
            }
            best = used;
        }
        return best;
    }

    public static void main(String[] args) {
        System.out.println("fake_bytes_per_page=" + bytesPerPage());
    }
}
