package io.mthp4j.core.policy;

import io.mthp4j.api.DecisionTable;

/**
 * An immutable map from cgroup id to decision, as an open-addressing hash table (linear probing, at most half
 * full): a lookup is one or two probes of a {@code long[]} and allocates nothing (a {@code Map<Long, ...>} would
 * box the key on every fault, and a binary search over thousands of cgroups costs a dozen mispredicted branches
 * on every fault). Writers replace the whole snapshot; they are rare (one per decision change), readers are
 * every fault.
 */
final class LongTable {

    static final LongTable EMPTY = new LongTable(new long[2], new DecisionTable[2], 0);

    /** Slots whose value is null are free; key 0 is an ordinary key (its slot has a non-null value). */
    private final long[] keys;
    private final DecisionTable[] values;
    private final int size;

    private LongTable(long[] keys, DecisionTable[] values, int size) {
        this.keys = keys;
        this.values = values;
        this.size = size;
    }

    /** The decision for {@code key}, or {@code null}. Allocation-free. */
    DecisionTable get(long key) {
        long[] k = keys;
        DecisionTable[] v = values;
        int mask = k.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            DecisionTable value = v[i];
            if (value == null || k[i] == key) {
                return value;
            }
        }
    }

    int size() {
        return size;
    }

    /** This table with {@code key} mapped to {@code value}; {@code this} if nothing changes. */
    LongTable with(long key, DecisionTable value) {
        if (value == null) {
            throw new IllegalArgumentException("a decision table is required; use without() to remove cgroup " + key);
        }
        int i = find(key);
        if (i >= 0) {
            if (values[i] == value) {
                return this;
            }
            DecisionTable[] v = values.clone();
            v[i] = value;
            return new LongTable(keys, v, size);
        }
        int capacity = keys.length;
        if ((size + 1) * 2 > capacity) {
            capacity *= 2;
        }
        LongTable out = rehash(capacity, Long.MIN_VALUE, false);
        out.insert(key, value);
        return new LongTable(out.keys, out.values, size + 1);
    }

    /** This table without {@code key}; {@code this} if absent. */
    LongTable without(long key) {
        if (find(key) < 0) {
            return this;
        }
        int capacity = keys.length;
        while (capacity > 2 && (size - 1) * 4 < capacity) {
            capacity /= 2;
        }
        LongTable out = rehash(capacity, key, true);
        return new LongTable(out.keys, out.values, size - 1);
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

    /** Puts into a table being built (not yet shared). */
    private void insert(long key, DecisionTable value) {
        int mask = keys.length - 1;
        int i = slot(key, mask);
        while (values[i] != null) {
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
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
