package io.mthp4j.core.policy;

import io.mthp4j.api.DecisionTable;
import io.mthp4j.api.MthpPolicy;
import io.mthp4j.api.VmaInfo;

/**
 * A policy that decides per cgroup, the shape of mthp_ext (kernel-semantics.md §15.5) and of a BPF-THP program
 * keyed by cgroup (§14.7). It is used two ways:
 * <ul>
 *   <li>the controller ({@code io.mthp4j.core.controller.PolicyController}) calls {@link #decide} for every
 *       cgroup on every scan and publishes the {@link DecisionTable} it returns;</li>
 *   <li>the policy is itself an {@link MthpPolicy}: {@link #chooseOrders} answers from the latest decisions,
 *       allocation-free and from any thread.</li>
 * </ul>
 * {@link #decide} and {@link #forget} are called by one thread at a time (the controller's scan); reads may run
 * concurrently with them. A {@code null} decision, like a request returned unchanged, means "no opinion".
 */
public interface CgroupPolicy extends MthpPolicy {

    /**
     * Decides for one cgroup from what a scan read. Parents are decided before their children in a scan.
     *
     * @return the orders this cgroup may use per request type and VMA advice, or {@code null} for no opinion
     */
    DecisionTable decide(CgroupSample sample);

    /** Forgets a cgroup that was removed (or evicted from the controller's bounded state). */
    default void forget(long cgroupId) {
    }

    /**
     * Whether this policy has an opinion on the VMA ({@link Policies#firstMatch} asks the rules in turn).
     * Allocation-free. A policy without an opinion returns every request unchanged.
     */
    default boolean matches(VmaInfo vma) {
        return true;
    }

    /** Whether {@link #decide} reads the stall and memory numbers; if not, the controller does not read them. */
    default boolean needsSamples() {
        return true;
    }

    /** No headroom shares: the policy does not read usage against limits. */
    double[] NO_SHARES = {};

    /**
     * The shares of a cgroup's hard limit this policy acts on (ascending, each in (0, 1]), or none. When there
     * are some, the controller reads every cgroup's {@link CgroupSample#headroom()} and watches its root for
     * usage crossing them, so a crossing causes a scan at once. Callers must not modify the array.
     */
    default double[] headroomShares() {
        return NO_SHARES;
    }
}
