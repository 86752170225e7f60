package io.mthp4j.bench.pressure;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The store of {@link KvService}: values in off-heap slabs, shaped like Redis's data for
 * {@code redis-benchmark -t set -r N}. A key seen for the first time gets the next slot, appended to the slabs
 * ({@code ByteBuffer.allocateDirect} chunks of {@value #SLAB_BYTES} bytes, allocated when the previous one is
 * full, so memory grows as keys appear); a key seen again has its slot overwritten in place. A slot is the key
 * (8 bytes) then the value; no slot crosses a slab. The index is a direct-mapped on-heap {@code long[keyspace]}:
 * the slot's offset + 1 ({@code slab << 26 | offset in the slab}), 0 when the key is absent.
 *
 * <p>{@code allocateDirect} zeroes a new slab, so all of its 64 MiB are touched (resident) when it is allocated,
 * not page by page as keys fill it.
 *
 * <p>With one writer thread nothing is locked but the rare slot allocation. With several, each key's index entry
 * and slot are written under one of {@value #STRIPES} stripe locks (key mod stripes), and a new slot is allocated
 * under the store's own lock; the stripe lock also publishes the slab array entries a reader of another thread's
 * slot needs.
 */
final class KvStore {

    static final int SLAB_SHIFT = 26;
    /** One slab: 64 MiB. */
    static final int SLAB_BYTES = 1 << SLAB_SHIFT;
    static final int KEY_BYTES = Long.BYTES;
    static final int STRIPES = 1024;

    private final long[] index;
    private final int valueBytes;
    private final int slotBytes;
    private final ByteBuffer[] slabs;
    private final Object[] stripes;
    private final byte[] zeros;

    // the append position, guarded by this
    private int slab;
    private int pos;
    private int allocated;
    private long allocationNanos;
    private volatile long keys;

    /**
     * @param keyspace   keys are 0 .. keyspace - 1
     * @param valueBytes every value's size
     * @param concurrent whether several threads call {@link #set} at once
     */
    KvStore(int keyspace, int valueBytes, boolean concurrent) {
        if (keyspace < 1) {
            throw new IllegalArgumentException("keyspace " + keyspace + " < 1");
        }
        if (valueBytes < 0 || valueBytes > SLAB_BYTES - KEY_BYTES) {
            throw new IllegalArgumentException("value size " + valueBytes + " does not fit a slab");
        }
        this.index = new long[keyspace];
        this.valueBytes = valueBytes;
        this.slotBytes = KEY_BYTES + valueBytes;
        int slotsPerSlab = SLAB_BYTES / slotBytes;
        this.slabs = new ByteBuffer[(int) ((keyspace + (long) slotsPerSlab - 1) / slotsPerSlab)];
        this.zeros = new byte[valueBytes];
        if (concurrent) {
            stripes = new Object[STRIPES];
            for (int i = 0; i < STRIPES; i++) {
                stripes[i] = new Object();
            }
        } else {
            stripes = null;
        }
    }

    /**
     * Sets {@code key} to a value of {@code randomLength} bytes of {@code source} from {@code sourceOffset}, then
     * zeros up to the value size. Returns whether the key was new.
     *
     * @throws OutOfMemoryError when a new slab exceeds {@code -XX:MaxDirectMemorySize}
     */
    boolean set(long key, byte[] source, int sourceOffset, int randomLength) {
        if (stripes == null) {
            return write(key, source, sourceOffset, randomLength);
        }
        synchronized (stripes[(int) key & (STRIPES - 1)]) {
            return write(key, source, sourceOffset, randomLength);
        }
    }

    private boolean write(long key, byte[] source, int sourceOffset, int randomLength) {
        int k = (int) key;
        long ref = index[k];
        boolean fresh = ref == 0;
        if (fresh) {
            ref = allocate() + 1;
            index[k] = ref;
        }
        long offset = ref - 1;
        ByteBuffer b = slabs[(int) (offset >>> SLAB_SHIFT)];
        int p = (int) offset & (SLAB_BYTES - 1);
        b.putLong(p, key);
        b.put(p + KEY_BYTES, source, sourceOffset, randomLength);
        b.put(p + KEY_BYTES + randomLength, zeros, 0, valueBytes - randomLength);
        return fresh;
    }

    /** The next slot's offset; a new slab when the current one is full (or reused after {@link #reset}). */
    private synchronized long allocate() {
        if (pos + slotBytes > SLAB_BYTES) {
            slab++;
            pos = 0;
        }
        if (slab == allocated) {
            if (slab == slabs.length) {
                throw new IllegalStateException("more keys than the keyspace"); // cannot happen: one slot per key
            }
            long t0 = System.nanoTime();
            slabs[slab] = ByteBuffer.allocateDirect(SLAB_BYTES);
            allocationNanos += System.nanoTime() - t0;
            allocated++;
        }
        long offset = ((long) slab << SLAB_SHIFT) | pos;
        pos += slotBytes;
        keys = keys + 1;
        return offset;
    }

    /**
     * Copies the value of {@code key} into {@code target} (the value size) and returns true, or returns false
     * when the key is absent. For tests: not meant to run during {@link #set} calls of other threads.
     */
    synchronized boolean get(long key, byte[] target) {
        long ref = index[(int) key];
        if (ref == 0) {
            return false;
        }
        long offset = ref - 1;
        ByteBuffer b = slabs[(int) (offset >>> SLAB_SHIFT)];
        int p = (int) offset & (SLAB_BYTES - 1);
        if (b.getLong(p) != key) {
            throw new IllegalStateException("slot of key " + key + " holds key " + b.getLong(p));
        }
        b.get(p + KEY_BYTES, target, 0, valueBytes);
        return true;
    }

    /** Forgets every key: the index is cleared and appending starts again at the first slab; slabs are kept. */
    synchronized void reset() {
        Arrays.fill(index, 0);
        slab = 0;
        pos = 0;
        keys = 0;
        allocationNanos = 0;
    }

    /** Distinct keys set since the start or the last {@link #reset}; readable from any thread. */
    long keys() {
        return keys;
    }

    /** Time spent allocating (and so zeroing, faulting in) new slabs since the start or the last {@link #reset}. */
    synchronized long allocationNanos() {
        return allocationNanos;
    }

    /** Slabs allocated so far (kept across {@link #reset}). */
    synchronized int slabs() {
        return allocated;
    }

    int keyspace() {
        return index.length;
    }
}
