package io.mthp4j.core.policy;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaType;

/** Cell-wise operations on decision tables (scan path only: they allocate). */
final class Tables {

    private static final TvaType[] TYPES = TvaType.values();
    private static final VmaType[] ADVICE = VmaType.values();

    private Tables() {
    }

    /** Cell-wise intersection; {@code null} (no opinion) is the identity. */
    static DecisionTable and(DecisionTable a, DecisionTable b) {
        if (a == null) {
            return b;
        }
        if (b == null || a.equals(b)) {
            return a;
        }
        DecisionTable out = a;
        for (TvaType type : TYPES) {
            for (VmaType advice : ADVICE) {
                long cell = a.allowed(type, advice) & b.allowed(type, advice);
                if (cell != out.allowed(type, advice)) {
                    out = out.with(type, advice, cell);
                }
            }
        }
        return out;
    }
}
