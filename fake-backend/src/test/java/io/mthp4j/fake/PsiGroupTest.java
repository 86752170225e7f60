package io.mthp4j.fake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import io.mthp4j.core.kernel.Pressure;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

class PsiGroupTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 1000);
    static final long MS = 1_000_000L;
    static final long S = 1_000_000_000L;
    static final long JIFFY = 4 * MS;
    /** HZ 250, timers firing exactly at their expiry jiffy: update times are easy to follow by hand. */
    static final PsiParams EXACT_TIMERS = new PsiParams(250, true, false);

    static String file(String some, String full) {
        return "some " + some + "\nfull " + full + "\n";
    }

    @Test
    void idleGroupPrintsZeros() {
        PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
        assertEquals(file("avg10=0.00 avg60=0.00 avg300=0.00 total=0", "avg10=0.00 avg60=0.00 avg300=0.00 total=0"),
                g.render(100 * S));
    }

    /**
     * 100 % full stall for 10 s, then none. Updates at 2.004, 4.012, 6.016, 8.020, 10.024 s ... (PSI_FREQ =
     * 501 jiffies, rescheduled at nsecs_to_jiffies(next - now) + 1). Expected values worked out with the
     * kernel's integer formulas outside this code base: avg10 after one period = calc_load(0, 1677, 100 *
     * 2048) = (204800 * 371 + 2047) / 2048 = 37100 → LOAD_INT 18, LOAD_FRAC (236 * 100) >> 11 = 11.
     */
    @Test
    void stepInputMatchesHandComputedFixedPoint() {
        PsiGroup g = new PsiGroup(EXACT_TIMERS, 0, null);
        g.busy(0, true);
        g.stall(0, 10 * S, true);
        assertEquals(file("avg10=18.11 avg60=3.27 avg300=0.68 total=2004000", "avg10=18.11 avg60=3.27 avg300=0.68 total=2004000"),
                g.render(2004 * MS));
        assertEquals(37100, g.avgFixed(false, 0));
        assertEquals(file("avg10=55.04 avg60=12.45 avg300=2.70 total=8020000", "avg10=55.04 avg60=12.45 avg300=2.70 total=8020000"),
                g.render(8020 * MS));
        // the period 8.020..10.024 s held 1.980 s of stall: pct = 198000 / 2004 = 98
        assertEquals(file("avg10=62.82 avg60=15.25 avg300=3.35 total=10000000", "avg10=62.82 avg60=15.25 avg300=3.35 total=10000000"),
                g.render(10024 * MS));
        assertEquals(file("avg10=23.12 avg60=12.91 avg300=3.24 total=10000000", "avg10=23.12 avg60=12.91 avg300=3.24 total=10000000"),
                g.render(20044 * MS));
    }

    /**
     * An idle group stops the averaging clock; the next stall restarts it and the missed periods decay in
     * one go (calc_load_n). Stall 0..1 s, updates at 2.004 s (49 %) and 4.012 s (0 %), clock stops; stall at
     * 60..61 s wakes it at 62.004 s: missed = (62.004 - 6.012) / 2.004 = 27, period = 3.884 s, pct = 25.
     */
    @Test
    void missedPeriodsDecayInOneStep() {
        PsiGroup g = new PsiGroup(EXACT_TIMERS, 0, null);
        g.stall(0, S, false);
        assertEquals("some avg10=8.87 avg60=1.60 avg300=0.33 total=1000000\n", g.render(2004 * MS).lines().findFirst().get() + "\n");
        g.advanceTo(30 * S);
        assertEquals(Long.MAX_VALUE, g.nextAveragingNanos(), "the clock stops when nothing happens");
        assertEquals(7.26, PsiGroup.loadPercent(g.avgFixed(false, 0)), "after the 0 % update at 4.012 s");
        g.stall(60 * S, 61 * S, false);
        g.advanceTo(60 * S);
        assertEquals(62_004 * MS, g.nextAveragingNanos());
        g.advanceTo(62_004 * MS);
        assertEquals(9329, g.avgFixed(false, 0));
        assertEquals(2927, g.avgFixed(false, 1));
        assertEquals(912, g.avgFixed(false, 2));
        assertEquals("full avg10=0.00 avg60=0.00 avg300=0.00 total=0", g.render(62_004 * MS).lines().skip(1).findFirst().get());
    }

    /** psi_show catches up the averages when a period is due, with the missed periods, like the work would. */
    @Test
    void aReadCatchesUpTheAverages() {
        PsiGroup g = new PsiGroup(EXACT_TIMERS, 0, null);
        g.stall(0, S, false);
        g.advanceTo(30 * S);
        long before = g.avgFixed(false, 0);
        g.read(30 * S);
        assertTrue(g.avgFixed(false, 0) < before, "decayed over the 11 missed periods");
        assertEquals(Long.MAX_VALUE, g.nextAveragingNanos(), "reads do not restart the clock");
    }

    @Test
    void timerWheelMakesTheWorkRunOneToNineJiffiesLate() {
        PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
        g.busy(0, true);
        g.advanceTo(0);
        long[] expected = {2016 * MS, 4032 * MS, 6048 * MS};
        for (long t : expected) {
            assertEquals(t, g.nextAveragingNanos());
            g.advanceTo(t);
        }
        assertEquals(10 * JIFFY, g.timerFire(0, 9), "level 0: one jiffy late");
        assertEquals(64 * JIFFY, g.timerFire(0, 63), "level 1: rounded up past the 8-jiffy bucket");
        assertEquals(72 * JIFFY, g.timerFire(JIFFY, 63), "level 1: rounded up past the 8-jiffy bucket");
        assertEquals(512 * JIFFY, g.timerFire(0, 504), "level 2: 64-jiffy buckets");
        assertEquals(10 * JIFFY, new PsiGroup(EXACT_TIMERS, 0, null).timerFire(1, 10));
    }

    @Test
    void overlappingIntervalsCountOnceAndFullImpliesSome() {
        PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
        g.busy(0, true);
        g.stall(1 * S, 3 * S, false);
        g.stall(2 * S, 4 * S, true);
        g.stall(2500 * MS, 3500 * MS, false);
        g.stall(10 * S, 10 * S, true);
        Pressure p = g.read(20 * S);
        assertEquals(3_000_000, p.some().totalMicros());
        assertEquals(2_000_000, p.full().totalMicros());
    }

    @Test
    void parentsGetTheUnionOfTheirChildren() {
        PsiGroup root = new PsiGroup(PsiParams.defaults(), 0, null);
        PsiGroup a = new PsiGroup(PsiParams.defaults(), 0, root);
        PsiGroup b = new PsiGroup(PsiParams.defaults(), 0, root);
        for (PsiGroup g : List.of(root, a, b)) {
            g.busy(0, true);
        }
        a.stall(1 * S, 3 * S, true);
        b.stall(2 * S, 5 * S, false);
        assertEquals(2_000_000, a.read(8 * S).some().totalMicros());
        assertEquals(3_000_000, b.read(8 * S).some().totalMicros());
        Pressure r = root.read(8 * S);
        assertEquals(4_000_000, r.some().totalMicros());
        assertEquals(2_000_000, r.full().totalMicros());
    }

    /** collect_percpu_times weights by nsecs_to_jiffies(non-idle time): a collection under one jiffy drops it. */
    @Test
    void stallCollectedWithinOneJiffyOfTheLastCollectionIsLostAsInTheKernel() {
        PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
        g.busy(0, true);
        g.read(1000 * MS);
        g.stall(1000 * MS, 1002 * MS, false);
        assertEquals(0, g.read(1003 * MS).some().totalMicros());
        assertEquals(0, g.read(5 * S).some().totalMicros(), "the loss is permanent");
        g.stall(6000 * MS, 6002 * MS, false);
        assertEquals(2000, g.read(6100 * MS).some().totalMicros(), "a collection one jiffy or more later keeps it");
    }

    @Test
    void inputOrderIsChecked() {
        PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
        g.stall(5 * S, 6 * S, false);
        assertThrows(IllegalArgumentException.class, () -> g.stall(4 * S, 7 * S, false));
        assertThrows(IllegalArgumentException.class, () -> g.stall(7 * S, 6 * S, false));
        g.advanceTo(10 * S);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.stall(9 * S, 11 * S, false));
        assertTrue(e.getMessage().contains("in the past"), e.getMessage());
    }

    @Test
    void disabledPsiAccountsNothing() {
        PsiGroup g = new PsiGroup(new PsiParams(250, false, true), 0, null);
        g.busy(0, true);
        g.stall(0, 5 * S, true);
        assertEquals(0, g.read(10 * S).some().totalMicros());
    }

    @Test
    void hzMustDivideOneSecond() {
        assertThrows(IllegalArgumentException.class, () -> new PsiParams(300, true, true));
        assertEquals(2 * S + 4 * MS, PsiParams.defaults().psiPeriodNanos());
        assertEquals(2 * S + 10 * MS, new PsiParams(100, true, true).psiPeriodNanos());
    }

    // ------------------------------------------------------------------ properties

    /** A stall interval {start, length, full} on a 1 ms grid within 40 s. */
    static Gen<List<long[]>> intervals() {
        Gen<long[]> one = integers().between(0, 40_000).zip(integers().between(0, 5_000), integers().between(0, 1),
                (start, len, full) -> new long[] {start * MS, (start + len) * MS, full});
        return lists().of(one).ofSizeBetween(0, 12).map(l -> {
            List<long[]> sorted = new ArrayList<>(l);
            sorted.sort(Comparator.comparingLong(x -> x[0]));
            return sorted;
        });
    }

    /** Measure of the union of [s, e) intervals clipped to [0, t), by sorting and merging. */
    static long unionUpTo(List<long[]> intervals, boolean fullOnly, long t) {
        long sum = 0;
        long curS = -1;
        long curE = -1;
        for (long[] iv : intervals) {
            if (fullOnly && iv[2] == 0) {
                continue;
            }
            long s = Math.min(iv[0], t);
            long e = Math.min(iv[1], t);
            if (s >= curE) {
                sum += curE - curS;
                curS = s;
                curE = e;
            } else {
                curE = Math.max(curE, e);
            }
        }
        return sum + (curE - curS);
    }

    @Test
    void totalsAreTheUnionAndNeverDecreaseAndAveragesStayInRange() {
        qt().withExamples(EXAMPLES).forAll(intervals(), lists().of(integers().between(1, 3000)).ofSizeBetween(1, 20))
                .checkAssert((ivs, steps) -> {
                    PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
                    g.busy(0, true);
                    for (long[] iv : ivs) {
                        g.stall(iv[0], iv[1], iv[2] == 1);
                    }
                    long t = 0;
                    long lastSome = 0;
                    long lastFull = 0;
                    for (int step : steps) {
                        t += step * JIFFY; // reads on the jiffy grid, as the timers are
                        Pressure p = g.read(t);
                        assertTrue(p.some().totalMicros() >= lastSome && p.full().totalMicros() >= lastFull);
                        assertTrue(p.full().totalMicros() <= p.some().totalMicros());
                        lastSome = p.some().totalMicros();
                        lastFull = p.full().totalMicros();
                        assertEquals(unionUpTo(ivs, false, t) / 1000, lastSome, "some total at " + t);
                        assertEquals(unionUpTo(ivs, true, t) / 1000, lastFull, "full total at " + t);
                        for (Pressure.Line line : List.of(p.some(), p.full())) {
                            for (double a : new double[] {line.avg10(), line.avg60(), line.avg300()}) {
                                assertTrue(a >= 0 && a <= 100, "avg " + a);
                            }
                        }
                    }
                });
    }

    /**
     * The fixed-point averages against a double-precision model of the same recurrence, a' = a·e + pct·(1−e)
     * with e = EXP/2048, at every update. With the kernel's floored percentage the only difference is
     * calc_load's rounding, at most 1/2048 % per step, so at most 1/(2048·(1−e)) % in all. With the exact
     * percentage the floor adds at most (1−e)·1 % per step, so at most 1 % more.
     */
    @Test
    void averagesFollowTheExponentialDecayWithinTheRoundingBound() {
        double[] e = {1677 / 2048.0, 1981 / 2048.0, 2034 / 2048.0};
        qt().withExamples(EXAMPLES).forAll(intervals()).checkAssert(ivs -> {
            PsiGroup g = new PsiGroup(PsiParams.defaults(), 0, null);
            g.busy(0, true);
            for (long[] iv : ivs) {
                g.stall(iv[0], iv[1], iv[2] == 1);
            }
            g.advanceTo(0); // the busy flag's change starts the averaging clock
            double[] floored = new double[3];
            double[] exact = new double[3];
            long last = 0;
            for (int k = 0; k < 25; k++) {
                long t = g.nextAveragingNanos();
                g.advanceTo(t);
                long period = t - last;
                long sample = unionUpTo(ivs, false, t) - unionUpTo(ivs, false, last);
                last = t;
                double pctExact = 100.0 * sample / period;
                double pctFloor = Math.floor(sample * 100.0 / period);
                for (int w = 0; w < 3; w++) {
                    floored[w] = floored[w] * e[w] + pctFloor * (1 - e[w]);
                    exact[w] = exact[w] * e[w] + pctExact * (1 - e[w]);
                    double fixed = g.avgFixed(false, w) / 2048.0;
                    double bound = 1 / (2048 * (1 - e[w])) + 1e-9;
                    assertTrue(Math.abs(fixed - floored[w]) <= bound, "window " + w + " update " + k + ": " + fixed + " vs " + floored[w]);
                    assertTrue(Math.abs(fixed - exact[w]) <= 1 + bound, "window " + w + " update " + k + ": " + fixed + " vs " + exact[w]);
                }
            }
        });
    }
}
