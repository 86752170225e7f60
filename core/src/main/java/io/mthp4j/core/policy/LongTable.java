package io.mthp4j.core.policy;

import io.mthp4j.api.DecisionTable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A map from cgroup id to decision for one writer and many lock-free readers, as an open-addressing hash table
 * (linear probing, at most half full): a lookup is one or two probes of a {@code long[]} and allocates nothing
 * (a {@code Map<Long, ...>} would box the key on every fault, and a binary search over thousands of cgroups costs
 * a dozen mispredicted branches on every fault).
 *
 * <p>The writer (serialised by its owner) changes a decision and adds a key in place, so a scan that decides
 * thousands of cgroups costs one store each, not a copy of the table each; only growing and removing copy, and
 * return the copy, which the owner publishes through a volatile field. A value is written with release
 * semantics after its key, and read with acquire semantics before it, so a reader never pairs a new value
 * with an old key; entries are never moved in place, so a probe chain a reader follows stays valid.
 */
final class LongTable {

    private static final VarHandle VALUES = MethodHandles.arrayElementVarHandle(DecisionTable[].class);

    /** Slots whose value is null are free; key 0 is an ordinary key (its slot has a non-null value). */
    private final long[] keys;
    private final DecisionTable[] values;
    private int size;

    private LongTable(long[] keys, DecisionTable[] values, int size) {
        this.keys = keys;
        this.values = values;
        this.size = size;
    }

    /** A new, empty table (each owner has its own: tables change in place). */
    static LongTable empty() {
        return new LongTable(new long[2], new DecisionTable[2], 0);
    }

    /** The decision for {@code key}, or {@code null}. Allocation-free; safe against the one writer. */
    DecisionTable get(long key) {
        long[] k = keys;
        DecisionTable[] v = values;
        int mask = k.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            DecisionTable value = (DecisionTable) VALUES.getAcquire(v, i);
            if (value == null || k[i] == key) {
                return value;
            }
        }
    }

    int size() {
        return size;
    }

    /**
     * Maps {@code key} to {@code value}, in place while there is room; returns the table to publish: {@code this},
     * or a larger copy.
     */
    LongTable with(long key, DecisionTable value) {
        if (value == null) {
            throw new IllegalArgumentException("a decision table is required; use without() to remove cgroup " + key);
        }
        int i = find(key);
        if (i >= 0) {
            VALUES.setRelease(values, i, value);
            return this;
        }
        if ((size + 1) * 2 > keys.length) {
            LongTable out = rehash(keys.length * 2, Long.MIN_VALUE, false);
            out.insert(key, value);
            return out;
        }
        insert(key, value);
        return this;
    }

    /** A copy without {@code key}, to publish; {@code this} if absent. */
    LongTable without(long key) {
        if (find(key) < 0) {
            return this;
        }
        int capacity = keys.length;
        while (capacity > 2 && (size - 1) * 4 < capacity) {
            capacity /= 2;
        }
        return rehash(capacity, key, true);
    }

    /** The slot of {@code key}, or -1. */
    private int find(long key) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            if (values[i] == null) {
                return -1;
            }
            if (keys[i] == key) {
                return i;
            }
        }
    }

    /** A copy with {@code capacity} slots, leaving out {@code skipKey} if {@code skip}. */
    private LongTable rehash(int capacity, long skipKey, boolean skip) {
        LongTable out = new LongTable(new long[capacity], new DecisionTable[capacity], 0);
        for (int i = 0; i < keys.length; i++) {
            if (values[i] != null && !(skip && keys[i] == skipKey)) {
                out.insert(keys[i], values[i]);
            }
        }
        return out;
    }

    /** Puts {@code key} into a free slot: the key first, then the value with release semantics. */
    private void insert(long key, DecisionTable value) {
        int mask = keys.length - 1;
        int i = slot(key, mask);
        while (values[i] != null) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        VALUES.setRelease(values, i, value);
        size++;
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L; // Fibonacci hashing: sequential ids spread over the table
        return (int) (h >>> 32) & mask;
    }

    @Override
    public String toString() {
        return "LongTable[" + size + " entries in " + keys.length + " slots]";
    }
}
