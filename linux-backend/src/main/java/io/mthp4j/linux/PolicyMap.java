package io.mthp4j.linux;

import com.sun.jna.Memory;
import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Errno;
import io.mthp4j.api.KernelException;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The pinned BPF map a BPF-THP program reads decisions from, in exactly the layout of
 * {@code src/main/c/mthp4j_policy.h} (layout version {@value #LAYOUT_VERSION}): key = u64 cgroup id (0 = the
 * host-wide default), value = orders per {@link TvaType} x {@link VmaType}, generation, expiry in
 * {@code CLOCK_BOOTTIME} ns, flags, layout version. Opening a map whose type, key size, value size or layout
 * version differ is refused, saying what differs. {@link #put} is allocation-free.
 */
public final class PolicyMap implements AutoCloseable {

    /** {@code MTHP4J_POLICY_LAYOUT_VERSION}. */
    public static final int LAYOUT_VERSION = 1;
    /** {@code MTHP4J_POLICY_MAP_NAME}: the version is part of the map's name. */
    public static final String MAP_NAME = "mthp4j_pol_v" + LAYOUT_VERSION;
    /** The key: a u64 cgroup id. */
    public static final int KEY_SIZE = 8;
    /** {@code sizeof(struct mthp4j_policy_value)}. */
    public static final int VALUE_SIZE = 144;
    /** {@code MTHP4J_POLICY_F_VALID}. */
    public static final int F_VALID = 1;
    /** Where mthp4j pins its map by default. */
    public static final Path DEFAULT_PIN = Bpffs.DEFAULT.resolve("mthp4j/policy");

    // struct mthp4j_policy_value offsets
    static final int OFF_LAYOUT_VERSION = 0;
    static final int OFF_FLAGS = 4;
    static final int OFF_GENERATION = 8;
    static final int OFF_EXPIRES = 16;
    static final int OFF_ALLOWED = 24;

    private static final String NAME_PREFIX = "mthp4j_pol_v";
    private static final TvaType[] TVA = TvaType.values();
    private static final VmaType[] VMA = VmaType.values();

    /**
     * One entry as stored.
     *
     * @param cgroupId           the key
     * @param layoutVersion      {@code layout_version}
     * @param flags              {@code flags}
     * @param generation         {@code generation}
     * @param expiresAtBootNanos {@code expires_boot_ns}
     * @param table              {@code allowed}
     */
    public record Entry(long cgroupId, int layoutVersion, int flags, long generation, long expiresAtBootNanos,
                        DecisionTable table) {

        /** Whether the entry has an opinion at boot time {@code nowBootNanos} (the header's mthp4j_policy_applies). */
        public boolean appliesAt(long nowBootNanos) {
            return layoutVersion == LAYOUT_VERSION && (flags & F_VALID) != 0
                    && Long.compareUnsigned(nowBootNanos, expiresAtBootNanos) < 0;
        }
    }

    private final BpfMap map;
    private final Path pin;

    private PolicyMap(BpfMap map, Path pin) {
        this.map = map;
        this.pin = pin;
    }

    /**
     * Creates the map and pins it at {@code pin} (directories are created inside bpffs).
     *
     * @throws KernelException EEXIST if something is pinned there already, EPERM without privilege or bpffs
     */
    public static PolicyMap createPinned(Path pin, int maxEntries) {
        BpfMap map = BpfMap.create(BpfMap.Type.HASH, MAP_NAME, KEY_SIZE, VALUE_SIZE, maxEntries, 0);
        try {
            map.pin(pin);
            return new PolicyMap(map, pin);
        } catch (RuntimeException | Error e) {
            map.close();
            throw e;
        }
    }

    /**
     * Opens the map pinned at {@code pin}, read-only or read-write, and checks it is a policy map of this
     * layout.
     *
     * @throws KernelException ENOENT if nothing is pinned there
     * @throws IllegalStateException if the pinned map has another type, key size, value size or version
     */
    public static PolicyMap openPinned(Path pin, boolean readOnly) {
        BpfMap map = BpfMap.openPinned(pin, readOnly ? BpfMap.Access.READ_ONLY : BpfMap.Access.READ_WRITE);
        try {
            checkSchema(map.info(), pin);
            return new PolicyMap(map, pin);
        } catch (RuntimeException | Error e) {
            map.close();
            throw e;
        }
    }

    /** Opens the map at {@code pin} read-write, creating and pinning it if nothing is pinned there. */
    public static PolicyMap openOrCreate(Path pin, int maxEntries) {
        try {
            return openPinned(pin, false);
        } catch (KernelException e) {
            if (e.errno() != Errno.ENOENT || Bpffs.mountCovering(pin) == null) {
                throw e;
            }
        }
        try {
            return createPinned(pin, maxEntries);
        } catch (KernelException e) {
            if (e.errno() == Errno.EEXIST) { // created by someone else meanwhile
                return openPinned(pin, false);
            }
            throw e;
        }
    }

    /** Removes the pin (the map goes away once no descriptor is open). False if nothing was pinned there. */
    public static boolean unpin(Path pin) {
        try {
            return Files.deleteIfExists(pin);
        } catch (IOException e) {
            throw new KernelException("unlink", pin.toString(), Errno.EIO.value(), e.toString(), e);
        }
    }

    static void checkSchema(BpfMap.Info info, Path pin) {
        List<String> diffs = new ArrayList<>();
        if (info.type() != BpfMap.Type.HASH.code) {
            diffs.add("type " + info.typeName() + " (expected HASH)");
        }
        if (info.keySize() != KEY_SIZE) {
            diffs.add("key_size " + info.keySize() + " (expected " + KEY_SIZE + ")");
        }
        if (info.valueSize() != VALUE_SIZE) {
            diffs.add("value_size " + info.valueSize() + " (expected " + VALUE_SIZE + ")");
        }
        if (!info.name().equals(MAP_NAME)) {
            diffs.add(info.name().startsWith(NAME_PREFIX)
                    ? "layout version " + info.name().substring(NAME_PREFIX.length()) + " (expected " + LAYOUT_VERSION
                            + "; it was made by another mthp4j version)"
                    : "name \"" + info.name() + "\" (expected \"" + MAP_NAME + "\"; not an mthp4j policy map)");
        }
        if (!diffs.isEmpty()) {
            throw new IllegalStateException("the map pinned at " + pin + " is not an mthp4j policy map of layout "
                    + LAYOUT_VERSION + ": " + String.join(", ", diffs) + ". Unpin it (rm " + pin
                    + ") or point mthp4j at another path");
        }
    }

    /** Where it is pinned. */
    public Path pin() {
        return pin;
    }

    /** {@code max_entries}. */
    public int capacity() {
        return map.info().maxEntries();
    }

    /** layout_version (offset 0) and flags (offset 4) as the first 8-byte word, in native byte order. */
    private static final long HEAD_WORD = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN
            ? (LAYOUT_VERSION & 0xFFFF_FFFFL) | ((long) F_VALID << 32)
            : ((long) LAYOUT_VERSION << 32) | (F_VALID & 0xFFFF_FFFFL);

    /** The value as 8-byte words, reused under the map's lock. */
    private final long[] valueWords = new long[VALUE_SIZE / 8];

    /**
     * Writes the decision for {@code cgroupId} (flags {@link #F_VALID}). Allocation-free.
     *
     * @throws KernelException E2BIG when the map is full, EPERM if opened read-only
     */
    public void put(long cgroupId, DecisionTable table, long generation, long expiresAtBootNanos) {
        Objects.requireNonNull(table, "table");
        synchronized (map) {
            Memory k = map.keyBuffer();
            Memory v = map.valueBuffer();
            k.setLong(0, cgroupId);
            // The whole value in one native write (one JNA call instead of eighteen): the benchmark's
            // map_update_ratio was dominated by per-field writes.
            long[] words = valueWords;
            words[0] = HEAD_WORD;
            words[OFF_GENERATION / 8] = generation;
            words[OFF_EXPIRES / 8] = expiresAtBootNanos;
            int w = OFF_ALLOWED / 8;
            for (TvaType t : TVA) {
                for (VmaType a : VMA) {
                    words[w++] = table.allowed(t, a);
                }
            }
            v.write(0, words, 0, words.length);
            int e = map.updateFromBuffers(BpfMap.BPF_ANY);
            if (e != 0) {
                throw map.elemFailure(BpfAttr.MAP_UPDATE_ELEM, e, longBytes(cgroupId));
            }
        }
    }

    /** Removes the entry of {@code cgroupId}; false if there was none. */
    public boolean remove(long cgroupId) {
        synchronized (map) {
            map.keyBuffer().setLong(0, cgroupId);
            int e = map.deleteFromBuffers();
            if (e == Errno.ENOENT.value()) {
                return false;
            }
            if (e != 0) {
                throw map.elemFailure(BpfAttr.MAP_DELETE_ELEM, e, longBytes(cgroupId));
            }
            return true;
        }
    }

    /** The entry of {@code cgroupId}, if any. */
    public Optional<Entry> get(long cgroupId) {
        byte[] value = new byte[VALUE_SIZE];
        if (!map.lookup(longBytes(cgroupId), value)) {
            return Optional.empty();
        }
        return Optional.of(decode(cgroupId, value));
    }

    /** Every entry, in the map's (hash) order. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        map.forEach(64, (k, v) -> out.add(decode(ByteBuffer.wrap(k).order(ByteOrder.nativeOrder()).getLong(), v)));
        return out;
    }

    static Entry decode(long cgroupId, byte[] value) {
        ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.nativeOrder());
        DecisionTable table = DecisionTable.uniform(0);
        int off = OFF_ALLOWED;
        for (TvaType t : TVA) {
            for (VmaType a : VMA) {
                table = table.with(t, a, b.getLong(off));
                off += 8;
            }
        }
        return new Entry(cgroupId, b.getInt(OFF_LAYOUT_VERSION), b.getInt(OFF_FLAGS), b.getLong(OFF_GENERATION),
                b.getLong(OFF_EXPIRES), table);
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(v).array();
    }

    BpfMap bpfMap() {
        return map;
    }

    @Override
    public void close() {
        map.close();
    }

    @Override
    public String toString() {
        return "PolicyMap[" + map + "]";
    }
}
