package io.mthp4j.api;

import java.util.Arrays;

/**
 * A published THP decision for one cgroup: the orders allowed for each {@link TvaType} × {@link VmaType}
 * (the VMA's advice). This is what a controller computes by asking a policy, and what a sink publishes:
 * the fake kernel's hook reads it, and on Linux it is the value of the pinned BPF map.
 */
public final class DecisionTable {

    private static final int TYPES = TvaType.values().length;
    private static final int ADVICE = VmaType.values().length;

    private final long[] allowed;

    private DecisionTable(long[] allowed) {
        this.allowed = allowed;
    }

    /** Every cell allows {@code orders}. */
    public static DecisionTable uniform(long orders) {
        long[] cells = new long[TYPES * ADVICE];
        Arrays.fill(cells, orders);
        return new DecisionTable(cells);
    }

    /** The orders allowed for this request type and VMA advice. Allocation-free. */
    public long allowed(TvaType type, VmaType advice) {
        return allowed[type.ordinal() * ADVICE + advice.ordinal()];
    }

    /** The same table with one cell changed. */
    public DecisionTable with(TvaType type, VmaType advice, long orders) {
        long[] cells = allowed.clone();
        cells[type.ordinal() * ADVICE + advice.ordinal()] = orders;
        return new DecisionTable(cells);
    }

    /** The same table with every advice column of {@code type} set to {@code orders}. */
    public DecisionTable with(TvaType type, long orders) {
        long[] cells = allowed.clone();
        Arrays.fill(cells, type.ordinal() * ADVICE, (type.ordinal() + 1) * ADVICE, orders);
        return new DecisionTable(cells);
    }

    /** As a policy: the request intersected with the cell of its type and the VMA's advice. */
    public MthpPolicy asPolicy() {
        return (vma, tvaType, orders) -> orders & allowed(tvaType, vma.vmaType());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DecisionTable other && Arrays.equals(allowed, other.allowed);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(allowed);
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("DecisionTable[");
        for (TvaType type : TvaType.values()) {
            out.append(type).append('=');
            for (VmaType advice : VmaType.values()) {
                out.append(advice == VmaType.NONE ? "" : "/").append("0x").append(Long.toHexString(allowed(type, advice)));
            }
            out.append(type.ordinal() < TYPES - 1 ? ", " : "]");
        }
        return out.toString();
    }
}
