package io.mthp4j.fake;

import io.mthp4j.api.PageGeometry;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The fake kernel's physical memory: a count of free pages and the buddy allocator's answer per order.
 * An allocation of order {@code o} succeeds when {@code 2^o} pages are free, {@code o} is not above the
 * largest free block ({@link #fragment}), no scripted failure is queued for {@code o} ({@link #failNext}),
 * and a seeded coin with the order's failure rate ({@link #failureRate}) says yes. All methods run under
 * the kernel lock; the kernel's methods of the same names take it.
 *
 * <p>Model, not kernel: there is no zone, watermark or compaction. Fragmentation is what a test injects.
 */
public final class PhysicalMemory {

    private final PageGeometry geometry;
    private final long totalPages;
    private final Object lock;
    private final SplittableRandom random;
    private long freePages;
    private int largestFreeOrder;
    private final int[] scriptedFailures = new int[64];
    private final double[] failureRates = new double[64];

    PhysicalMemory(PageGeometry geometry, long totalBytes, long seed, Object lock) {
        this.geometry = geometry;
        this.totalPages = totalBytes >> geometry.pageShift();
        this.freePages = totalPages;
        this.largestFreeOrder = 63;
        this.random = new SplittableRandom(seed);
        this.lock = lock;
    }

    /** Physical memory in pages. */
    public long totalPages() {
        return totalPages;
    }

    /** Free pages now. */
    public long freePages() {
        synchronized (lock) {
            return freePages;
        }
    }

    /**
     * Injects fragmentation: from now on no block above {@code maxOrder} can be allocated (as when the buddy
     * free lists hold nothing larger); {@code 63} lifts the limit.
     */
    public void fragment(int maxOrder) {
        if (maxOrder < 0 || maxOrder > 63) {
            throw new IllegalArgumentException("maxOrder must be in 0..63, was " + maxOrder);
        }
        synchronized (lock) {
            largestFreeOrder = maxOrder;
        }
    }

    /** The next {@code count} allocations of exactly {@code order} fail. */
    public void failNext(int order, int count) {
        checkOrder(order);
        if (count < 0) {
            throw new IllegalArgumentException("count must not be negative, was " + count);
        }
        synchronized (lock) {
            scriptedFailures[order] += count;
        }
    }

    /** Allocations of {@code order} fail with this probability, drawn from the kernel's seed. */
    public void failureRate(int order, double probability) {
        checkOrder(order);
        if (!(probability >= 0 && probability <= 1)) {
            throw new IllegalArgumentException("probability must be in [0, 1], was " + probability);
        }
        synchronized (lock) {
            failureRates[order] = probability;
        }
    }

    /** Removes every injected failure and fragmentation. */
    public void heal() {
        synchronized (lock) {
            largestFreeOrder = 63;
            Arrays.fill(scriptedFailures, 0);
            Arrays.fill(failureRates, 0);
        }
    }

    private void checkOrder(int order) {
        if (order < 0 || order > geometry.pudOrder()) {
            throw new IllegalArgumentException("order must be in 0.." + geometry.pudOrder() + ", was " + order);
        }
    }

    /** Takes {@code 2^order} pages, or answers false. Caller holds the kernel lock. */
    boolean allocate(int order) {
        long pages = 1L << order;
        if (pages > freePages || order > largestFreeOrder) {
            return false;
        }
        if (scriptedFailures[order] > 0) {
            scriptedFailures[order]--;
            return false;
        }
        if (failureRates[order] > 0 && random.nextDouble() < failureRates[order]) {
            return false;
        }
        freePages -= pages;
        return true;
    }

    /** Returns pages. Caller holds the kernel lock. */
    void free(long pages) {
        freePages += pages;
        if (freePages > totalPages) {
            throw new IllegalStateException("freed more pages than exist: " + freePages + " > " + totalPages);
        }
    }
}
