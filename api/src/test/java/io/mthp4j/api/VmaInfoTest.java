package io.mthp4j.api;

import static io.mthp4j.api.ApiGens.EXAMPLES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.arbitrary;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VmaInfoTest {

    private static final long M2 = 2L << 20;
    private static final int HUGE = VmaFlag.HUGEPAGE.mask();
    private static final int NOHUGE = VmaFlag.NOHUGEPAGE.mask();

    private static VmaInfo vma(int flags) {
        return new VmaInfo(M2, 3 * M2, 0, VmaKind.ANON, flags, 0, 42, CgroupRef.NONE);
    }

    @Test
    void factories() {
        VmaInfo a = VmaInfo.anon(M2, 2 * M2);
        assertEquals(M2, a.start());
        assertEquals(2 * M2, a.end());
        assertEquals(M2, a.length());
        assertEquals(VmaKind.ANON, a.kind());
        assertEquals(0, a.flags());
        assertEquals(0, a.fileSize());
        assertEquals(0, a.pid());
        assertSame(CgroupRef.NONE, a.cgroup());
        VmaInfo s = VmaInfo.sharedAnon(0x1000, 0x5000);
        assertEquals(VmaKind.SHMEM, s.kind());
        assertEquals(0x4000, s.fileSize());
        assertEquals(0, s.pgoff());
    }

    @Test
    void bothHugepageAndNohugepageAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vma(HUGE | NOHUGE));
        assertTrue(e.getMessage().contains("VM_HUGEPAGE") && e.getMessage().contains("VM_NOHUGEPAGE"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> vma(HUGE).withFlags(VmaFlag.NOHUGEPAGE));
        assertThrows(IllegalArgumentException.class, () -> vma(NOHUGE).withFlagBits(NOHUGE | HUGE));
    }

    @ParameterizedTest
    @CsvSource({"0,0", "4096,4096", "8192,4096", "-4096,4096", "-1,0"})
    void startMustBeBelowEnd(long start, long end) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VmaInfo.anon(start, end));
        assertTrue(e.getMessage().contains("start < end"), e.getMessage());
    }

    @Test
    void otherValidation() {
        assertThrows(IllegalArgumentException.class, () -> new VmaInfo(0, 4096, -1, VmaKind.FILE, 0, 0, 0, CgroupRef.NONE));
        assertThrows(IllegalArgumentException.class, () -> new VmaInfo(0, 4096, 0, VmaKind.FILE, 0, -1, 0, CgroupRef.NONE));
        assertThrows(IllegalArgumentException.class, () -> new VmaInfo(0, 4096, 0, VmaKind.FILE, 0, 0, -1, CgroupRef.NONE));
        assertThrows(NullPointerException.class, () -> new VmaInfo(0, 4096, 0, null, 0, 0, 0, CgroupRef.NONE));
        assertThrows(NullPointerException.class, () -> new VmaInfo(0, 4096, 0, VmaKind.ANON, 0, 0, 0, null));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> new VmaInfo(0, 4096, 0, VmaKind.ANON, 1 << VmaFlag.values().length, 0, 0, CgroupRef.NONE));
        assertTrue(unknown.getMessage().contains("0x800"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> vma(Integer.MIN_VALUE));
        assertEquals(VmaFlag.allMask() & ~NOHUGE, vma(VmaFlag.allMask() & ~NOHUGE).flags());
    }

    @Test
    void advisedFollowsHugepageMadvise() {
        VmaInfo plain = vma(VmaFlag.ANON_VMA.mask());
        VmaInfo huge = plain.advised(Madvice.HUGEPAGE);
        assertTrue(huge.has(VmaFlag.HUGEPAGE));
        assertFalse(huge.has(VmaFlag.NOHUGEPAGE));
        assertTrue(huge.has(VmaFlag.ANON_VMA), "other flags are kept");
        VmaInfo nohuge = huge.advised(Madvice.NOHUGEPAGE);
        assertTrue(nohuge.has(VmaFlag.NOHUGEPAGE));
        assertFalse(nohuge.has(VmaFlag.HUGEPAGE), "MADV_NOHUGEPAGE clears VM_HUGEPAGE");
        assertTrue(nohuge.has(VmaFlag.ANON_VMA));
        VmaInfo again = nohuge.advised(Madvice.HUGEPAGE);
        assertTrue(again.has(VmaFlag.HUGEPAGE));
        assertFalse(again.has(VmaFlag.NOHUGEPAGE), "MADV_HUGEPAGE clears VM_NOHUGEPAGE");
        // COLLAPSE changes no flags; advice already in effect returns the same instance
        assertSame(huge, huge.advised(Madvice.COLLAPSE));
        assertSame(nohuge, nohuge.advised(Madvice.COLLAPSE));
        assertSame(huge, huge.advised(Madvice.HUGEPAGE));
        assertSame(nohuge, nohuge.advised(Madvice.NOHUGEPAGE));
        // nothing but the flags changes
        assertEquals(plain.start(), nohuge.start());
        assertEquals(plain.end(), nohuge.end());
        assertEquals(plain.pid(), nohuge.pid());
    }

    @Test
    void advisedProperty() {
        qt().withExamples(EXAMPLES).forAll(integers().between(0, VmaFlag.allMask()), arbitrary().enumValues(Madvice.class))
                .assuming((flags, advice) -> (flags & HUGE) == 0 || (flags & NOHUGE) == 0)
                .checkAssert((flags, advice) -> {
                    VmaInfo after = vma(flags).advised(advice);
                    int others = ~(HUGE | NOHUGE);
                    assertEquals(flags & others, after.flags() & others);
                    switch (advice) {
                        case HUGEPAGE -> assertEquals(HUGE, after.flags() & (HUGE | NOHUGE));
                        case NOHUGEPAGE -> assertEquals(NOHUGE, after.flags() & (HUGE | NOHUGE));
                        case COLLAPSE -> assertEquals(flags.intValue(), after.flags());
                    }
                });
    }

    @Test
    void vmaType() {
        assertEquals(VmaType.NONE, vma(0).vmaType());
        assertEquals(VmaType.NONE, vma(VmaFlag.ANON_VMA.mask() | VmaFlag.UFFD_ARMED.mask()).vmaType());
        assertEquals(VmaType.HUGEPAGE, vma(HUGE).vmaType());
        assertEquals(VmaType.NOHUGEPAGE, vma(NOHUGE).vmaType());
        assertEquals(VmaType.HUGEPAGE, vma(0).advised(Madvice.HUGEPAGE).vmaType());
        assertEquals(VmaType.NOHUGEPAGE, vma(HUGE).advised(Madvice.NOHUGEPAGE).vmaType());
        // the v7 wrapper checks VM_HUGEPAGE first
        assertEquals(VmaType.HUGEPAGE, VmaType.of(HUGE | NOHUGE));
    }

    @Test
    void vmaTypeKernelValues() {
        assertEquals(0, VmaType.NONE.kernelValue());
        assertEquals(1, VmaType.HUGEPAGE.kernelValue());
        assertEquals(2, VmaType.NOHUGEPAGE.kernelValue());
        for (VmaType t : VmaType.values()) {
            assertSame(t, VmaType.ofKernelValue(t.kernelValue()));
        }
        assertThrows(IllegalArgumentException.class, () -> VmaType.ofKernelValue(-1));
        assertThrows(IllegalArgumentException.class, () -> VmaType.ofKernelValue(3));
    }

    @Test
    void flags() {
        assertEquals(1, VmaFlag.HUGEPAGE.mask());
        assertEquals(2, VmaFlag.NOHUGEPAGE.mask());
        assertEquals(0, VmaFlag.maskOf());
        assertEquals(HUGE | VmaFlag.DAX.mask(), VmaFlag.maskOf(VmaFlag.HUGEPAGE, VmaFlag.DAX));
        assertEquals((1 << 11) - 1, VmaFlag.allMask());
        int all = 0;
        for (VmaFlag f : VmaFlag.values()) {
            assertEquals(1, Integer.bitCount(f.mask()), f.name());
            assertEquals(0, all & f.mask(), "distinct bits");
            all |= f.mask();
        }
        assertEquals(VmaFlag.allMask(), all);
    }

    @Test
    void flagSetAndHas() {
        VmaInfo v = vma(0).withFlags(VmaFlag.HUGEPAGE, VmaFlag.ANON_VMA);
        assertEquals(EnumSet.of(VmaFlag.HUGEPAGE, VmaFlag.ANON_VMA), v.flagSet());
        assertTrue(v.has(VmaFlag.ANON_VMA));
        assertFalse(v.has(VmaFlag.DAX));
        VmaInfo w = v.withoutFlags(VmaFlag.HUGEPAGE);
        assertEquals(Set.of(VmaFlag.ANON_VMA), w.flagSet());
        assertSame(w, w.withoutFlags(VmaFlag.HUGEPAGE));
        assertSame(w, w.withFlagBits(w.flags()));
    }

    @Test
    void withRangeMovesTheFileOffsetButNotTheAnonOne() {
        VmaInfo file = new VmaInfo(0x10000, 0x20000, 5, VmaKind.FILE, 0, 1 << 20, 1, CgroupRef.NONE);
        VmaInfo right = file.withRange(0x14000, 0x20000, 12);
        assertEquals(5 + 4, right.pgoff());
        assertEquals(0x14000, right.start());
        assertEquals(0x20000, right.end());
        assertEquals(5, file.withRange(0x10000, 0x12000, 12).pgoff());
        VmaInfo tmpfs = new VmaInfo(0x10000, 0x20000, 0, VmaKind.TMPFS, 0, 1 << 20, 1, CgroupRef.NONE);
        assertEquals(1, tmpfs.withRange(0x20000, 0x30000, 16).pgoff());
        VmaInfo anon = VmaInfo.anon(0x10000, 0x20000);
        assertEquals(0, anon.withRange(0x14000, 0x20000, 12).pgoff());
        assertThrows(IllegalArgumentException.class, () -> anon.withRange(0x14000, 0x14000, 12));
    }

    @Test
    void otherWithers() {
        CgroupRef cg = new CgroupRef(77, "/a/b");
        VmaInfo v = VmaInfo.anon(0, 4096).withOwner(9, cg);
        assertEquals(9, v.pid());
        assertEquals(cg, v.cgroup());
        assertEquals(3, v.withPgoff(3).pgoff());
        assertEquals(123, v.withFileSize(123).fileSize());
        assertThrows(IllegalArgumentException.class, () -> v.withOwner(-1, cg));
    }

    @Test
    void toStringShowsRangeAndFlags() {
        String s = new VmaInfo(0x200000, 0x400000, 0, VmaKind.ANON, HUGE, 0, 7, new CgroupRef(5, "/x")).toString();
        assertTrue(s.contains("0x200000") && s.contains("0x400000"), s);
        assertTrue(s.contains("HUGEPAGE"), s);
        assertTrue(s.contains("pid 7"), s);
        assertTrue(s.contains("/x"), s);
    }

    @Test
    void vmaKind() {
        assertFalse(VmaKind.ANON.isShmemFile());
        assertTrue(VmaKind.SHMEM.isShmemFile());
        assertTrue(VmaKind.TMPFS.isShmemFile());
        assertFalse(VmaKind.FILE.isShmemFile());
    }

    @Test
    void madviceValues() {
        assertEquals(14, Madvice.HUGEPAGE.value());
        assertEquals(15, Madvice.NOHUGEPAGE.value());
        assertEquals(25, Madvice.COLLAPSE.value());
    }
}
