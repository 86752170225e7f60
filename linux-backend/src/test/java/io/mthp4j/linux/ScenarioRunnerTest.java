package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.Errno;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpEnabled;
import io.mthp4j.api.ThpSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Scenarios on this JVM's memory: the kernel selftest prctl_thp_disable table (kernel-semantics.md §13.1, the
 * in-process half of its 12 instances) and the observed allocation matrix (linux-interfaces.md §6.2), read
 * back with the folio census. Settings and the prctl mode are restored after every scenario, and checked once
 * more at the end.
 */
class ScenarioRunnerTest {

    private static LinuxKernel kernel;
    private static ScenarioRunner runner;
    private static ThpSettings before;

    @BeforeAll
    static void open() {
        RealKernel.assumeRoot();
        kernel = LinuxKernel.open();
        runner = new ScenarioRunner(kernel);
        before = kernel.thp().read();
    }

    @AfterAll
    static void checkRestored() {
        if (kernel != null) {
            assertEquals(before, kernel.thp().read(), "THP settings are as found");
            assertEquals(ProcessThpMode.NONE, kernel.currentProcess().thpMode());
        }
    }

    // ---- prctl_thp_disable (§13.1): 2 fixtures x 3 variants, phase A with the prctl and B after clearing it ----

    static Stream<Arguments> prctlTable() {
        List<Arguments> out = new ArrayList<>();
        for (ProcessThpMode fixture : List.of(ProcessThpMode.DISABLED, ProcessThpMode.DISABLED_EXCEPT_ADVISED)) {
            for (ThpEnabled variant : ThpEnabled.values()) {
                for (boolean phaseA : List.of(true, false)) {
                    out.add(Arguments.of(fixture, variant, phaseA));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} / enabled={1} / phase {2}")
    @MethodSource("prctlTable")
    void prctlThpDisableTable(ProcessThpMode fixture, ThpEnabled variant, boolean phaseA) {
        ProcessThpMode mode = phaseA ? fixture : ProcessThpMode.NONE;
        int pmd = kernel.geometry().pmdOrder();
        Scenario base = Scenario.of(variant, othersNever(Map.of(pmd, AnonSizeEnabled.INHERIT))).withPrctl(mode);
        boolean completely = mode == ProcessThpMode.DISABLED;
        boolean exceptAdvised = mode == ProcessThpMode.DISABLED_EXCEPT_ADVISED;
        // the table's cells (1 = one PMD THP)
        int none = completely || exceptAdvised ? 0 : variant == ThpEnabled.ALWAYS ? 1 : 0;
        int hugepage = completely ? 0 : variant == ThpEnabled.NEVER ? 0 : 1;
        int collapse = completely ? 0 : 1;
        assertPmdThp(none, runner.run(base));
        assertPmdThp(0, runner.run(base.withAdvice(Madvice.NOHUGEPAGE)));
        assertPmdThp(hugepage, runner.run(base.withAdvice(Madvice.HUGEPAGE)));
        ScenarioResult collapsed = runner.run(base.withCollapse(true));
        assertPmdThp(collapse, collapsed);
        if (collapse == 0) {
            assertEquals(Errno.EINVAL, collapsed.collapseError(), "MADV_COLLAPSE refused under COMPLETELY");
        } else {
            assertNull(collapsed.collapseError());
            assertTrue(collapsed.delta("vmstat/thp_collapse_alloc") >= 1 || collapsed.delta("vmstat/thp_fault_alloc") >= 1,
                    collapsed.counterDeltas().toString());
        }
    }

    private static void assertPmdThp(int expected, ScenarioResult r) {
        int pmd = kernel.geometry().pmdOrder();
        assertEquals(expected, r.folios(pmd), r.scenario() + " -> " + r.foliosByOrder());
        if (expected == 0) {
            assertEquals(kernel.geometry().pmdPages(), r.folios(0), "4 KiB pages only: " + r.foliosByOrder());
        }
        assertEquals(0, r.absentPages(), "every page was written");
    }

    // ---- the allocation matrix (§6.2): top / 2048kB / 64kB x prctl x MADV_HUGEPAGE ----

    static Stream<Arguments> matrix() {
        String[][] rows = {
            // top, 2048kB, 64kB, then the six cells: none, none+H, DISABLE, DISABLE+H, EXCEPT, EXCEPT+H
            {"madvise", "inherit", "never", "4K", "2M", "4K", "4K", "4K", "2M"},
            {"always", "inherit", "never", "2M", "2M", "4K", "4K", "4K", "2M"},
            {"madvise", "never", "madvise", "4K", "64K", "4K", "4K", "4K", "64K"},
            {"madvise", "never", "always", "64K", "64K", "4K", "4K", "4K", "64K"},
            {"always", "never", "inherit", "64K", "64K", "4K", "4K", "4K", "64K"},
            {"madvise", "inherit", "always", "64K", "2M", "4K", "4K", "4K", "2M"},
        };
        ProcessThpMode[] modes = {ProcessThpMode.NONE, ProcessThpMode.DISABLED, ProcessThpMode.DISABLED_EXCEPT_ADVISED};
        List<Arguments> out = new ArrayList<>();
        for (String[] row : rows) {
            for (int cell = 0; cell < 6; cell++) {
                out.add(Arguments.of(row[0], row[1], row[2], modes[cell / 2], cell % 2 == 1, row[3 + cell]));
            }
        }
        return out.stream();
    }

    /** {@code sizes}, with every other anonymous size set to never: the outcome must not depend on the host's values. */
    static java.util.TreeMap<Integer, AnonSizeEnabled> othersNever(Map<Integer, AnonSizeEnabled> sizes) {
        java.util.TreeMap<Integer, AnonSizeEnabled> out = new java.util.TreeMap<>();
        for (long rest = kernel.geometry().allAnonOrders(); rest != 0; rest &= rest - 1) {
            out.put(Long.numberOfTrailingZeros(rest), AnonSizeEnabled.NEVER);
        }
        out.putAll(sizes);
        return out;
    }

    @ParameterizedTest(name = "{0}/{1}/{2} {3} hugepage={4} -> {5}")
    @MethodSource("matrix")
    void allocationMatrix(String top, String pmdSize, String size64k, ProcessThpMode mode, boolean hugepage, String expected) {
        int blocks = 2;
        Scenario s = new Scenario(ThpEnabled.valueOf(top.toUpperCase()), othersNever(Map.of(
                9, AnonSizeEnabled.valueOf(pmdSize.toUpperCase()), 4, AnonSizeEnabled.valueOf(size64k.toUpperCase()))),
                mode, hugepage ? Madvice.HUGEPAGE : null, false, blocks);
        ScenarioResult r = runner.run(s);
        long pages = blocks * 512L;
        String got = r.foliosByOrder().toString();
        switch (expected) {
            case "2M" -> {
                assertEquals(Map.of(9, (long) blocks), r.foliosByOrder(), got);
                assertTrue(r.delta("vmstat/thp_fault_alloc") >= blocks, r.counterDeltas().toString());
                assertTrue(r.delta("2M/anon_fault_alloc") >= blocks, r.counterDeltas().toString());
            }
            case "64K" -> {
                assertEquals(Map.of(4, pages / 16), r.foliosByOrder(), got);
                assertTrue(r.delta("64K/anon_fault_alloc") >= pages / 16, r.counterDeltas().toString());
            }
            default -> assertEquals(Map.of(0, pages), r.foliosByOrder(), got);
        }
    }
}
