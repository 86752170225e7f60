package io.mthp4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.ProcessThpMode;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;
import io.mthp4j.core.policy.PressurePolicy;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

/** From a decision table to a prctl mode: sound (never permits what the table forbids), maximal, and a narrowing. */
class ModeChoiceTest {

    static final int EXAMPLES = Integer.getInteger("mthp4j.property.examples", 10_000);
    static final PageGeometry G = PageGeometry.X86_64_4K;

    /** Tables whose cells are 0, base pages only, a few orders or everything, so all modes are reached. */
    static Gen<DecisionTable> tables() {
        Gen<Long> cell = Generate.pick(java.util.List.of(0L, 1L, Orders.bit(4), Orders.upTo(9), -1L));
        int cells = TvaType.values().length * VmaType.values().length;
        return SourceDSL.lists().of(cell).ofSize(cells).map(list -> {
            DecisionTable t = DecisionTable.uniform(0);
            int i = 0;
            for (TvaType type : TvaType.values()) {
                for (VmaType advice : VmaType.values()) {
                    t = t.with(type, advice, list.get(i++));
                }
            }
            return t;
        });
    }

    static Gen<ProcessThpMode> modes() {
        return Generate.enumValues(ProcessThpMode.class);
    }

    @Test
    @DisplayName("the chosen mode permits nothing the table forbids, is no looser than the original, and is the loosest such")
    void soundMaximalNarrowing() {
        qt().withExamples(EXAMPLES).forAll(tables(), modes()).checkAssert((table, ceiling) -> {
            ProcessThpMode m = ModeChoice.choose(table, ceiling);
            assertTrue(ModeChoice.restrictiveness(m) >= ModeChoice.restrictiveness(ceiling), "narrows only");
            for (TvaType type : ModeChoice.ENFORCED) {
                for (VmaType advice : VmaType.values()) {
                    assertTrue(!ModeChoice.permits(m, type, advice) || ModeChoice.hugeAllowed(table, type, advice),
                            m + " permits " + type + "/" + advice + " that " + table + " forbids");
                }
            }
            for (ProcessThpMode looser : ProcessThpMode.values()) {
                if (ModeChoice.restrictiveness(looser) < ModeChoice.restrictiveness(m)
                        && ModeChoice.restrictiveness(looser) >= ModeChoice.restrictiveness(ceiling)) {
                    assertTrue(!ModeChoice.fits(looser, table), looser + " would fit " + table + " and is looser than " + m);
                }
            }
        });
    }

    @Test
    @DisplayName("the modes' permissions follow vma_thp_disabled (kernel-semantics.md §4.2, the §13.1 table)")
    void permissionsAreTheKernels() {
        for (TvaType type : TvaType.values()) {
            for (VmaType advice : VmaType.values()) {
                boolean noHuge = advice == VmaType.NOHUGEPAGE;
                assertEquals(!noHuge, ModeChoice.permits(ProcessThpMode.NONE, type, advice));
                assertEquals(false, ModeChoice.permits(ProcessThpMode.DISABLED, type, advice));
                assertEquals(!noHuge && (advice == VmaType.HUGEPAGE || type == TvaType.FORCED_COLLAPSE),
                        ModeChoice.permits(ProcessThpMode.DISABLED_EXCEPT_ADVISED, type, advice));
            }
        }
    }

    @Test
    @DisplayName("the built-in tables: normal allows THP, small and pressured disable it (both flavours)")
    void builtInTables() {
        for (PressurePolicy p : new PressurePolicy[] {PressurePolicy.mthpExt(G).build(), PressurePolicy.tvaAware(G).build()}) {
            assertEquals(ProcessThpMode.NONE, ModeChoice.choose(p.normalTable(), ProcessThpMode.NONE));
            assertEquals(ProcessThpMode.DISABLED, ModeChoice.choose(p.smallTable(), ProcessThpMode.NONE), p + " small");
            assertEquals(ProcessThpMode.DISABLED, ModeChoice.choose(p.pressuredTable(), ProcessThpMode.NONE), p + " pressured");
            assertTrue(ModeChoice.rangesHuge(p.normalTable()));
            assertTrue(!ModeChoice.rangesHuge(p.pressuredTable()));
        }
        DecisionTable advisedOnly = DecisionTable.uniform(0).with(TvaType.PAGEFAULT, VmaType.HUGEPAGE, -1L)
                .with(TvaType.SWAP_PAGEFAULT, VmaType.HUGEPAGE, -1L).with(TvaType.KHUGEPAGED, VmaType.HUGEPAGE, -1L)
                .with(TvaType.FORCED_COLLAPSE, -1L);
        assertEquals(ProcessThpMode.DISABLED_EXCEPT_ADVISED, ModeChoice.choose(advisedOnly, ProcessThpMode.NONE));
        assertEquals(ProcessThpMode.DISABLED, ModeChoice.choose(advisedOnly, ProcessThpMode.DISABLED));
        assertEquals(ProcessThpMode.DISABLED, ModeChoice.choose(DecisionTable.uniform(1), ProcessThpMode.NONE),
                "order 0 alone is base pages");
    }
}
