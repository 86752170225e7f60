package io.mthp4j.core.gate;

import io.mthp4j.api.CgroupRef;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.Orders;
import io.mthp4j.api.TvaType;
import io.mthp4j.api.VmaInfo;
import java.util.Objects;

/** Adapters from the two upstream hook shapes to {@link MthpPolicy}. */
public final class Hooks {

    private Hooks() {
    }

    /**
     * BPF-THP v7's wrapper (§14.3) with one fix: a negative answer leaves the request unchanged, an answer
     * above the highest requested order is ignored, and any other answer {@code o} allows
     * {@code orders & BIT(o)} (the intersection v8/v9 adopted), so 0 or an order not asked about means
     * base pages only. Use this for policies written against v7.
     */
    public static MthpPolicy thpGetOrder(ThpGetOrder hook) {
        Objects.requireNonNull(hook, "hook");
        return new MthpPolicy() {
            @Override
            public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
                int order = hook.thpGetOrder(vma, vma.vmaType(), tvaType, orders);
                if (order < 0 || order > Orders.highest(orders)) {
                    return orders;
                }
                return orders & (1L << order);
            }

            @Override
            public String toString() {
                return "thp_get_order(" + hook + ")";
            }
        };
    }

    /**
     * BPF-THP v7's wrapper exactly as posted (§14.3, §14.4), for fidelity tests: an answer {@code o} not
     * above the highest requested order yields {@code BIT(o)} <em>without</em> intersecting it with the
     * request. So a PMD query answered with 4 yields {@code BIT(4)}, which the kernel's non-zero test then
     * takes as "PMD allowed" when sysfs allows order 4. The order gate recognises this adapter and accepts
     * its out-of-request bit, still never above the highest requested order.
     */
    public static MthpPolicy thpGetOrderStrict(ThpGetOrder hook) {
        return new V7Strict(Objects.requireNonNull(hook, "hook"));
    }

    /**
     * mthp_ext v2's dispatch (§15.2): asks the hook with the VMA's memory cgroup; a VMA without one
     * ({@link CgroupRef#id()} 0) keeps its orders, as a task without a memcg does.
     */
    public static MthpPolicy mthpChoose(MthpChoose hook) {
        Objects.requireNonNull(hook, "hook");
        return new MthpPolicy() {
            @Override
            public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
                CgroupRef cgroup = vma.cgroup();
                return cgroup.id() == 0 ? orders : hook.mthpChoose(cgroup, orders);
            }

            @Override
            public String toString() {
                return "mthp_choose(" + hook + ")";
            }
        };
    }

    /** The verbatim v7 wrapper; {@link OrderGate} widens its output check for it. */
    static final class V7Strict implements MthpPolicy {
        private final ThpGetOrder hook;

        V7Strict(ThpGetOrder hook) {
            this.hook = hook;
        }

        @Override
        public long chooseOrders(VmaInfo vma, TvaType tvaType, long orders) {
            int order = hook.thpGetOrder(vma, vma.vmaType(), tvaType, orders);
            if (order < 0 || order > Orders.highest(orders)) {
                return orders;
            }
            return 1L << order;
        }

        @Override
        public String toString() {
            return "thp_get_order(" + hook + ", v7 strict)";
        }
    }
}
