package io.mthp4j.api;

import static io.mthp4j.api.ApiGens.EXAMPLES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.quicktheories.core.Gen;

class OrdersTest {

    private static final long PAGE = 4096;

    @Nested
    class BitOperations {

        @Test
        void bitIsOneShiftedByTheOrder() {
            assertEquals(1L, Orders.bit(0));
            assertEquals(0x200L, Orders.bit(9));
            assertEquals(0x40000L, Orders.bit(18));
            assertEquals(Long.MIN_VALUE, Orders.bit(63));
        }

        @ParameterizedTest
        @ValueSource(ints = {-1, 64, 100, Integer.MIN_VALUE})
        void bitRejectsOrdersOutsideALong(int order) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Orders.bit(order));
            assertTrue(e.getMessage().contains(String.valueOf(order)), e.getMessage());
        }

        @Test
        void highestAndLowest() {
            assertEquals(-1, Orders.highest(0));
            assertEquals(-1, Orders.lowest(0));
            assertEquals(9, Orders.highest(0x3FC));
            assertEquals(2, Orders.lowest(0x3FC));
            assertEquals(9, Orders.highest(0x3FE));
            assertEquals(1, Orders.lowest(0x3FE));
            assertEquals(0, Orders.highest(1));
            assertEquals(0, Orders.lowest(1));
            assertEquals(63, Orders.highest(-1L));
            assertEquals(0, Orders.lowest(-1L));
            assertEquals(63, Orders.highest(Long.MIN_VALUE));
            assertEquals(63, Orders.lowest(Long.MIN_VALUE));
        }

        @Test
        void nextDropsPrevAndReturnsTheNewHighest() {
            long mask = Orders.bit(9) | Orders.bit(4) | Orders.bit(2);
            assertEquals(4, Orders.next(mask, 9));
            assertEquals(2, Orders.next(mask & ~Orders.bit(9), 4));
            assertEquals(-1, Orders.next(Orders.bit(2), 2));
            // prev not in the mask: the highest of the mask
            assertEquals(9, Orders.next(mask, 5));
        }

        @Test
        void nextVisitsEveryOrderHighestFirst() {
            qt().withExamples(EXAMPLES).forAll(longs().all()).checkAssert(mask -> {
                long rest = mask;
                int previous = 64;
                int visited = 0;
                for (int order = Orders.highest(rest); order >= 0; ) {
                    assertTrue(order < previous, "descending");
                    assertTrue(Orders.contains(mask, order));
                    visited++;
                    previous = order;
                    int next = Orders.next(rest, order);
                    rest &= ~Orders.bit(order);
                    order = next;
                }
                assertEquals(Long.bitCount(mask), visited);
                assertEquals(0, rest);
            });
        }

        @Test
        void containsChecksTheBitAndToleratesBadOrders() {
            assertTrue(Orders.contains(0x3FC, 2));
            assertTrue(Orders.contains(0x3FC, 9));
            assertFalse(Orders.contains(0x3FC, 1));
            assertFalse(Orders.contains(0x3FC, 10));
            assertFalse(Orders.contains(-1L, -1));
            assertFalse(Orders.contains(-1L, 64));
            assertTrue(Orders.contains(-1L, 63));
        }

        @Test
        void upToIsEveryOrderFromZero() {
            assertEquals(0, Orders.upTo(-1));
            assertEquals(1, Orders.upTo(0));
            assertEquals(0x3FF, Orders.upTo(9));
            assertEquals(0x1FF, Orders.upTo(8));
            assertEquals(Long.MAX_VALUE, Orders.upTo(62));
            assertEquals(-1L, Orders.upTo(63));
            assertThrows(IllegalArgumentException.class, () -> Orders.upTo(-2));
            assertThrows(IllegalArgumentException.class, () -> Orders.upTo(64));
        }

        @Test
        void upToMatchesBitCounting() {
            qt().withExamples(EXAMPLES).forAll(integers().between(-1, 63)).checkAssert(order -> {
                long m = Orders.upTo(order);
                assertEquals(order + 1, Orders.count(m));
                assertEquals(order, Orders.highest(m));
                assertEquals(order < 0 ? -1 : 0, Orders.lowest(m));
            });
        }

        @Test
        void isSubset() {
            assertTrue(Orders.isSubset(0, 0));
            assertTrue(Orders.isSubset(0, 0x3FC));
            assertTrue(Orders.isSubset(0x3FC, 0x3FE));
            assertFalse(Orders.isSubset(0x3FE, 0x3FC));
            assertTrue(Orders.isSubset(Orders.bit(9), 0x3FC));
            assertFalse(Orders.isSubset(Orders.bit(10), 0x3FC));
            assertTrue(Orders.isSubset(-1L, -1L));
            assertFalse(Orders.isSubset(Long.MIN_VALUE, Long.MAX_VALUE));
        }

        @Test
        void isSubsetProperty() {
            qt().withExamples(EXAMPLES).forAll(longs().all(), longs().all()).checkAssert((a, b) -> {
                assertTrue(Orders.isSubset(a & b, a));
                assertTrue(Orders.isSubset(a, a | b));
                assertEquals((a | b) == b, Orders.isSubset(a, b));
            });
        }

        @Test
        void count() {
            assertEquals(0, Orders.count(0));
            assertEquals(8, Orders.count(0x3FC));
            assertEquals(9, Orders.count(0x3FE));
            assertEquals(64, Orders.count(-1L));
        }
    }

    @Nested
    class Sizes {

        @Test
        void bytesOfAnOrder() {
            assertEquals(4096, Orders.bytes(0, PAGE));
            assertEquals(16384, Orders.bytes(2, PAGE));
            assertEquals(2_097_152, Orders.bytes(9, PAGE));
            assertEquals(1L << 30, Orders.bytes(18, PAGE));
            assertEquals(512L << 20, Orders.bytes(13, 65536));
            assertEquals(1L << 62, Orders.bytes(50, PAGE));
            assertEquals(1L << 62, Orders.bytes(62, 1));
        }

        @Test
        void bytesOverflowIsAnError() {
            // 4096 << 51 = 2^63 does not fit in a (signed) long: it would come out negative
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Orders.bytes(51, PAGE));
            assertTrue(e.getMessage().contains("overflow"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(52, PAGE));
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(63, 1));
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(60, 65536));
        }

        @Test
        void bytesIsNeverNegativeOrZero() {
            qt().withExamples(EXAMPLES).forAll(integers().between(0, 63), integers().between(0, 30)).checkAssert((order, shift) -> {
                long page = 1L << shift;
                long bytes;
                try {
                    bytes = Orders.bytes(order, page);
                } catch (IllegalArgumentException e) {
                    assertTrue(order + shift > 62, "only an overflow may fail: order " + order + " shift " + shift);
                    return;
                }
                assertTrue(order + shift <= 62);
                assertEquals(1L << (order + shift), bytes);
            });
        }

        @Test
        void bytesRejectsBadPageSizesAndOrders() {
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(0, 0));
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(0, -4096));
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(0, 3000));
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(-1, PAGE));
            assertThrows(IllegalArgumentException.class, () -> Orders.bytes(64, PAGE));
        }

        @Test
        void orderOfASize() {
            assertEquals(0, Orders.order(4096, PAGE));
            assertEquals(4, Orders.order(65536, PAGE));
            assertEquals(9, Orders.order(2_097_152, PAGE));
            assertEquals(13, Orders.order(512L << 20, 65536));
        }

        @ParameterizedTest
        @ValueSource(longs = {0, 2048, 4095, 12288, 4097, -4096, 3 * 2_097_152L})
        void orderRejectsNonFolioSizes(long bytes) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Orders.order(bytes, PAGE));
            assertTrue(e.getMessage().contains(String.valueOf(bytes)), e.getMessage());
        }

        @Test
        void orderInvertsBytes() {
            qt().withExamples(EXAMPLES).forAll(integers().between(0, 40), integers().between(9, 20)).checkAssert((order, shift) ->
                    assertEquals(order, Orders.order(Orders.bytes(order, 1L << shift), 1L << shift)));
        }

        @ParameterizedTest
        @CsvSource({"0,0", "1,1", "1000,1000", "1024,1K", "4096,4K", "65536,64K", "2097152,2M", "1073741824,1G",
                "1099511627776,1T", "1125899906842624,1P", "1536,1536", "3145728,3M"})
        void formatSize(long bytes, String expected) {
            assertEquals(expected, Orders.formatSize(bytes));
        }
    }

    @Nested
    class ParseAndFormat {

        @Test
        void parsesAListOfSizes() {
            assertEquals(Orders.bit(9) | Orders.bit(4) | Orders.bit(2), Orders.parse("2M,64K,16K", PAGE));
            assertEquals(Orders.bit(9) | Orders.bit(4) | Orders.bit(2), Orders.parse("16K,2M,64K", PAGE));
            assertEquals(Orders.bit(9) | Orders.bit(4), Orders.parse(" 2M , 64K ", PAGE));
        }

        @ParameterizedTest
        @CsvSource({"2048kB,9", "2048KB,9", "2MiB,9", "2mib,9", "2M,9", "2m,9", "2MB,9", "2097152,9", "2097152B,9",
                "4096,0", "4K,0", "8kB,1", "16K,2", "64KiB,4", "1G,18", "1GiB,18", "1024M,18", "1T,28"})
        void parsesEverySpelling(String text, int order) {
            assertEquals(Orders.bit(order), Orders.parse(text, PAGE));
        }

        @ParameterizedTest
        @ValueSource(strings = {"", "none", "NONE", "None", "  ", " none \n"})
        void emptyAndNoneAreTheEmptyMask(String text) {
            assertEquals(0, Orders.parse(text, PAGE));
        }

        @Test
        void sizesAreRelativeToThePageSize() {
            assertEquals(Orders.bit(13), Orders.parse("512M", 65536));
            assertEquals(Orders.bit(0), Orders.parse("64K", 65536));
            assertEquals(Orders.bit(11), Orders.parse("32M", 16384));
        }

        @Test
        void formatsHighestFirst() {
            assertEquals("2M,64K,16K", Orders.format(Orders.bit(2) | Orders.bit(4) | Orders.bit(9), PAGE));
            assertEquals("2M,1M,512K,256K,128K,64K,32K,16K", Orders.format(0x3FC, PAGE));
            assertEquals("2M,1M,512K,256K,128K,64K,32K,16K,8K", Orders.format(0x3FE, PAGE));
            assertEquals("1G,2M", Orders.format(Orders.bit(18) | Orders.bit(9), PAGE));
            assertEquals("4K", Orders.format(1, PAGE));
            assertEquals("none", Orders.format(0, PAGE));
            assertEquals("512M,128K", Orders.format(Orders.bit(13) | Orders.bit(1), 65536));
        }

        @Test
        void formatRejectsMasksWhoseSizesOverflow() {
            assertThrows(IllegalArgumentException.class, () -> Orders.format(Orders.bit(51), PAGE));
            assertThrows(IllegalArgumentException.class, () -> Orders.format(-1L, PAGE));
            assertThrows(IllegalArgumentException.class, () -> Orders.format(1, 3000));
        }

        @Test
        void roundTripOverValidOrders() {
            Gen<Integer> shifts = integers().between(9, 20);
            qt().withExamples(EXAMPLES).forAll(shifts, longs().all()).checkAssert((shift, bits) -> {
                long page = 1L << shift;
                long mask = bits & Orders.upTo(62 - shift); // every order whose folio size fits in a long
                String text = Orders.format(mask, page);
                assertEquals(mask, Orders.parse(text, page), () -> "parse(\"" + text + "\")");
                assertEquals(mask == 0 ? 0 : Orders.count(mask), text.equals("none") ? 0 : text.split(",").length);
            });
        }

        @Test
        void formatIsStrictlyDescending() {
            qt().withExamples(EXAMPLES).forAll(longs().all()).checkAssert(bits -> {
                long mask = bits & Orders.upTo(50);
                if (mask == 0) {
                    return;
                }
                long previous = Long.MAX_VALUE;
                for (String size : Orders.format(mask, PAGE).split(",")) {
                    long bytes = Orders.bytes(Orders.highest(Orders.parse(size, PAGE)), PAGE);
                    assertTrue(bytes < previous, size);
                    previous = bytes;
                }
            });
        }

        @Test
        void roundTripOverSysfsOrdersOfEveryPreset() {
            for (PageGeometry g : ApiGens.PRESETS) {
                qt().withExamples(Math.max(1, EXAMPLES / 10)).forAll(ApiGens.subsetOf(g.sysfsOrders() | g.allSpecialOrders()))
                        .checkAssert(mask -> assertEquals(mask, Orders.parse(Orders.format(mask, g.pageSize()), g.pageSize())));
            }
        }

        @ParameterizedTest
        @CsvSource(delimiter = '|', value = {
                "2M,3K,16K|3K",
                "2M,12K|12K",
                "2X|2X",
                "abc|abc",
                "2M,,16K|''",
                ",2M|''",
                "2M,|''",
                "-2M|-2M",
                "+2M|+2M",
                "2 M|2 M",
                "0|0",
                "2K|2K",
                "K|K",
                "kB|kB",
                "1.5M|1.5M",
                "0x200000|0x200000"})
        void badInputQuotesTheBadToken(String text, String token) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Orders.parse(text, PAGE));
            String message = e.getMessage();
            assertTrue(message.contains("'" + token + "'"), message);
            assertTrue(message.contains("\"" + text + "\""), message);
        }

        @Test
        void overflowIsReportedNotWrappedAround() {
            // 2^63 bytes, 2^83 bytes, a 20-digit number: none may wrap into a small valid size
            for (String text : new String[] {"8388608T", "9223372036854775808", "99999999999999999999",
                    "8796093022208T", "18014398509481984G", "9223372036854775807K"}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Orders.parse(text, PAGE), text);
                assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
                assertTrue(e.getMessage().contains("too large"), e.getMessage());
            }
            // the largest exact sizes still parse
            assertEquals(Orders.bit(40), Orders.parse("4096T", PAGE));
            assertEquals(Orders.bit(50), Orders.parse("4096P", PAGE));
            assertEquals(Orders.bit(42), Orders.parse("4PiB", 1024));
            assertEquals(Orders.bit(62), Orders.parse("4611686018427387904", 1));
        }

        @Test
        void parseRejectsABadPageSize() {
            assertThrows(IllegalArgumentException.class, () -> Orders.parse("2M", 0));
            assertThrows(IllegalArgumentException.class, () -> Orders.parse("2M", 6000));
        }
    }
}
