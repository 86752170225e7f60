package io.mthp4j.bench.pressure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void bucketsTileTheRangeWithoutGapsAndAreAtMostOneHundredTwentyEighthWide() {
        assertEquals(0, LatencyHistogram.lowest(0));
        for (int i = 0; i < LatencyHistogram.BUCKETS - 1; i++) {
            long lo = LatencyHistogram.lowest(i);
            long hi = LatencyHistogram.highest(i);
            assertEquals(hi + 1, LatencyHistogram.lowest(i + 1), "bucket " + i);
            assertEquals(i, LatencyHistogram.index(lo), "lowest of " + i);
            assertEquals(i, LatencyHistogram.index(hi), "highest of " + i);
            assertTrue(hi - lo + 1 <= Math.max(1, lo / LatencyHistogram.SUB), "bucket " + i + " [" + lo + ", " + hi + "]");
        }
        assertEquals(LatencyHistogram.BUCKETS - 1, LatencyHistogram.index(Long.MAX_VALUE));
        assertEquals(Long.MAX_VALUE, LatencyHistogram.highest(LatencyHistogram.BUCKETS - 1));
    }

    @Test
    void smallValuesAreExact() {
        LatencyHistogram h = new LatencyHistogram();
        for (int v = 1; v <= 100; v++) {
            h.record(v);
        }
        assertEquals(50, h.valueAt(50));
        assertEquals(95, h.valueAt(95));
        assertEquals(99, h.valueAt(99));
        assertEquals(100, h.valueAt(100));
        assertEquals(1, h.valueAt(0));
        assertEquals(100, h.max());
        assertEquals(1, h.min());
        assertEquals(100, h.count());
    }

    @Test
    void percentilesAreWithinOnePercentOfTheExactOnesNeverBelow() {
        SplittableRandom r = new SplittableRandom(7);
        int n = 200_001;
        long[] values = new long[n];
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < n; i++) {
            // log-uniform from 100 ns to 100 ms, as latencies spread
            values[i] = (long) Math.exp(Math.log(100) + r.nextDouble() * (Math.log(1e8) - Math.log(100)));
            h.record(values[i]);
        }
        Arrays.sort(values);
        for (double p : new double[] {0, 1, 25, 50, 90, 95, 99, 99.9, 99.99, 100}) {
            long exact = values[(int) Math.max(0, Math.ceil(p * n / 100) - 1)];
            long got = h.valueAt(p);
            assertTrue(got >= exact && got <= exact * 1.01, "p" + p + ": " + got + " vs exact " + exact);
        }
        assertEquals(values[n - 1], h.max());
        assertEquals(values[n - 1], h.valueAt(100));
        assertEquals(values[0], h.min());
    }

    @Test
    void mergingEqualsRecordingEverythingInOne() {
        SplittableRandom r = new SplittableRandom(3);
        LatencyHistogram all = new LatencyHistogram();
        LatencyHistogram a = new LatencyHistogram();
        LatencyHistogram b = new LatencyHistogram();
        for (int i = 0; i < 10_000; i++) {
            long v = r.nextLong(50_000_000);
            all.record(v);
            (i % 3 == 0 ? a : b).record(v);
        }
        a.add(b);
        for (double p : new double[] {0, 50, 95, 99, 100}) {
            assertEquals(all.valueAt(p), a.valueAt(p), "p" + p);
        }
        assertEquals(all.count(), a.count());
        assertEquals(all.max(), a.max());
        assertEquals(all.min(), a.min());
    }

    @Test
    void emptyNegativeAndReset() {
        LatencyHistogram h = new LatencyHistogram();
        assertEquals(0, h.valueAt(99));
        assertEquals(0, h.max());
        assertEquals(0, h.min());
        h.record(-5);
        assertEquals(0, h.valueAt(50));
        h.record(Long.MAX_VALUE);
        assertEquals(Long.MAX_VALUE, h.valueAt(100));
        h.reset();
        assertEquals(0, h.count());
        assertEquals(0, h.valueAt(100));
        assertThrows(IllegalArgumentException.class, () -> h.valueAt(101));
        assertThrows(IllegalArgumentException.class, () -> h.valueAt(Double.NaN));
    }
}
