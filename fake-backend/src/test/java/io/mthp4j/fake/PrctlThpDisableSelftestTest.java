package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mthp4j.api.KernelException;
import io.mthp4j.api.Madvice;
import io.mthp4j.api.ProcessThpMode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kernel selftest tools/testing/selftests/mm/prctl_thp_disable.c reproduced on the fake kernel through real
 * faults (kernel-semantics.md §13.1): 2 prctl fixtures × top-level never/madvise/always × fork/no-fork, each
 * running the none / MADV_NOHUGEPAGE / MADV_HUGEPAGE / MADV_COLLAPSE cases with the prctl in effect and after
 * clearing it.
 */
class PrctlThpDisableSelftestTest {

    enum Case { NONE, NOHUGEPAGE, HUGEPAGE, COLLAPSE }

    static List<Arguments> instances() {
        List<Arguments> out = new ArrayList<>();
        for (ProcessThpMode fixture : new ProcessThpMode[] {ProcessThpMode.DISABLED, ProcessThpMode.DISABLED_EXCEPT_ADVISED}) {
            for (String top : new String[] {"never", "madvise", "always"}) {
                for (boolean fork : new boolean[] {false, true}) {
                    out.add(Arguments.of(fixture, top, fork));
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}, enabled={1}, fork={2}")
    @MethodSource("instances")
    void theSelftestTable(ProcessThpMode fixture, String top, boolean fork) {
        FakeKernel kernel = FakeKernel.create();
        FakeProcess test = kernel.spawn(kernel.cgroups().root());
        test.setThpMode(fixture); // the fixture applies the prctl in the test process first
        kernel.writeFile("/sys/kernel/mm/transparent_hugepage/enabled", top);
        kernel.writeFile("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled", "inherit");
        FakeProcess body = fork ? test.fork() : test;

        // Phase A: the prctl in effect.
        assertEquals(fixture.prGetValue(), body.prctl(ProcessThpMode.PR_GET_THP_DISABLE, 0, 0, 0, 0));
        boolean completely = fixture == ProcessThpMode.DISABLED;
        boolean never = top.equals("never");
        assertEquals(0, testMmapThp(kernel, body, Case.NONE));
        assertEquals(0, testMmapThp(kernel, body, Case.NOHUGEPAGE));
        assertEquals(completely || never ? 0 : 1, testMmapThp(kernel, body, Case.HUGEPAGE));
        assertEquals(completely ? 0 : 1, testMmapThp(kernel, body, Case.COLLAPSE));

        // Phase B: after PR_SET_THP_DISABLE 0, the global policy only.
        assertEquals(0, body.prctl(ProcessThpMode.PR_SET_THP_DISABLE, 0, 0, 0, 0));
        assertEquals(top.equals("always") ? 1 : 0, testMmapThp(kernel, body, Case.NONE));
        assertEquals(0, testMmapThp(kernel, body, Case.NOHUGEPAGE));
        assertEquals(never ? 0 : 1, testMmapThp(kernel, body, Case.HUGEPAGE));
        assertEquals(1, testMmapThp(kernel, body, Case.COLLAPSE));
        kernel.checkInvariants();
    }

    /** test_mmap_thp: 1 if the PMD-aligned range ends up as exactly one PMD THP. */
    private static int testMmapThp(FakeKernel kernel, FakeProcess p, Case c) {
        long pmd = kernel.geometry().pmdSize();
        long region = p.mmapAnonymous(2 * pmd);
        long mem = (region + pmd - 1) & -pmd;
        if (c == Case.HUGEPAGE) {
            p.madvise(mem, pmd, Madvice.HUGEPAGE);
        } else if (c == Case.NOHUGEPAGE) {
            p.madvise(mem, pmd, Madvice.NOHUGEPAGE);
        }
        p.write(mem, pmd);
        if (c == Case.COLLAPSE) {
            try {
                p.madvise(mem, pmd, Madvice.COLLAPSE);
            } catch (KernelException e) {
                // the selftest ignores the return value and checks the result
            }
        }
        int result = p.census(mem, pmd).equals(java.util.Map.of(pmd, pmd)) ? 1 : 0;
        p.munmap(region, 2 * pmd);
        return result;
    }
}
