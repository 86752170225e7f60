package io.mthp4j.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaFlag;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaType;
import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.core.RandomnessSource;
import org.quicktheories.generators.Generate;

/** Laws of the combinators, over generated per-cgroup policies, VMAs and requests. */
class PoliciesPropertiesTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);
    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final CgroupRef CG = new CgroupRef(5, "/a/b");
    static final List<String> PATHS = List.of("/", "/a", "/a/b", "/b", "/a/bc");

    /** A stateless policy with one generated table for every cgroup, or no opinion. */
    record TablePolicy(DecisionTable table) implements CgroupPolicy {
        @Override
        public DecisionTable decide(CgroupSample sample) {
            return table;
        }

        @Override
        public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
            return table == null ? orders : orders & table.allowed(tvaType, vma.vmaType());
        }

        @Override
        public boolean matches(VmaInfo vma) {
            return table != null;
        }
    }

    /** One generated call: a VMA of CG, a type, a request, and the sample the controller would pass. */
    record Call(VmaInfo vma, TvaType type, long request) {
        CgroupSample sample() {
            return CgroupSample.taskless(vma.cgroup(), 2);
        }
    }

    static boolean chance(RandomnessSource rs, int pct) {
        return Generate.range(0, 99).generate(rs) >= 100 - pct;
    }

    static long mask(RandomnessSource rs) {
        return chance(rs, 20) ? -1L : Generate.longRange(0, 0x3FF).generate(rs);
    }

    static Gen<CgroupPolicy> policies() {
        return rs -> {
            int kind = Generate.range(0, 3).generate(rs);
            switch (kind) {
                case 0: {
                    if (chance(rs, 25)) {
                        return new TablePolicy(null);
                    }
                    DecisionTable t = DecisionTable.uniform(mask(rs));
                    for (int i = Generate.range(0, 4).generate(rs); i > 0; i--) {
                        t = t.with(Generate.enumValues(TvaType.class).generate(rs), Generate.enumValues(VmaType.class).generate(rs), mask(rs));
                    }
                    return new TablePolicy(t);
                }
                case 1:
                    return Policies.maxSize(G.bytes(Generate.range(0, 9).generate(rs)), G);
                case 2: {
                    AllowList list = AllowList.create(mask(rs), chance(rs, 50) ? AllowList.Unlisted.NO_OPINION : AllowList.Unlisted.BASE_PAGES);
                    if (chance(rs, 60)) {
                        list.addPath(PATHS.get(Generate.range(0, PATHS.size() - 1).generate(rs)));
                    }
                    if (chance(rs, 30)) {
                        list.addCgroup(CG.id());
                    }
                    return list;
                }
                default:
                    PressurePolicy p = PressurePolicy.mthpExt(G).order(Generate.range(0, 9).generate(rs)).build();
                    if (chance(rs, 70)) { // decided once, so it has an opinion on CG
                        p.decide(CgroupSample.of(CG, 2, 0, chance(rs, 50) ? 1 << 20 : 64 << 20));
                    }
                    return p;
            }
        };
    }

    static Gen<Call> calls() {
        return rs -> {
            long start = Generate.longRange(0, 1L << 20).generate(rs) << 12;
            long pages = chance(rs, 50) ? Generate.longRange(1, 1024).generate(rs) : Generate.longRange(1, 1L << 20).generate(rs);
            VmaInfo vma = VmaInfo.anon(start, start + (pages << 12)).withOwner(7, CG);
            int advice = Generate.range(0, 2).generate(rs);
            vma = advice == 1 ? vma.withFlags(VmaFlag.HUGEPAGE) : advice == 2 ? vma.withFlags(VmaFlag.NOHUGEPAGE) : vma;
            return new Call(vma, Generate.enumValues(TvaType.class).generate(rs), Generate.longRange(0, 0x3FF).generate(rs));
        };
    }

    static long ask(CgroupPolicy p, Call c) {
        return p.chooseOrders(c.vma(), c.type(), c.request());
    }

    /** Per call, a policy without per-VMA rules answers what its table says (its table decided first). */
    static void assertConsistent(CgroupPolicy p, Call c, String what) {
        DecisionTable t = p.decide(c.sample());
        long want = t == null ? c.request() : c.request() & t.allowed(c.type(), c.vma().vmaType());
        assertEquals(want, ask(p, c), what + ": per call vs table " + t);
    }

    @Test
    @DisplayName("every generated policy answers per call what its table says")
    void partsAreConsistent() {
        qt().withExamples(EXAMPLES).forAll(policies(), calls()).checkAssert((p, c) -> assertConsistent(p, c, p.toString()));
    }

    @Test
    @DisplayName("intersect: the AND of the parts, per call and per table; commutative, associative, idempotent")
    void intersect() {
        qt().withExamples(EXAMPLES).forAll(policies(), policies(), policies(), calls()).checkAssert((a, b, d, c) -> {
            long ab = ask(Policies.intersect(a, b), c);
            assertEquals(ask(a, c) & ask(b, c), ab);
            assertEquals(ab, ask(Policies.intersect(b, a), c));
            assertEquals(ask(Policies.intersect(Policies.intersect(a, b), d), c), ask(Policies.intersect(a, Policies.intersect(b, d)), c));
            assertEquals(ask(a, c), ask(Policies.intersect(a, a), c));
            assertEquals(ask(a, c), ask(Policies.intersect(a, new TablePolicy(null)), c), "no opinion is the identity");
            assertTrue(Orders.isSubset(ab, c.request()));
            assertConsistent(Policies.intersect(a, b, d), c, "intersect");
        });
    }

    @Test
    @DisplayName("firstMatch: the first part with an opinion decides; none, the request unchanged")
    void firstMatch() {
        qt().withExamples(EXAMPLES).forAll(policies(), policies(), calls()).checkAssert((a, b, c) -> {
            CgroupPolicy f = Policies.firstMatch(a, b);
            long want = a.matches(c.vma()) ? ask(a, c) : b.matches(c.vma()) ? ask(b, c) : c.request();
            assertEquals(want, ask(f, c));
            assertEquals(a.matches(c.vma()) || b.matches(c.vma()), f.matches(c.vma()));
            assertConsistent(f, c, "firstMatch");
        });
    }

    @Test
    @DisplayName("cap: a subset of the policy's answer, never above the size")
    void cap() {
        qt().withExamples(EXAMPLES).forAll(policies(), Generate.range(0, 9), calls()).checkAssert((p, max, c) -> {
            long capped = ask(Policies.cap(p, G.bytes(max), G), c);
            assertEquals(ask(p, c) & Orders.upTo(max), capped);
            assertTrue(Orders.highest(capped) <= max);
        });
    }

    @Test
    @DisplayName("fitToVma: never a folio above the fraction of the VMA, and every inner order that fits is kept")
    void fitToVma() {
        qt().withExamples(EXAMPLES).forAll(policies(), Generate.range(1, 8), Generate.range(1, 64), calls())
                .assuming((p, num, den, c) -> num <= den)
                .checkAssert((p, num, den, c) -> {
                    long inner = ask(p, c);
                    long got = ask(Policies.fitToVma(p, num, den, G), c);
                    BigInteger limit = BigInteger.valueOf(c.vma().length()).multiply(BigInteger.valueOf(num));
                    for (int k = 0; k < 64; k++) {
                        boolean fits = BigInteger.valueOf(G.pageSize()).shiftLeft(k).multiply(BigInteger.valueOf(den)).compareTo(limit) <= 0;
                        boolean inInner = (inner & (1L << k)) != 0;
                        assertEquals(inInner && fits, (got & (1L << k)) != 0, "order " + k + " of a " + c.vma().length()
                                + " B VMA at " + num + "/" + den);
                    }
                    assertEquals(p.decide(c.sample()), Policies.fitToVma(p, num, den, G).decide(c.sample()), "tables pass through");
                });
    }

    @Test
    @DisplayName("bad arguments are rejected with the value shown")
    void validation() {
        assertThrows(IllegalArgumentException.class, () -> Policies.intersect());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Policies.maxSize(3000, G)).getMessage().contains("3000"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Policies.fitToVma(new TablePolicy(null), 3, 2, G)).getMessage().contains("3/2"));
        assertEquals(0x1C, Policies.maxSize(64 << 10, G).chooseOrders(VmaInfo.anon(0, 1 << 30), TvaType.PAGEFAULT, 0x3FC),
                "64K: 16K, 32K, 64K");
    }
}
