package io.mthp4j.bench.pressure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class KvStoreTest {

    private static byte[] pool(long seed) {
        byte[] pool = new byte[1 << 20];
        new SplittableRandom(seed).nextBytes(pool);
        return pool;
    }

    private static byte[] expected(byte[] pool, int offset, int randomLength, int valueBytes) {
        byte[] v = new byte[valueBytes];
        System.arraycopy(pool, offset, v, 0, randomLength);
        return v;
    }

    @Test
    void newKeysAppendSlotsAcrossSlabsAndOldOnesAreOverwrittenInPlace() {
        int valueBytes = 1 << 20; // 1 MiB values: 63 slots a slab, so 200 keys need 4 slabs
        KvStore store = new KvStore(1000, valueBytes, false);
        byte[] pool = pool(1);
        Map<Long, Integer> last = new HashMap<>();
        SplittableRandom r = new SplittableRandom(2);
        int randomLength = valueBytes / 2;
        for (int i = 0; i < 400; i++) {
            long key = r.nextInt(200);
            int offset = r.nextInt(pool.length - randomLength + 1);
            assertEquals(!last.containsKey(key), store.set(key, pool, offset, randomLength));
            last.put(key, offset);
        }
        assertEquals(last.size(), store.keys());
        assertEquals((last.size() + 62) / 63, store.slabs());
        byte[] got = new byte[valueBytes];
        for (Map.Entry<Long, Integer> e : last.entrySet()) {
            assertTrue(store.get(e.getKey(), got));
            assertArrayEquals(expected(pool, e.getValue(), randomLength, valueBytes), got, "key " + e.getKey());
        }
        assertFalse(store.get(999, got));
    }

    @Test
    void resetForgetsKeysButKeepsAndReusesTheSlabs() {
        KvStore store = new KvStore(200_000, 1024, false);
        byte[] pool = pool(3);
        for (long k = 0; k < 100_000; k++) {
            store.set(k, pool, (int) k, 512);
        }
        assertEquals(100_000, store.keys());
        assertEquals(2, store.slabs()); // 65,027 slots of 1,032 bytes a slab
        store.reset();
        assertEquals(0, store.keys());
        byte[] got = new byte[1024];
        assertFalse(store.get(5, got));
        for (long k = 0; k < 100_000; k++) {
            store.set(199_999 - k, pool, 7, 1024);
        }
        assertEquals(2, store.slabs());
        assertTrue(store.get(199_999, got));
        assertArrayEquals(expected(pool, 7, 1024, 1024), got);
    }

    @Test
    void concurrentWritersLoseNoKeyAndLeaveWholeValues() throws Exception {
        int keyspace = 50_000;
        int valueBytes = 256;
        KvStore store = new KvStore(keyspace, valueBytes, true);
        byte[] pool = new byte[1 << 16];
        new SplittableRandom(4).nextBytes(pool);
        Map<Long, Integer> starts = new HashMap<>();
        for (int off = 0; off + 8 <= pool.length; off++) {
            starts.put(prefix(pool, off), off);
        }
        int threads = 4;
        Thread[] t = new Thread[threads];
        LatencyHistogram[] h = new LatencyHistogram[threads];
        for (int i = 0; i < threads; i++) {
            SplittableRandom r = new SplittableRandom(10 + i);
            LatencyHistogram hi = new LatencyHistogram();
            h[i] = hi;
            t[i] = new Thread(() -> KvService.work(store, pool, valueBytes, keyspace, 100_000, r, hi, new AtomicLong()));
            t[i].start();
        }
        for (Thread x : t) {
            x.join();
        }
        long seen = 0;
        byte[] got = new byte[valueBytes];
        for (long k = 0; k < keyspace; k++) {
            if (store.get(k, got)) {
                seen++;
                // each value is one whole window of the pool, not parts of two
                assertTrue(isWindow(starts, pool, got), "key " + k + " holds a torn value");
            }
        }
        assertEquals(seen, store.keys());
        assertTrue(seen > 49_000, "400,000 sets on 50,000 keys leave almost all set: " + seen);
        for (LatencyHistogram x : h) {
            assertEquals(100_000, x.count());
        }
    }

    /** Whether {@code value} is one whole window of {@code pool}, found by its first 8 bytes. */
    private static boolean isWindow(Map<Long, Integer> starts, byte[] pool, byte[] value) {
        Integer off = starts.get(prefix(value, 0));
        return off != null && Arrays.equals(pool, off, off + value.length, value, 0, value.length);
    }

    private static long prefix(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | (b[off + i] & 0xff);
        }
        return v;
    }
}
