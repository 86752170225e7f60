package io.mthp4j.linux;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.core.kernel.DecisionSink;
import java.util.Objects;

/**
 * Publishes decisions into the pinned {@link PolicyMap}, where a BPF-THP program (src/main/bpf) reads them.
 * {@link #publish} is allocation-free: one {@code BPF_MAP_UPDATE_ELEM}.
 */
public final class LinuxDecisionSink implements DecisionSink {

    private final PolicyMap map;

    public LinuxDecisionSink(PolicyMap map) {
        this.map = Objects.requireNonNull(map, "map");
    }

    /** The map it writes to. */
    public PolicyMap map() {
        return map;
    }

    @Override
    public void publish(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
        map.put(cgroupId, table, generation, expiresAtBootNanos);
    }

    @Override
    public void withdraw(long cgroupId) {
        map.remove(cgroupId);
    }
}
