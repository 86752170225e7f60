package io.mthp4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PageGeometryTest {

    private static final PageGeometry X86 = PageGeometry.X86_64_4K;

    @Test
    void x86_64_4kMatchesTheKernelConstants() {
        assertEquals(12, X86.pageShift());
        assertEquals(4096, X86.pageSize());
        assertEquals(9, X86.pmdOrder());
        assertEquals(18, X86.pudOrder());
        assertEquals(9, X86.maxPagecacheOrder());
        assertEquals(512, X86.pmdPages());
        assertEquals(2_097_152, X86.pmdSize());
        assertEquals(0x3FCL, X86.allAnonOrders());
        assertEquals(0x3FEL, X86.allFileOrders());
        assertEquals(0x200L | 0x40000L, X86.allSpecialOrders());
        assertEquals(0x3FEL, X86.sysfsOrders());
    }

    @Test
    void x86_64_4kSizeDirectories() {
        assertEquals("hugepages-8kB", X86.sizeDirectory(1));
        assertEquals("hugepages-16kB", X86.sizeDirectory(2));
        assertEquals("hugepages-64kB", X86.sizeDirectory(4));
        assertEquals("hugepages-2048kB", X86.sizeDirectory(9));
        assertEquals("hugepages-1048576kB", X86.sizeDirectory(18));
        List<String> dirs = new ArrayList<>();
        for (long rest = X86.sysfsOrders(); rest != 0; rest &= rest - 1) {
            dirs.add(X86.sizeDirectory(Long.numberOfTrailingZeros(rest)));
        }
        assertEquals(List.of("hugepages-8kB", "hugepages-16kB", "hugepages-32kB", "hugepages-64kB", "hugepages-128kB",
                "hugepages-256kB", "hugepages-512kB", "hugepages-1024kB", "hugepages-2048kB"), dirs);
    }

    @Test
    void bytesOfAnOrder() {
        assertEquals(4096, X86.bytes(0));
        assertEquals(65536, X86.bytes(4));
        assertEquals(2_097_152, X86.bytes(9));
        assertThrows(IllegalArgumentException.class, () -> X86.bytes(-1));
        assertThrows(IllegalArgumentException.class, () -> X86.bytes(64));
    }

    @Test
    void arm64_4kIsLikeX86() {
        PageGeometry g = PageGeometry.ARM64_4K;
        assertEquals(X86.allAnonOrders(), g.allAnonOrders());
        assertEquals(X86.allFileOrders(), g.allFileOrders());
        assertEquals(X86.pmdSize(), g.pmdSize());
    }

    @Test
    void arm64_16k() {
        PageGeometry g = PageGeometry.ARM64_16K;
        assertEquals(16384, g.pageSize());
        assertEquals(11, g.pmdOrder());
        assertEquals(32L << 20, g.pmdSize());
        assertEquals(2048, g.pmdPages());
        assertEquals(0xFFCL, g.allAnonOrders());
        assertEquals(0xFFEL, g.allFileOrders());
        assertEquals("hugepages-32kB", g.sizeDirectory(1));
        assertEquals("hugepages-32768kB", g.sizeDirectory(11));
    }

    @Test
    void arm64_64kFileOrdersStopBelowThePmdOrder() {
        PageGeometry g = PageGeometry.ARM64_64K;
        assertEquals(16, g.pageShift());
        assertEquals(65536, g.pageSize());
        assertEquals(13, g.pmdOrder());
        assertEquals(8192, g.pmdPages());
        assertEquals(512L << 20, g.pmdSize());
        assertEquals(11, g.maxPagecacheOrder());
        assertEquals(0x3FFCL, g.allAnonOrders()); // orders 2..13
        assertEquals(0xFFEL, g.allFileOrders()); // orders 1..11
        assertEquals(11, Orders.highest(g.allFileOrders()));
        assertEquals(0x3FFEL, g.sysfsOrders());
        assertEquals(Orders.bit(13) | Orders.bit(26), g.allSpecialOrders());
        assertEquals("hugepages-128kB", g.sizeDirectory(1));
        assertEquals("hugepages-256kB", g.sizeDirectory(2));
        assertEquals("hugepages-524288kB", g.sizeDirectory(13));
    }

    @Test
    void everyPresetKeepsTheKernelInvariants() {
        for (PageGeometry g : ApiGens.PRESETS) {
            assertEquals(0, g.allAnonOrders() & 0b11, g + ": orders 0 and 1 are never anon THP");
            assertEquals(0, g.allFileOrders() & 1, g + ": order 0 is never a file THP");
            assertEquals(g.pmdOrder(), Orders.highest(g.allAnonOrders()), g.toString());
            assertEquals(2, Orders.lowest(g.allAnonOrders()), g.toString());
            assertEquals(1, Orders.lowest(g.allFileOrders()), g.toString());
            assertTrue(Orders.highest(g.allFileOrders()) <= g.pmdOrder(), g.toString());
            assertEquals(g.pageSize() << g.pmdOrder(), g.pmdSize());
        }
    }

    @ParameterizedTest
    @CsvSource({
            "8,9,18,9,pageShift",
            "21,9,18,9,pageShift",
            "12,1,18,1,pmdOrder",
            "12,31,40,9,pmdOrder",
            "12,9,9,9,pudOrder",
            "12,9,8,9,pudOrder",
            "12,9,41,9,pudOrder",
            "12,9,18,0,maxPagecacheOrder",
            "12,9,18,10,maxPagecacheOrder"})
    void constructorRejects(int pageShift, int pmdOrder, int pudOrder, int maxPagecacheOrder, String field) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PageGeometry(pageShift, pmdOrder, pudOrder, maxPagecacheOrder));
        assertTrue(e.getMessage().startsWith(field), e.getMessage());
    }

    @Test
    void constructorAcceptsTheLimits() {
        PageGeometry small = new PageGeometry(9, 2, 3, 1);
        assertEquals(512, small.pageSize());
        assertEquals(0b100L, small.allAnonOrders());
        assertEquals(0b10L, small.allFileOrders());
        PageGeometry big = new PageGeometry(20, 30, 40, 30);
        assertEquals(1L << 50, big.pmdSize());
        assertEquals(1 << 30, big.pmdPages());
    }

    @Test
    void recordEquality() {
        assertEquals(PageGeometry.X86_64_4K, new PageGeometry(12, 9, 18, 9));
        assertEquals(PageGeometry.X86_64_4K, PageGeometry.ARM64_4K);
    }
}
