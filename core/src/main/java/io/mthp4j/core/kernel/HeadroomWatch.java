package io.mthp4j.core.kernel;

import java.time.Duration;

/**
 * Wakes its caller when a cgroup's memory usage crosses one of the watched shares of its limit, in either
 * direction, using the kernel's notifications where they exist (cgroup v1 usage thresholds through
 * {@code cgroup.event_control} and an eventfd; cgroup v2 {@code memory.events} modifications) and polling
 * otherwise. Thresholds follow the limit: a changed limit re-arms them.
 */
public interface HeadroomWatch extends AutoCloseable {

    /** How the watch learns of changes. */
    enum Mechanism {
        /** cgroup v1 memory thresholds: an eventfd per watch, one registration per threshold. */
        V1_THRESHOLD_EVENTFD,
        /** cgroup v2: inotify on {@code memory.events}, plus polling {@code memory.current}. */
        V2_EVENTS_AND_POLLING,
        /** Reading usage on a timer (the host's {@code MemAvailable}, or no notification interface). */
        POLLING,
        /** The fake kernel: notified on every charge change of its memcg model. */
        CHARGE_CHANGES
    }

    /**
     * Waits up to {@code timeout} (on the backend's clock) for a crossing and consumes it.
     *
     * @return true if usage crossed a watched share (or the kernel reported a limit event), false on timeout
     */
    boolean await(Duration timeout) throws InterruptedException;

    /** How this watch learns of changes. */
    Mechanism mechanism();

    /** Stops watching and releases its descriptors. Idempotent. */
    @Override
    void close();
}
