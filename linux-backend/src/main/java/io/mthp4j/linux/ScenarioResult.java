package io.mthp4j.linux;

import io.mthp4j.api.Errno;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a {@link Scenario} produced, in terms both kernels can report: the folios backing the mapping by order,
 * the errno of {@code MADV_COLLAPSE} (null when it succeeded or was not asked for), and the counters that
 * moved. On the real kernel the counters are system-wide, so compare deltas with a tolerance (other processes
 * fault too); the folios are exact.
 *
 * @param scenario       what was run
 * @param foliosByOrder  folios of the mapping by order (order 0 = 4 KiB pages on x86-64)
 * @param absentPages    pages of the mapping not present after the run
 * @param collapseError  errno of MADV_COLLAPSE, or null
 * @param counterDeltas  {@link ThpCounters} names to their change during the run, only those that moved
 */
public record ScenarioResult(Scenario scenario, SortedMap<Integer, Long> foliosByOrder, long absentPages, Errno collapseError,
                             SortedMap<String, Long> counterDeltas) {

    public ScenarioResult {
        foliosByOrder = Collections.unmodifiableSortedMap(new TreeMap<>(foliosByOrder));
        counterDeltas = Collections.unmodifiableSortedMap(new TreeMap<>(counterDeltas));
    }

    /** Folios of {@code order}. */
    public long folios(int order) {
        return foliosByOrder.getOrDefault(order, 0L);
    }

    /** The change of one counter (0 if it did not move). */
    public long delta(String counter) {
        return counterDeltas.getOrDefault(counter, 0L);
    }
}
