package io.mthp4j.core.policy;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.Orders;
import io.mthp4j.api.PageGeometry;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import java.util.Arrays;
import java.util.Objects;

/**
 * Combinators over {@link CgroupPolicy}: intersect, first match, a size cap and the fit-to-VMA rule. Each
 * result is again a {@link CgroupPolicy}: {@link CgroupPolicy#decide} combines the parts' tables, and
 * {@link CgroupPolicy#chooseOrders} combines their answers per call without allocating. Every part's
 * {@code decide} is called on every scan (stateful parts such as {@link PressurePolicy} keep their baselines).
 */
public final class Policies {

    private Policies() {
    }

    /**
     * Every part must allow an order: the cell-wise (and per-call) intersection. Parts without an opinion are
     * ignored; with none, no opinion.
     */
    public static CgroupPolicy intersect(CgroupPolicy... parts) {
        CgroupPolicy[] ps = copy(parts);
        return new Combined(ps, "intersect" + Arrays.toString(ps)) {
            @Override
            public DecisionTable decide(CgroupSample sample) {
                DecisionTable out = null;
                for (CgroupPolicy p : ps) {
                    out = Tables.and(out, p.decide(sample));
                }
                return out;
            }

            @Override
            public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
                long out = orders;
                for (CgroupPolicy p : ps) {
                    out &= p.chooseOrders(vma, tvaType, orders);
                }
                return out;
            }
        };
    }

    /**
     * The first part with an opinion decides ({@link CgroupPolicy#matches} per call, a non-null table per
     * cgroup); with none, no opinion.
     */
    public static CgroupPolicy firstMatch(CgroupPolicy... parts) {
        CgroupPolicy[] ps = copy(parts);
        return new Combined(ps, "firstMatch" + Arrays.toString(ps)) {
            @Override
            public DecisionTable decide(CgroupSample sample) {
                DecisionTable first = null;
                for (CgroupPolicy p : ps) {
                    DecisionTable t = p.decide(sample); // every part, so stateful parts keep their baselines
                    if (first == null) {
                        first = t;
                    }
                }
                return first;
            }

            @Override
            public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
                for (CgroupPolicy p : ps) {
                    if (p.matches(vma)) {
                        return p.chooseOrders(vma, tvaType, orders);
                    }
                }
                return orders;
            }
        };
    }

    /** Folios up to {@code maxFolioBytes} (for example 64K: orders 0..4 with 4 KiB pages), for every cgroup. */
    public static CgroupPolicy maxSize(long maxFolioBytes, PageGeometry geometry) {
        int max = Orders.order(maxFolioBytes, geometry.pageSize()); // throws for a size that is not a folio size
        long mask = Orders.upTo(max);
        DecisionTable table = DecisionTable.uniform(mask);
        String name = "maxSize(" + Orders.formatSize(maxFolioBytes) + ")";
        return new CgroupPolicy() {
            @Override
            public DecisionTable decide(CgroupSample sample) {
                return table;
            }

            @Override
            public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
                return orders & mask;
            }

            @Override
            public boolean needsSamples() {
                return false;
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    /** {@code policy}, never above {@code maxFolioBytes}: {@code intersect(policy, maxSize(...))}. */
    public static CgroupPolicy cap(CgroupPolicy policy, long maxFolioBytes, PageGeometry geometry) {
        return intersect(policy, maxSize(maxFolioBytes, geometry));
    }

    /**
     * {@code policy}, but never a folio larger than {@code numerator/denominator} of the VMA: against the JVM
     * thread-stack bloat (linux-interfaces.md §9.3), where a 1 MiB stack VMA (or merged stacks) ends up in 2 MiB
     * folios. The rule depends on the VMA, which a per-cgroup table cannot carry: {@link CgroupPolicy#decide}
     * returns the inner policy's table, and the rule applies wherever the policy is asked per call.
     */
    public static CgroupPolicy fitToVma(CgroupPolicy policy, int numerator, int denominator, PageGeometry geometry) {
        Objects.requireNonNull(policy, "policy");
        if (numerator < 1 || denominator < numerator) {
            throw new IllegalArgumentException("the fraction of the VMA must be in (0, 1], was " + numerator + "/" + denominator);
        }
        int pageShift = geometry.pageShift();
        String name = "fitToVma(" + policy + ", " + numerator + "/" + denominator + ")";
        return new CgroupPolicy() {
            @Override
            public DecisionTable decide(CgroupSample sample) {
                return policy.decide(sample);
            }

            @Override
            public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
                long len = vma.length();
                long maxBytes = len / denominator * numerator + len % denominator * numerator / denominator; // floor, no overflow
                int maxOrder = Orders.highest(maxBytes >>> pageShift); // -1 below one page
                return policy.chooseOrders(vma, tvaType, orders) & Orders.upTo(maxOrder);
            }

            @Override
            public void forget(long cgroupId) {
                policy.forget(cgroupId);
            }

            @Override
            public boolean needsSamples() {
                return policy.needsSamples();
            }

            @Override
            public double[] headroomShares() {
                return policy.headroomShares();
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    private static CgroupPolicy[] copy(CgroupPolicy[] parts) {
        Objects.requireNonNull(parts, "parts");
        if (parts.length == 0) {
            throw new IllegalArgumentException("a combination needs at least one policy");
        }
        CgroupPolicy[] ps = parts.clone();
        for (int i = 0; i < ps.length; i++) {
            Objects.requireNonNull(ps[i], "policy " + i);
        }
        return ps;
    }

    /** What intersect and firstMatch share: forget, matches, needsSamples and headroom shares over the parts. */
    private abstract static class Combined implements CgroupPolicy {
        private final CgroupPolicy[] parts;
        private final String name;
        private final boolean needsSamples;
        private final double[] headroomShares;

        Combined(CgroupPolicy[] parts, String name) {
            this.parts = parts;
            this.name = name;
            boolean needs = false;
            for (CgroupPolicy p : parts) {
                needs |= p.needsSamples();
            }
            this.needsSamples = needs;
            this.headroomShares = java.util.Arrays.stream(parts).flatMapToDouble(p -> java.util.Arrays.stream(p.headroomShares()))
                    .distinct().sorted().toArray();
        }

        @Override
        public double[] headroomShares() {
            return headroomShares;
        }

        @Override
        public void forget(long cgroupId) {
            for (CgroupPolicy p : parts) {
                p.forget(cgroupId);
            }
        }

        @Override
        public boolean matches(VmaInfo vma) {
            for (CgroupPolicy p : parts) {
                if (p.matches(vma)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public boolean needsSamples() {
            return needsSamples;
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
