package io.mthp4j.core.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import io.mthp4j.api.VmaType;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class PressurePolicyTest {

    static final PageGeometry G = PageGeometry.X86_64_4K;
    static final CgroupRef ROOT = new CgroupRef(1, "/");
    static final CgroupRef A = new CgroupRef(2, "/a");
    static final CgroupRef B = new CgroupRef(3, "/a/b");
    static final long MIB = 1L << 20;
    static final long ALL = Orders.upTo(9);

    static DecisionTable scan(PressurePolicy p, CgroupRef cg, long parent, long stallMicros, long mem) {
        return p.decide(CgroupSample.of(cg, parent, stallMicros, mem));
    }

    @Nested
    class Defaults {
        @Test
        @DisplayName("every default is the sample CLI's: 100 ms, 1000 ms, PMD order, 16 MiB, not fixed, no debug; ms; quirk fixed")
        void cliDefaults() {
            PressurePolicy p = PressurePolicy.mthpExt(G).build();
            assertEquals(Duration.ofMillis(100), p.threshold());
            assertEquals(Duration.ofMillis(1000), p.interval());
            assertEquals(9, p.order());
            assertEquals(16 * MIB, p.minMemoryBytes());
            assertFalse(p.fixed());
            assertFalse(p.debug());
            assertEquals(TimeUnit.MILLISECONDS, p.stallUnit());
            assertFalse(p.firstSightingQuirk());
            assertEquals(0, p.hysteresis());
            assertEquals(PressurePolicy.Flavor.MTHP_EXT, p.flavor());
            assertEquals(13, PressurePolicy.mthpExt(PageGeometry.ARM64_64K).build().order(), "PMD order of the geometry");
        }

        @Test
        @DisplayName("-o is clamped to the PMD order; 0, -t 0 and -i 0 are rejected with the flag named")
        void validation() {
            assertEquals(9, PressurePolicy.mthpExt(G).order(40).build().order());
            assertTrue(assertThrows(IllegalArgumentException.class, () -> PressurePolicy.mthpExt(G).order(-1))
                    .getMessage().contains("-o"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> PressurePolicy.mthpExt(G).threshold(Duration.ZERO))
                    .getMessage().contains("-t"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> PressurePolicy.mthpExt(G).interval(Duration.ZERO))
                    .getMessage().contains("-i"));
            assertThrows(IllegalArgumentException.class, () -> PressurePolicy.mthpExt(G).minMemory(-1));
            assertThrows(IllegalArgumentException.class, () -> PressurePolicy.mthpExt(G).hysteresis(-1));
        }

        @Test
        @DisplayName("tables: mthp_ext is all-or-nothing; tva-aware keeps collapse for small, MADV_COLLAPSE under pressure")
        void tables() {
            PressurePolicy m = PressurePolicy.mthpExt(G).build();
            assertEquals(DecisionTable.uniform(ALL), m.normalTable());
            assertEquals(DecisionTable.uniform(0), m.smallTable());
            assertEquals(DecisionTable.uniform(0), m.pressuredTable());
            PressurePolicy t = PressurePolicy.tvaAware(G).build();
            for (VmaType a : VmaType.values()) {
                assertEquals(0, t.smallTable().allowed(TvaType.PAGEFAULT, a));
                assertEquals(0, t.smallTable().allowed(TvaType.SWAP_PAGEFAULT, a));
                assertEquals(ALL, t.smallTable().allowed(TvaType.KHUGEPAGED, a));
                assertEquals(ALL, t.smallTable().allowed(TvaType.FORCED_COLLAPSE, a));
                assertEquals(0, t.pressuredTable().allowed(TvaType.PAGEFAULT, a));
                assertEquals(0, t.pressuredTable().allowed(TvaType.KHUGEPAGED, a));
                assertEquals(ALL, t.pressuredTable().allowed(TvaType.FORCED_COLLAPSE, a));
            }
            assertEquals(DecisionTable.uniform(0), PressurePolicy.mthpExt(G).order(0).build().normalTable(), "order 0: base pages");
            assertEquals(DecisionTable.uniform(Orders.upTo(4)), PressurePolicy.mthpExt(G).order(4).build().normalTable());
        }
    }

    @Nested
    class Scans {
        @Test
        @DisplayName("a full-stall delta at the threshold means base pages; below it, every order again")
        void thresholdIsInclusive() {
            PressurePolicy p = PressurePolicy.mthpExt(G).build();
            assertEquals(p.normalTable(), scan(p, A, 0, 5, 64 * MIB));
            assertEquals(p.normalTable(), scan(p, A, 0, 5 + 99_999, 64 * MIB), "99.999 ms");
            assertEquals(p.pressuredTable(), scan(p, A, 0, 5 + 99_999 + 100_000, 64 * MIB), "exactly 100 ms");
            assertEquals(p.normalTable(), scan(p, A, 0, 5 + 99_999 + 100_000, 64 * MIB), "quiet again");
        }

        @Test
        @DisplayName("the minimum: under 16 MiB base pages from the first scan; 0 bytes (unknown) is not small")
        void minimum() {
            PressurePolicy p = PressurePolicy.mthpExt(G).build();
            assertEquals(p.smallTable(), scan(p, A, 0, 0, 16 * MIB - 1));
            assertEquals(p.normalTable(), scan(p, B, 0, 0, 16 * MIB));
            assertEquals(p.normalTable(), scan(p, new CgroupRef(9, "/z"), 0, 0, 0));
        }

        @Test
        @DisplayName("v2 quirk on: a cgroup whose stall is still 0 keeps init_order and never meets the minimum")
        void quirk() {
            PressurePolicy p = PressurePolicy.mthpExt(G).firstSightingQuirk(true).build();
            for (int i = 0; i < 3; i++) {
                assertEquals(p.normalTable(), scan(p, A, 0, 0, MIB), "scan " + i);
            }
            assertEquals(p.normalTable(), scan(p, A, 0, 10, MIB), "first non-zero stall: still the first-sighting branch");
            assertEquals(p.smallTable(), scan(p, A, 0, 20, MIB), "now the minimum applies");
        }

        @Test
        @DisplayName("stall unit: with microseconds, 100 means 100 us of stall")
        void stallUnit() {
            PressurePolicy ms = PressurePolicy.mthpExt(G).build();
            PressurePolicy us = PressurePolicy.mthpExt(G).stallUnit(TimeUnit.MICROSECONDS).build();
            PressurePolicy ns = PressurePolicy.mthpExt(G).stallUnit(TimeUnit.NANOSECONDS).build();
            for (PressurePolicy p : new PressurePolicy[] {ms, us, ns}) {
                scan(p, A, 0, 1000, 64 * MIB);
            }
            assertEquals(ms.normalTable(), scan(ms, A, 0, 1100, 64 * MIB));
            assertEquals(us.pressuredTable(), scan(us, A, 0, 1100, 64 * MIB));
            assertEquals(ns.pressuredTable(), scan(ns, A, 0, 1101, 64 * MIB), "1 us >= 100 ns");
            assertEquals(ns.normalTable(), scan(ns, A, 0, 1101, 64 * MIB), "0 us < 100 ns");
        }

        @Test
        @DisplayName("hysteresis 2: base pages until two quiet scans after the last pressured one")
        void hysteresis() {
            PressurePolicy p = PressurePolicy.mthpExt(G).hysteresis(2).build();
            long stall = 1;
            assertEquals(p.normalTable(), scan(p, A, 0, stall, 64 * MIB));
            assertEquals(p.pressuredTable(), scan(p, A, 0, stall += 200_000, 64 * MIB));
            assertEquals(p.pressuredTable(), scan(p, A, 0, stall, 64 * MIB), "quiet 1");
            assertEquals(p.pressuredTable(), scan(p, A, 0, stall += 200_000, 64 * MIB), "pressured again: count restarts");
            assertEquals(p.pressuredTable(), scan(p, A, 0, stall, 64 * MIB), "quiet 1");
            assertEquals(p.normalTable(), scan(p, A, 0, stall, 64 * MIB), "quiet 2: released");
        }

        @Test
        @DisplayName("new cgroups get the parent's decision at once: taskless ones follow it, the first evaluation keeps its pressure")
        void inheritance() {
            PressurePolicy p = PressurePolicy.mthpExt(G).build();
            scan(p, A, 1, 1, 64 * MIB);
            assertEquals(p.pressuredTable(), scan(p, A, 1, 300_000, 64 * MIB));
            assertEquals(p.pressuredTable(), p.decide(CgroupSample.taskless(B, A.id())), "taskless child follows");
            assertEquals(p.pressuredTable(), scan(p, B, A.id(), 0, 64 * MIB), "first evaluation: delta unknown, inherited");
            assertEquals(p.normalTable(), scan(p, B, A.id(), 0, 64 * MIB), "own quiet scan");
            assertEquals(p.normalTable(), scan(p, new CgroupRef(7, "/c"), 1, 0, 64 * MIB), "unknown parent: normal");
        }

        @Test
        @DisplayName("fixed (-f): the chosen order for every cgroup, nothing read, no state")
        void fixed() {
            PressurePolicy p = PressurePolicy.mthpExt(G).fixed(true).order(4).build();
            assertFalse(p.needsSamples());
            assertEquals(DecisionTable.uniform(Orders.upTo(4)), scan(p, A, 0, 1 << 30, MIB));
            assertEquals(0, p.trackedCgroups());
            VmaInfo vma = VmaInfo.anon(0, 1 << 30).withOwner(5, new CgroupRef(77, "/never/scanned"));
            assertEquals(Orders.upTo(4) & 0x3FC, p.chooseOrders(vma, TvaType.PAGEFAULT, 0x3FC));
        }

        @Test
        @DisplayName("per call: no opinion for an unscanned cgroup or a VMA without one; forget drops the decision")
        void perCall() {
            PressurePolicy p = PressurePolicy.mthpExt(G).build();
            VmaInfo inA = VmaInfo.anon(0, 1 << 30).withOwner(5, A);
            assertEquals(0x3FC, p.chooseOrders(inA, TvaType.PAGEFAULT, 0x3FC));
            assertFalse(p.matches(inA));
            scan(p, A, 0, 0, MIB);
            assertTrue(p.matches(inA));
            assertEquals(0, p.chooseOrders(inA, TvaType.PAGEFAULT, 0x3FC));
            assertEquals(0x3FC, p.chooseOrders(VmaInfo.anon(0, 1 << 30), TvaType.PAGEFAULT, 0x3FC), "cgroup id 0");
            p.forget(A.id());
            assertNull(p.decision(A.id()));
            assertEquals(0x3FC, p.chooseOrders(inA, TvaType.PAGEFAULT, 0x3FC));
            assertEquals(0, p.trackedCgroups());
        }

        @Test
        @DisplayName("state is bounded: beyond maxCgroups the least recently scanned are dropped")
        void bounded() {
            PressurePolicy p = PressurePolicy.mthpExt(G).maxCgroups(8).build();
            for (int i = 2; i < 200; i++) {
                scan(p, new CgroupRef(i, "/c" + i), 0, 0, 64 * MIB);
            }
            assertTrue(p.trackedCgroups() <= 8, "tracked " + p.trackedCgroups());
            int published = 0;
            for (int i = 2; i < 200; i++) {
                published += p.decision(i) != null ? 1 : 0;
            }
            assertTrue(published <= 8, "decisions kept " + published);
            assertSame(p.normalTable(), p.decision(199));
        }
    }
}
