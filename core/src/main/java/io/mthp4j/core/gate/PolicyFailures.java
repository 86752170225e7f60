package io.mthp4j.core.gate;

import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.Orders;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What went wrong when the order gate consulted its policy: calls that threw and calls that returned bits
 * outside the request. Both are treated as "no opinion". The first failure is logged at once, later ones at
 * most once per {@link #LOG_INTERVAL_NANOS} with a count of those not logged, so a broken policy on a hot path
 * cannot flood the log.
 */
public final class PolicyFailures {

    /** At most one log line per this interval. */
    static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final Logger LOG = LoggerFactory.getLogger(OrderGate.class);

    private final String policyName;
    private final LongAdder exceptions = new LongAdder();
    private final LongAdder invalidResults = new LongAdder();
    private final AtomicLong nextLogNanos = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong unlogged = new AtomicLong();

    PolicyFailures(MthpPolicy policy) {
        this.policyName = String.valueOf(policy);
    }

    /** Calls that threw. */
    public long exceptions() {
        return exceptions.sum();
    }

    /** Calls that returned bits outside the request. */
    public long invalidResults() {
        return invalidResults.sum();
    }

    /** All failed calls. */
    public long total() {
        return exceptions() + invalidResults();
    }

    void threw(Throwable e, VmaInfo vma, TvaType type, long orders) {
        exceptions.increment();
        if (shouldLog()) {
            try {
            LOG.warn("policy {} threw for {} on {} asked {}; treated as no opinion ({} failures so far, {} not logged)."
                            + " Fix the policy: it must return a subset of the orders it is asked about.",
                    policyName, type, vma, formatOrders(orders), total(), unlogged.getAndSet(0), e);
            } catch (RuntimeException | LinkageError logFailure) {
                // An exception that cannot even be printed must not break the caller either.
                LOG.warn("policy {} threw an exception that could not be logged ({}); treated as no opinion",
                        policyName, logFailure.getClass().getName());
            }
        }
    }

    void invalid(long answer, VmaInfo vma, TvaType type, long orders) {
        invalidResults.increment();
        if (shouldLog()) {
            LOG.warn("policy {} returned 0x{} for {} on {} asked 0x{}: bits 0x{} were not asked about; treated as no"
                            + " opinion ({} failures so far, {} not logged). A policy returns a subset of its request.",
                    policyName, Long.toHexString(answer), type, vma, Long.toHexString(orders),
                    Long.toHexString(answer & ~orders), total(), unlogged.getAndSet(0));
        }
    }

    private boolean shouldLog() {
        long now = System.nanoTime();
        long next = nextLogNanos.get();
        if ((next == Long.MIN_VALUE || now - next >= 0) && nextLogNanos.compareAndSet(next, now + LOG_INTERVAL_NANOS)) {
            return true;
        }
        unlogged.incrementAndGet();
        return false;
    }

    private static String formatOrders(long orders) {
        return "0x" + Long.toHexString(orders) + " (orders " + describe(orders) + ")";
    }

    private static String describe(long orders) {
        StringBuilder out = new StringBuilder();
        for (long rest = orders; rest != 0; ) {
            int order = Orders.highest(rest);
            rest &= ~(1L << order);
            out.append(out.length() > 0 ? "," : "").append(order);
        }
        return out.length() == 0 ? "none" : out.toString();
    }

    @Override
    public String toString() {
        return "PolicyFailures[exceptions=" + exceptions() + ", invalidResults=" + invalidResults() + "]";
    }
}
