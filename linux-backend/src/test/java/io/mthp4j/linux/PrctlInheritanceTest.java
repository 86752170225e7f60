package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.AnonSizeEnabled;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.ThpEnabled;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The prctl mode is inherited by fork() and kept across execve() (kernel-semantics.md §9): the "fork" fixture
 * of prctl_thp_disable (§13.1), phase A, run in a child JVM that this JVM starts while the mode is set.
 */
class PrctlInheritanceTest {

    /** The child: reports the mode it inherited and whether MADV_HUGEPAGE memory got a PMD THP. */
    public static void main(String[] args) {
        try (LinuxKernel k = LinuxKernel.open()) {
            ProcessThpMode inherited = k.currentProcess().thpMode();
            Scenario s = Scenario.of(ThpEnabled.MADVISE, Map.of(k.geometry().pmdOrder(), AnonSizeEnabled.INHERIT))
                    .withPrctl(inherited).withAdvice(Madvice.HUGEPAGE);
            System.out.println("inherited " + inherited + " pmd " + new ScenarioRunner(k).run(s).folios(k.geometry().pmdOrder()));
        }
    }

    @ParameterizedTest
    @EnumSource(value = ProcessThpMode.class, names = {"DISABLED", "DISABLED_EXCEPT_ADVISED"})
    void aChildInheritsTheMode(ProcessThpMode mode) {
        RealKernel.assumeRoot();
        LinuxProcess self = LinuxKernel.open().self();
        ProcessThpMode original = self.thpMode();
        RealKernel.Result r;
        try {
            self.setThpMode(mode);
            r = RealKernel.runJava(PrctlInheritanceTest.class, List.of());
        } finally {
            self.setThpMode(original);
        }
        assertEquals(0, r.status(), r.output());
        // COMPLETELY blocks even MADV_HUGEPAGE; EXCEPT_ADVISED allows it (top level madvise, PMD inherit)
        String expected = "inherited " + mode + " pmd " + (mode == ProcessThpMode.DISABLED ? 0 : 1);
        assertTrue(r.output().contains(expected), "expected \"" + expected + "\" in: " + r.output());
    }
}
