package io.mthp4j.core.gate;

import io.mthp4j.api.CgroupRef;

/**
 * The hook shape of mthp_ext v2: {@code unsigned long mthp_choose(struct cgroup *, unsigned long orders)}
 * (kernel-semantics.md §15.2), keyed by the memory cgroup of the VMA's mm. Adapt it with
 * {@link Hooks#mthpChoose}.
 */
@FunctionalInterface
public interface MthpChoose {

    long mthpChoose(CgroupRef cgroup, long orders);
}
