package io.mthp4j.core.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.kernel.Headroom;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The headroom rule and policy (issue 9): the rule against an independent model over generated usage
 * sequences, the policy's tables, inheritance from a parent over its limit, and the option on mthp_ext and
 * tva-aware.
 */
class HeadroomPolicyTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);
    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final long LIMIT = 1000;
    static final CgroupRef ROOT = new CgroupRef(1, "/");
    static final CgroupRef A = new CgroupRef(2, "/a");
    static final CgroupRef B = new CgroupRef(3, "/a/b");

    static Headroom used(long usage) {
        return new Headroom(usage, LIMIT, Headroom.Limit.MEMORY_MAX);
    }

    static CgroupSample sample(CgroupRef cg, long parent, Headroom h) {
        return new CgroupSample(cg, parent, true, 0, 0, h);
    }

    /**
     * The model, written from the words rather than the code's state: over at scan i iff usage reached
     * high, or it was over at i-1 and usage is not below low, or fewer than N consecutive scans so far are below
     * low (counted over the whole history).
     */
    static boolean[] model(double high, double low, int n, List<Integer> usages) {
        boolean[] over = new boolean[usages.size()];
        int run = 0;
        boolean prev = false;
        for (int i = 0; i < usages.size(); i++) {
            long u = usages.get(i);
            boolean below = u < Math.ceil(LIMIT * low);
            run = below ? run + 1 : 0;
            over[i] = u >= Math.ceil(LIMIT * high) || prev && (!below || run < n);
            prev = over[i];
        }
        return over;
    }

    @Test
    void theRuleMatchesTheModelOnGeneratedUsage() {
        qt().withExamples(EXAMPLES).forAll(integers().between(1, 100), integers().between(0, 100), integers().between(0, 5),
                        lists().of(integers().between(0, 1200)).ofSizeBetween(1, 40))
                .checkAssert((h, l, n, usages) -> {
                    double high = h / 100.0;
                    double low = Math.min(h, Math.max(1, l)) / 100.0;
                    HeadroomRule rule = new HeadroomRule(high, low, n);
                    boolean[] expected = model(high, low, n, usages);
                    HeadroomRule.State s = null;
                    for (int i = 0; i < usages.size(); i++) {
                        s = rule.step(s, false, used(usages.get(i)));
                        assertEquals(expected[i], s.over(), "scan " + i + " of " + usages + " with " + rule);
                        assertEquals(s.over(), s.effective());
                    }
                });
    }

    @Test
    void noFlapping() {
        // between a return to huge orders and the next one there are at least N scans below low
        qt().withExamples(EXAMPLES).forAll(integers().between(1, 5), lists().of(integers().between(0, 1000)).ofSizeBetween(1, 60))
                .checkAssert((n, usages) -> {
                    HeadroomRule rule = new HeadroomRule(0.8, 0.7, n);
                    HeadroomRule.State s = null;
                    int belowRun = 0;
                    for (int u : usages) {
                        boolean wasOver = s != null && s.over();
                        s = rule.step(s, false, used(u));
                        belowRun = u < 700 ? belowRun + 1 : 0;
                        if (wasOver && !s.over()) {
                            assertTrue(belowRun >= n, "came back after " + belowRun + " quiet scans, needs " + n + ": " + usages);
                        }
                    }
                });
    }

    @Test
    void withoutALimitNeverOverAndAParentOverholdsItsChildren() {
        HeadroomRule rule = new HeadroomRule(0.8, 0.7, 3);
        assertTrue(!rule.step(null, false, Headroom.unlimited(Long.MAX_VALUE / 2)).effective());
        HeadroomRule.State child = rule.step(null, true, Headroom.unlimited(0));
        assertTrue(child.effective() && !child.over(), "over through its parent only");
        assertArrayEquals(new double[] {0.7, 0.8}, rule.shares());
        assertArrayEquals(new double[] {0.8}, new HeadroomRule(0.8, 0.8, 0).shares());
        assertThrows(IllegalArgumentException.class, () -> new HeadroomRule(0.7, 0.8, 3), "low above high");
        assertThrows(IllegalArgumentException.class, () -> new HeadroomRule(1.2, 0.8, 3));
        assertThrows(IllegalArgumentException.class, () -> new HeadroomRule(0.8, 0, 3));
        assertThrows(IllegalArgumentException.class, () -> new HeadroomRule(0.8, 0.7, -1));
    }

    @Test
    void thePolicyGivesBasePagesFrom80PercentAndPassesItDownTheTree() {
        HeadroomPolicy p = HeadroomPolicy.builder(G).build();
        assertEquals(0.8, p.high());
        assertEquals(0.7, p.low());
        assertEquals(3, p.quietScans());
        assertArrayEquals(new double[] {0.7, 0.8}, p.headroomShares());
        assertTrue(!p.needsSamples(), "reads no stall");
        DecisionTable normal = DecisionTable.uniform(Orders.upTo(9));
        assertEquals(normal, p.decide(sample(ROOT, 0, Headroom.unlimited(0))));
        assertEquals(normal, p.decide(sample(A, 1, used(799))));
        assertEquals(normal, p.decide(sample(B, 2, Headroom.unlimited(5))));
        assertEquals(DecisionTable.uniform(0), p.decide(sample(A, 1, used(800))));
        assertEquals(DecisionTable.uniform(0), p.decide(sample(B, 2, Headroom.unlimited(5))), "under a parent over its limit");
        VmaInfo vma = VmaInfo.anon(0x7f0000000000L, 0x7f0000400000L).withOwner(7, B);
        assertEquals(0, p.chooseOrders(vma, TvaType.PAGEFAULT, Orders.upTo(9)));
        for (int i = 0; i < 2; i++) {
            assertEquals(DecisionTable.uniform(0), p.decide(sample(A, 1, used(100))), "quiet scan " + (i + 1));
        }
        assertEquals(normal, p.decide(sample(A, 1, used(100))), "the third quiet scan");
        p.forget(A.id());
        assertNull(p.decision(A.id()));
        assertEquals(Orders.upTo(9), p.chooseOrders(VmaInfo.anon(0x7f0000000000L, 0x7f0000400000L).withOwner(7, A),
                TvaType.PAGEFAULT, Orders.upTo(9)), "forgotten: no opinion");
        assertEquals(DecisionTable.uniform(Orders.upTo(4)), HeadroomPolicy.builder(G).order(4).build().normalTable());
        assertThrows(IllegalArgumentException.class, () -> HeadroomPolicy.builder(G).shares(0.5, 0.6).build());
    }

    @Test
    void theOptionOnTvaAwareCountsOverAsPressuredAndKeepsCollapse() {
        PressurePolicy p = PressurePolicy.tvaAware(G).minMemory(0).headroom(0.8, 0.7, 1).build();
        assertTrue(p.headroom());
        assertArrayEquals(new double[] {0.7, 0.8}, p.headroomShares());
        assertEquals(p.normalTable(), p.decide(sample(A, 0, used(100))));
        DecisionTable over = p.decide(sample(A, 0, used(900)));
        assertEquals(p.pressuredTable(), over);
        assertEquals(0, over.allowed(TvaType.PAGEFAULT, VmaType.NONE));
        assertEquals(Orders.upTo(9), over.allowed(TvaType.FORCED_COLLAPSE, VmaType.NONE), "MADV_COLLAPSE keeps every order");
        assertEquals(p.pressuredTable(), p.decide(sample(A, 0, used(750))), "between the shares");
        assertEquals(p.normalTable(), p.decide(sample(A, 0, used(100))), "one quiet scan");
        assertEquals(0, PressurePolicy.mthpExt(G).build().headroomShares().length, "off by default, as the series");
        assertEquals(0, PressurePolicy.mthpExt(G).fixed(true).headroom(0.8, 0.7, 1).build().headroomShares().length,
                "-f reads nothing");
        assertTrue(PressurePolicy.mthpExt(G).headroom(0.8, 0.7, 1).build().toString().contains("headroom 80%/70%"));
    }

    @Test
    void combinationsWatchEveryPartsShares() {
        CgroupPolicy both = Policies.intersect(HeadroomPolicy.builder(G).shares(0.9, 0.6).build(),
                PressurePolicy.mthpExt(G).headroom(0.8, 0.7, 1).build(), Policies.maxSize(64 << 10, G));
        assertArrayEquals(new double[] {0.6, 0.7, 0.8, 0.9}, both.headroomShares());
        assertArrayEquals(new double[] {0.6, 0.9}, Policies.fitToVma(HeadroomPolicy.builder(G).shares(0.9, 0.6).build(), 1, 2, G)
                .headroomShares());
    }
}
