package io.mthp4j.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** bpf(2) maps on the real kernel, errno by errno as linux-interfaces.md §2.4 and §2.5 record them. */
class BpfMapTest extends BpffsTest {


    static byte[] key(long k) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(k).array();
    }

    static long key(byte[] k) {
        return ByteBuffer.wrap(k).order(ByteOrder.nativeOrder()).getLong();
    }

    static byte[] value(long seed) {
        byte[] v = new byte[32];
        for (int i = 0; i < v.length; i++) {
            v[i] = (byte) (seed * 31 + i);
        }
        return v;
    }

    @Test
    void elementOperationsFollowTheKernel() {
        try (BpfMap m = BpfMap.create(BpfMap.Type.HASH, "t_elem", 8, 32, 4, 0)) {
            BpfMap.Info info = m.info();
            assertEquals(BpfMap.Type.HASH.code, info.type());
            assertEquals(8, info.keySize());
            assertEquals(32, info.valueSize());
            assertEquals(4, info.maxEntries());
            assertEquals("t_elem", info.name());

            byte[] out = new byte[32];
            assertFalse(m.lookup(key(42), out), "missing key: ENOENT is false");
            m.update(key(42), value(42), BpfMap.BPF_ANY);
            assertTrue(m.lookup(key(42), out));
            assertArrayEquals(value(42), out);

            KernelException exists = assertThrows(KernelException.class, () -> m.update(key(42), value(1), BpfMap.BPF_NOEXIST));
            assertEquals(Errno.EEXIST, exists.errno());
            assertEquals("BPF_MAP_UPDATE_ELEM", exists.operation());
            assertTrue(exists.getMessage().contains("t_elem"), exists.getMessage());
            assertEquals(Errno.ENOENT, assertThrows(KernelException.class, () -> m.update(key(7), value(7), BpfMap.BPF_EXIST)).errno());
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> m.update(key(42), value(1), 4)).errno(),
                    "BPF_F_LOCK on a value without a spin lock");

            for (long k = 101; k <= 103; k++) {
                m.update(key(k), value(k), BpfMap.BPF_ANY);
            }
            KernelException full = assertThrows(KernelException.class, () -> m.update(key(5), value(5), BpfMap.BPF_ANY));
            assertEquals(Errno.E2BIG, full.errno(), "a full HASH gives E2BIG, not ENOSPC");
            assertTrue(full.getMessage().contains("map full (4 entries)"), full.getMessage());
            m.update(key(101), value(9), BpfMap.BPF_ANY); // overwriting in a full map works

            Set<Long> walked = new HashSet<>();
            byte[] k = new byte[8];
            byte[] prev = null;
            while (m.nextKey(prev, k)) {
                walked.add(key(k));
                prev = k.clone();
            }
            assertEquals(Set.of(42L, 101L, 102L, 103L), walked);
            assertTrue(m.nextKey(key(999), k), "a key not in the map restarts the walk");
            assertTrue(walked.contains(key(k)));

            assertTrue(m.delete(key(42)));
            assertFalse(m.delete(key(42)));
        }
    }

    @Test
    void javaChecksLengthsTheKernelDoesNot() {
        try (BpfMap m = BpfMap.create(BpfMap.Type.HASH, "t_len", 8, 32, 4, 0)) {
            IllegalArgumentException shortKey = assertThrows(IllegalArgumentException.class, () -> m.update(new byte[4], value(1), 0));
            assertTrue(shortKey.getMessage().contains("key_size is 8"), shortKey.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.update(key(1), new byte[16], 0));
            assertThrows(IllegalArgumentException.class, () -> m.lookup(key(1), new byte[33]));
            assertThrows(IllegalArgumentException.class, () -> m.updateBatch(new byte[8], new byte[31], 1, 0));
        }
    }

    @Test
    void arrayMapsBehaveAsRecorded() {
        try (BpfMap m = BpfMap.create(BpfMap.Type.ARRAY, "t_array", 4, 32, 8, 0)) {
            byte[] idx = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(3).array();
            byte[] out = new byte[32];
            assertTrue(m.lookup(idx, out), "every index exists");
            assertArrayEquals(new byte[32], out);
            byte[] beyond = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(8).array();
            assertEquals(Errno.E2BIG, assertThrows(KernelException.class, () -> m.update(beyond, value(1), 0)).errno());
            assertFalse(m.lookup(beyond, out));
            assertEquals(Errno.EINVAL, assertThrows(KernelException.class, () -> m.delete(idx)).errno());
            assertEquals(Errno.EEXIST, assertThrows(KernelException.class, () -> m.update(idx, value(1), BpfMap.BPF_NOEXIST)).errno());
        }
    }

    @Test
    void createRefusesBadParametersWithMessages() {
        assertThrows(IllegalArgumentException.class, () -> BpfMap.create(BpfMap.Type.HASH, "bad-name", 8, 8, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> BpfMap.create(BpfMap.Type.HASH, "sixteen_chars_xx", 8, 8, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> BpfMap.create(BpfMap.Type.ARRAY, "a", 8, 8, 1, 0));
        int before = RealKernel.openFds();
        KernelException e = assertThrows(KernelException.class, () -> BpfMap.create(BpfMap.Type.HASH, "t_flags", 8, 8, 1, 0x80000000));
        assertEquals(Errno.EINVAL, e.errno());
        assertEquals("BPF_MAP_CREATE", e.operation());
        assertEquals(before, RealKernel.openFds());
    }

    @Test
    void batchesReportPartialResults() {
        try (BpfMap m = BpfMap.create(BpfMap.Type.HASH, "t_batch", 8, 32, 64, 0)) {
            assertEquals(0, m.updateBatch(new byte[0], new byte[0], 0, 0));
            assertEquals(50, m.updateBatch(keys(0, 50), values(0, 50), 50, 0));
            BpfBatchException full = assertThrows(BpfBatchException.class, () -> m.updateBatch(keys(1000, 50), values(1000, 50), 50, 0));
            assertEquals(Errno.E2BIG, full.errno());
            assertEquals(14, full.completed(), "the kernel wrote back how many fit");
            BpfBatchException flags = assertThrows(BpfBatchException.class, () -> m.updateBatch(keys(0, 1), values(0, 1), 1, BpfMap.BPF_NOEXIST));
            assertEquals(Errno.EINVAL, flags.errno());
            assertEquals(-1, flags.completed(), "count is untouched on EINVAL");

            // walk with tiny pages: ENOSPC (a bucket larger than the page) is retried, ENOENT ends it with entries
            for (int chunk : new int[] {1, 2, 16, 64, 1000}) {
                Map<Long, byte[]> seen = new HashMap<>();
                int n = m.forEach(chunk, (k, v) -> seen.put(key(k), v.clone()));
                assertEquals(64, n, "chunk " + chunk);
                assertEquals(64, seen.size());
                assertArrayEquals(value(7), seen.get(7L));
            }
        }
    }

    private static byte[] keys(long from, int n) {
        ByteBuffer b = ByteBuffer.allocate(8 * n).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            b.putLong(from + i);
        }
        return b.array();
    }

    private static byte[] values(long from, int n) {
        ByteBuffer b = ByteBuffer.allocate(32 * n);
        for (int i = 0; i < n; i++) {
            b.put(value(from + i));
        }
        return b.array();
    }

    @Test
    void pinsOpenReadOnlyAndReadWrite() throws Exception {
        Path pin = bpffs.pin("sub/dir/pinned");
        try (BpfMap m = BpfMap.create(BpfMap.Type.HASH, "t_pin", 8, 32, 4, 0)) {
            m.update(key(1), value(1), 0);
            m.pin(pin);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pin)));
            assertEquals(Errno.EEXIST, assertThrows(KernelException.class, () -> m.pin(pin)).errno());
        }
        // the map outlives its creator's descriptor while pinned
        try (BpfMap rw = BpfMap.openPinned(pin, BpfMap.Access.READ_WRITE);
             BpfMap ro = BpfMap.openPinned(pin, BpfMap.Access.READ_ONLY)) {
            byte[] out = new byte[32];
            assertTrue(ro.lookup(key(1), out));
            assertArrayEquals(value(1), out);
            rw.update(key(2), value(2), 0);
            assertTrue(ro.lookup(key(2), out), "writes through one descriptor are seen through another");
            KernelException denied = assertThrows(KernelException.class, () -> ro.update(key(3), value(3), 0));
            assertEquals(Errno.EPERM, denied.errno());
            assertTrue(denied.getMessage().contains("read-only"), denied.getMessage());
            assertEquals(rw.info().id(), ro.info().id());
        }
        int before = RealKernel.openFds();
        KernelException missing = assertThrows(KernelException.class, () -> BpfMap.openPinned(bpffs.pin("nothing"), BpfMap.Access.READ_WRITE));
        assertEquals(Errno.ENOENT, missing.errno());
        assertTrue(missing.getMessage().contains("nothing is pinned there"), missing.getMessage());
        assertEquals(Errno.EACCES, assertThrows(KernelException.class, () -> BpfMap.openPinned(pin.getParent(), BpfMap.Access.READ_WRITE)).errno(),
                "a directory is not a BPF object");
        assertEquals(before, RealKernel.openFds(), "failed opens leak no descriptor");
    }

    @Test
    void pinningOutsideBpffsSaysToMountIt() throws Exception {
        Path dir = Files.createTempDirectory("mthp4j-nobpffs");
        try (BpfMap m = BpfMap.create(BpfMap.Type.HASH, "t_nofs", 8, 8, 1, 0)) {
            KernelException e = assertThrows(KernelException.class, () -> m.pin(dir.resolve("pin")));
            assertEquals(Errno.EPERM, e.errno());
            assertTrue(e.getMessage().contains("mount -t bpf bpf /sys/fs/bpf"), e.getMessage());
            KernelException open = assertThrows(KernelException.class, () -> BpfMap.openPinned(dir.resolve("pin"), BpfMap.Access.READ_ONLY));
            assertEquals(Errno.ENOENT, open.errno());
            assertTrue(open.getMessage().contains("no bpffs is mounted"), open.getMessage());
        } finally {
            RealKernel.deleteTree(dir);
        }
    }

    @Test
    void closedHandlesRefuseUse() {
        BpfMap m = BpfMap.create(BpfMap.Type.HASH, "t_closed", 8, 8, 1, 0);
        m.close();
        m.close();
        assertThrows(IllegalStateException.class, () -> m.update(key(1), new byte[8], 0));
    }
}
