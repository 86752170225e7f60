package io.mthp4j.core.gate;

/**
 * Where in {@code thp_vma_allowable_orders} the policy hook sits (kernel-semantics.md §14.3, §15.2).
 * For intersection-only policies such as mthp_ext the result is the same either way (sysfs ∩ policy).
 */
public enum HookPlacement {
    /**
     * BPF-THP v7: the first thing in {@code thp_vma_allowable_orders}, before the anon sysfs mask. The policy
     * sees the raw request (for mTHP faults orders 0..PMD-1, unfiltered) and is called even for
     * prctl-disabled tasks, whose answer the later checks discard.
     */
    BEFORE_SYSFS_MASK,
    /**
     * mthp_ext: after the anon sysfs mask, before the rest of the rules ([unknown] upstream: the series'
     * six-line hook is not public; this is its most likely place). The policy sees only sizes sysfs allows.
     */
    AFTER_SYSFS_MASK
}
