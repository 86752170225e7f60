package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The census's run-length rule (linux-interfaces.md §6.5) on synthetic pagemap and kpageflags: a range laid
 * out from known folios is counted back to exactly those folios.
 */
class FolioCensusCountTest {

    private static final long PRESENT = 1L << 63;

    /** Pages of a layout: each element is a folio order, -1 an absent page, -2 a zero-page mapping. */
    private record Layout(long[] pagemap, Map<Long, Long> flags, SortedMap<Integer, Long> folios, long absent, long zero) {
    }

    private static Layout layout(List<Integer> items, int skipFirst) {
        List<Long> pm = new ArrayList<>();
        Map<Long, Long> flags = new HashMap<>();
        SortedMap<Integer, Long> folios = new TreeMap<>();
        long absent = 0;
        long zero = 0;
        long nextPfn = 0x10000;
        for (int item : items) {
            if (item == -1) {
                pm.add(0L);
                absent++;
            } else if (item == -2) {
                pm.add(PRESENT | 0x42);
                flags.put(0x42L, 1L << FolioCensus.KPF_ZERO_PAGE);
                zero++;
            } else {
                int pages = 1 << item;
                nextPfn = (nextPfn + pages - 1) / pages * pages + pages; // aligned, with a gap before it
                for (int i = 0; i < pages; i++) {
                    long pfn = nextPfn + i;
                    pm.add(PRESENT | pfn);
                    long f = 1L << FolioCensus.KPF_ANON;
                    if (item > 0) {
                        f |= i == 0 ? 1L << FolioCensus.KPF_COMPOUND_HEAD | 1L << FolioCensus.KPF_THP : 1L << FolioCensus.KPF_COMPOUND_TAIL;
                    }
                    flags.put(pfn, f);
                }
                nextPfn += pages;
                folios.merge(item, 1L, Long::sum);
            }
        }
        long[] out = pm.stream().skip(skipFirst).mapToLong(Long::longValue).toArray();
        return new Layout(out, flags, folios, absent, zero);
    }

    @Test
    void knownFoliosAreCountedBack() {
        qt().withExamples(Math.min(2000, Integer.getInteger("mthp4j.property.examples", 1000)))
                .forAll(lists().of(integers().between(-2, 9).map(i -> i == 1 ? 0 : i)).ofSizeBetween(0, 40))
                .checkAssert(items -> {
                    Layout l = layout(items, 0);
                    FolioCensus c = count(l);
                    assertEquals(l.folios(), c.foliosByOrder(), items.toString());
                    assertEquals(l.absent(), c.absentPages());
                    assertEquals(l.zero(), c.zeroPages());
                    assertEquals(0, c.partialPages());
                });
    }

    @Test
    void aRangeStartingInsideAFolioCountsItsTailAsPartial() throws IOException {
        Layout l = layout(List.of(4, 0, 9), 5); // start 5 pages into a 64K folio
        FolioCensus c = count(l);
        assertEquals(11, c.partialPages());
        assertEquals(Map.of(0, 1L, 9, 1L), c.foliosByOrder());
        assertEquals(Map.of(4096L, 4096L, 2L << 20, 2L << 20), c.bytesBySize());
        assertEquals(2L << 20, c.hugeBytes());
    }

    private static FolioCensus count(Layout l) {
        try {
            return FolioCensus.count(l.pagemap(), pfn -> l.flags().getOrDefault(pfn, 0L), 4096);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
