package io.mthp4j.fake;

import java.time.Duration;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongConsumer;

/**
 * Virtual time for the fake kernel: it moves only when a test or a driver calls {@link #advance} (or when a
 * modeled stall passes), so runs are deterministic. Starts at 0 ns of {@code CLOCK_BOOTTIME}. When it moves,
 * the kernel runs what is due (khugepaged, PSI), then threads waiting on fake time (PSI triggers) wake.
 */
public final class FakeClock {

    private long nanos;
    private final CopyOnWriteArrayList<LongConsumer> listeners = new CopyOnWriteArrayList<>();

    /** Now, in nanoseconds since boot. */
    public synchronized long nanos() {
        return nanos;
    }

    /** Moves time forward, runs what became due, and wakes waiters. */
    public void advance(Duration by) {
        if (by.isNegative()) {
            throw new IllegalArgumentException("time only moves forward; cannot advance by " + by);
        }
        long now;
        synchronized (this) {
            nanos = Math.addExact(nanos, by.toNanos());
            now = nanos;
        }
        for (LongConsumer l : listeners) {
            l.accept(now);
        }
        wakeAll();
    }

    void onAdvance(LongConsumer listener) {
        listeners.add(listener);
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
