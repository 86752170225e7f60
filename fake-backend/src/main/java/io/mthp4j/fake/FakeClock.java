package io.mthp4j.fake;

import java.time.Duration;

/**
 * Virtual time for the fake kernel: it moves only when a test or a driver calls {@link #advance}, so runs are
 * deterministic. Starts at 0 ns of {@code CLOCK_BOOTTIME}. Threads waiting on fake time (PSI triggers) wake
 * when it is advanced.
 */
public final class FakeClock {

    private long nanos;

    /** Now, in nanoseconds since boot. */
    public synchronized long nanos() {
        return nanos;
    }

    /** Moves time forward and wakes waiters. */
    public synchronized void advance(Duration by) {
        if (by.isNegative()) {
            throw new IllegalArgumentException("time only moves forward; cannot advance by " + by);
        }
        nanos = Math.addExact(nanos, by.toNanos());
        notifyAll();
    }

    /** Waits (really) until fake time reaches {@code deadline} or {@code done} holds; returns {@code done}'s value. */
    synchronized boolean awaitUntil(long deadline, java.util.function.BooleanSupplier done) throws InterruptedException {
        while (!done.getAsBoolean() && nanos < deadline) {
            wait();
        }
        return done.getAsBoolean();
    }

    synchronized void wakeAll() {
        notifyAll();
    }
}
