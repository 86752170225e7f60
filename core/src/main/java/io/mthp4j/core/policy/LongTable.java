package io.mthp4j.core.policy;

import io.mthp4j.api.DecisionTable;
import java.util.Arrays;

/**
 * An immutable map from cgroup id to decision, as two sorted arrays: lookups are a binary search that allocates
 * nothing (a {@code Map<Long, ...>} would box the key on every fault). Writers replace the whole snapshot; they
 * are rare (one per decision change), readers are every fault.
 */
final class LongTable {

    static final LongTable EMPTY = new LongTable(new long[0], new DecisionTable[0]);

    private final long[] keys;
    private final DecisionTable[] values;

    private LongTable(long[] keys, DecisionTable[] values) {
        this.keys = keys;
        this.values = values;
    }

    /** The decision for {@code key}, or {@code null}. Allocation-free. */
    DecisionTable get(long key) {
        int i = Arrays.binarySearch(keys, key);
        return i >= 0 ? values[i] : null;
    }

    int size() {
        return keys.length;
    }

    /** This table with {@code key} mapped to {@code value}; {@code this} if nothing changes. */
    LongTable with(long key, DecisionTable value) {
        int i = Arrays.binarySearch(keys, key);
        if (i >= 0) {
            if (values[i] == value) {
                return this;
            }
            DecisionTable[] v = values.clone();
            v[i] = value;
            return new LongTable(keys, v);
        }
        int at = -i - 1;
        long[] k = new long[keys.length + 1];
        DecisionTable[] v = new DecisionTable[keys.length + 1];
        System.arraycopy(keys, 0, k, 0, at);
        System.arraycopy(values, 0, v, 0, at);
        k[at] = key;
        v[at] = value;
        System.arraycopy(keys, at, k, at + 1, keys.length - at);
        System.arraycopy(values, at, v, at + 1, keys.length - at);
        return new LongTable(k, v);
    }

    /** This table without {@code key}; {@code this} if absent. */
    LongTable without(long key) {
        int i = Arrays.binarySearch(keys, key);
        if (i < 0) {
            return this;
        }
        long[] k = new long[keys.length - 1];
        DecisionTable[] v = new DecisionTable[keys.length - 1];
        System.arraycopy(keys, 0, k, 0, i);
        System.arraycopy(values, 0, v, 0, i);
        System.arraycopy(keys, i + 1, k, i, keys.length - i - 1);
        System.arraycopy(values, i + 1, v, i, keys.length - i - 1);
        return new LongTable(k, v);
    }
}
