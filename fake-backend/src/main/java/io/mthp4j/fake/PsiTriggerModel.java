package io.mthp4j.fake;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One PSI trigger (struct psi_trigger) and its growth-tracking window, evaluated by its {@link PsiGroup}:
 * by the RT poller if privileged, by the 2 s averaging work otherwise (kernel-semantics.md §10.4). Created
 * through {@link PsiFile#write}; {@link PsiGroup} holds the lock for everything but the event flag.
 *
 * <p>Kernel details kept on purpose (psi.c, 6.18): the window starts from the RT poller's total even for an
 * unprivileged trigger, so on a group whose poller never ran the first growth is all stall since boot;
 * {@code window_update} keeps {@code remaining} in a u32, which wraps for windows above 4.29 s; no event can
 * fire in the first window after boot ({@code last_event_time} starts at 0).
 */
final class PsiTriggerModel {

    private final PsiGroup group;
    private final int state;
    private final long threshold;
    private final long winSize;
    private final boolean privileged;

    // struct psi_window
    private long winStartTime;
    private long winStartValue;
    private long winPrevGrowth;
    private long lastEventTime;
    private boolean pendingEvent;

    private final AtomicInteger event = new AtomicInteger();
    private volatile Runnable listener;
    private volatile boolean destroyed;
    private long events;
    private long lastFiredAt = -1;

    PsiTriggerModel(PsiGroup group, int state, long thresholdNanos, long windowNanos, boolean privileged) {
        this.group = group;
        this.state = state;
        this.threshold = thresholdNanos;
        this.winSize = windowNanos;
        this.privileged = privileged;
    }

    PsiGroup group() {
        return group;
    }

    /** {@link PsiGroup#SOME} or {@link PsiGroup#FULL}. */
    int state() {
        return state;
    }

    boolean privileged() {
        return privileged;
    }

    long thresholdNanos() {
        return threshold;
    }

    long windowSizeNanos() {
        return winSize;
    }

    /** window_reset. */
    void windowReset(long now, long value, long prevGrowth) {
        winStartTime = now;
        winStartValue = value;
        winPrevGrowth = prevGrowth;
    }

    /**
     * window_update: growth since the window started plus the previous window's growth scaled by the part of
     * the window not yet elapsed; a window that is over restarts with its growth as the previous growth.
     */
    long windowUpdate(long now, long value) {
        long elapsed = now - winStartTime;
        long growth = value - winStartValue;
        if (Long.compareUnsigned(elapsed, winSize) > 0) {
            windowReset(now, value, growth);
        } else {
            long remaining = (winSize - elapsed) & PsiGroup.U32_MASK; // u32 remaining
            growth += Long.divideUnsigned(winPrevGrowth * remaining, winSize);
        }
        return growth;
    }

    /** One trigger's turn in update_triggers; called with the group's lock held. */
    void update(long now, long[] total, long[] aggregatorTotal) {
        boolean newStall = aggregatorTotal[state] != total[state];
        if (!newStall && !pendingEvent) {
            return;
        }
        if (newStall) {
            long growth = windowUpdate(now, total[state]);
            if (!pendingEvent) {
                if (Long.compareUnsigned(growth, threshold) < 0) {
                    return;
                }
                pendingEvent = true;
            }
        }
        if (Long.compareUnsigned(now, lastEventTime + winSize) < 0) {
            return; // at most one event per window
        }
        lastEventTime = now;
        pendingEvent = false;
        events++;
        lastFiredAt = now;
        if (event.compareAndSet(0, 1)) {
            Runnable l = listener;
            if (l != null) {
                l.run(); // wake_up_interruptible / kernfs_notify
            }
        }
    }

    /** Whether an event is waiting to be consumed (what poll would report as POLLPRI). */
    boolean eventPending() {
        return event.get() == 1;
    }

    /** Consumes a pending event as psi_trigger_poll does (cmpxchg 1 → 0); true if there was one. */
    boolean consumeEvent() {
        return event.compareAndSet(1, 0);
    }

    /**
     * Called (with the group's lock held, so keep it short: e.g. wake a clock's waiters) whenever an event
     * is generated, and once when the trigger is destroyed.
     */
    void onEvent(Runnable wakeUp) {
        this.listener = wakeUp;
    }

    boolean destroyed() {
        return destroyed;
    }

    void markDestroyed() {
        destroyed = true;
        Runnable l = listener;
        if (l != null) {
            l.run();
        }
    }

    /** Events generated so far (for tests and diagnostics). */
    long eventCount() {
        synchronized (group) {
            return events;
        }
    }

    /** Virtual time of the latest event, or -1. */
    long lastEventNanos() {
        synchronized (group) {
            return lastFiredAt;
        }
    }
}
