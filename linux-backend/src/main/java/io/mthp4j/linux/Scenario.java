package io.mthp4j.linux;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One anonymous-memory experiment, the same on the real and the fake kernel: THP settings, the process's prctl
 * mode, advice on a fresh PMD-aligned private mapping of {@code pmdBlocks} PMD sizes, a write to every page,
 * and optionally {@code MADV_COLLAPSE} afterwards (kernel-semantics.md §13.1's steps, without the fork).
 *
 * @param enabled    top-level {@code enabled}
 * @param anonSizes  per-size {@code hugepages-<N>kB/enabled} by order; sizes not named keep their value
 * @param prctl      the process's {@code PR_SET_THP_DISABLE} mode while the scenario runs
 * @param advice     {@link Madvice#HUGEPAGE} or {@link Madvice#NOHUGEPAGE} before touching, or null for none
 * @param collapse   {@code MADV_COLLAPSE} on the whole range after touching
 * @param pmdBlocks  size of the mapping in PMD sizes (at least 1)
 */
public record Scenario(ThpEnabled enabled, SortedMap<Integer, AnonSizeEnabled> anonSizes, ProcessThpMode prctl, Madvice advice,
                       boolean collapse, int pmdBlocks) {

    public Scenario {
        Objects.requireNonNull(enabled, "enabled");
        Objects.requireNonNull(prctl, "prctl");
        anonSizes = Collections.unmodifiableSortedMap(new TreeMap<>(anonSizes));
        if (advice == Madvice.COLLAPSE) {
            throw new IllegalArgumentException("advice before touching is HUGEPAGE, NOHUGEPAGE or null; COLLAPSE is the collapse flag");
        }
        if (pmdBlocks < 1 || pmdBlocks > 512) {
            throw new IllegalArgumentException("pmdBlocks must be in 1..512, was " + pmdBlocks);
        }
    }

    /** A scenario with the given top level and per-size values, no prctl, no advice, one PMD block. */
    public static Scenario of(ThpEnabled enabled, Map<Integer, AnonSizeEnabled> anonSizes) {
        return new Scenario(enabled, new TreeMap<>(anonSizes), ProcessThpMode.NONE, null, false, 1);
    }

    public Scenario withPrctl(ProcessThpMode mode) {
        return new Scenario(enabled, anonSizes, mode, advice, collapse, pmdBlocks);
    }

    public Scenario withAdvice(Madvice value) {
        return new Scenario(enabled, anonSizes, prctl, value, collapse, pmdBlocks);
    }

    public Scenario withCollapse(boolean value) {
        return new Scenario(enabled, anonSizes, prctl, advice, value, pmdBlocks);
    }

    public Scenario withPmdBlocks(int blocks) {
        return new Scenario(enabled, anonSizes, prctl, advice, collapse, blocks);
    }

    /** {@code base} with this scenario's THP settings. */
    public ThpSettings settings(ThpSettings base) {
        ThpSettings s = base.withEnabled(enabled);
        for (Map.Entry<Integer, AnonSizeEnabled> e : anonSizes.entrySet()) {
            s = s.withAnonSizeEnabled(e.getKey(), e.getValue());
        }
        return s;
    }
}
