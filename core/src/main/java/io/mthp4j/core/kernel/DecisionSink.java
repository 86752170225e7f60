package io.mthp4j.core.kernel;

import io.mthp4j.api.DecisionTable;

/**
 * Where a controller publishes decisions: the fake kernel's attached hook, or the pinned BPF map a BPF-THP
 * program reads. Cgroup id 0 is the host-wide default. A decision past its expiry counts as "no opinion".
 */
public interface DecisionSink {

    /**
     * Publishes the decision for {@code cgroupId}, replacing the previous one.
     *
     * @param generation         increases with every publication by one controller
     * @param expiresAtBootNanos {@link KernelBackend#bootTimeNanos()} after which it no longer applies
     */
    void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos);

    /**
     * {@link #publish(long, DecisionTable, long, long)} with the reason the decision changed (the controller's
     * change line), or {@code null} when it did not change. Sinks that log their own actions use it; the
     * default ignores it.
     */
    default void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos, String reason) {
        publish(cgroupId, table, generation, expiresAtBootNanos);
    }

    /** Removes the decision for {@code cgroupId}, if any. */
    void withdraw(long cgroupId);
}
