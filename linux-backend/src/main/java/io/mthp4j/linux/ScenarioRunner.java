package io.mthp4j.linux;

import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.core.kernel.SettingsGuard;
import java.util.Objects;

/**
 * Runs {@link Scenario}s on this JVM's own memory (the real-kernel half of the fake-vs-real differential
 * suite): applies the THP settings under a {@link SettingsGuard}, sets the prctl mode, maps a fresh PMD-aligned
 * anonymous region, advises it, writes every page, optionally collapses it, then takes the folio census and the
 * counter deltas. Everything is put back (settings, prctl mode, the mapping) also when a step fails.
 *
 * <p>The prctl mode applies to the whole JVM while a scenario runs; run scenarios from one thread.
 */
public final class ScenarioRunner {

    private final LinuxKernel kernel;

    public ScenarioRunner(LinuxKernel kernel) {
        this.kernel = Objects.requireNonNull(kernel, "kernel");
    }

    public ScenarioResult run(Scenario s) {
        LinuxProcess self = kernel.self();
        long pmd = kernel.geometry().pmdSize();
        long length = pmd * s.pmdBlocks();
        ProcessThpMode originalMode = self.thpMode();
        try (SettingsGuard guard = SettingsGuard.record(kernel.thp())) {
            kernel.thp().apply(s.settings(guard.original()));
            self.setThpMode(s.prctl());
            try (AnonMapping region = AnonMapping.map(length, pmd)) {
                ThpCounters before = kernel.counters();
                if (s.advice() != null) {
                    self.madvise(region.address(), length, s.advice());
                }
                region.touch(0, length, kernel.geometry().pageSize());
                io.mthp4j.api.Errno collapseError = null;
                if (s.collapse()) {
                    try {
                        self.madvise(region.address(), length, Madvice.COLLAPSE);
                    } catch (KernelException e) {
                        collapseError = e.errno();
                    }
                }
                FolioCensus census = kernel.census(region.address(), length);
                ThpCounters after = kernel.counters();
                return new ScenarioResult(s, census.foliosByOrder(), census.absentPages(), collapseError, after.since(before));
            }
        } finally {
            self.setThpMode(originalMode);
        }
    }
}
