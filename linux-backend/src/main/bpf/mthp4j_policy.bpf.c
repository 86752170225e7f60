// SPDX-License-Identifier: GPL-2.0
/*
 * mthp4j reference BPF-THP program: applies the decisions mthp4j publishes in its policy map
 * (../c/mthp4j_policy.h, layout version 1) through either proposed hook shape:
 *
 *   BPF-THP v7   struct bpf_thp_ops  { int thp_get_order(vma, vma_type, tva_type, orders); }   (kernel-semantics.md §14)
 *   mthp_ext v2  struct bpf_mthp_ops { unsigned long mthp_choose(cgroup, orders); }          (kernel-semantics.md §15)
 *
 * Lookup: the cgroup (v7: the cgroup v2 cgroup of the VMA's mm owner; mthp_ext: the memcg's cgroup the
 * kernel passes), then its ancestors up to the root: the nearest cgroup with an entry decides; if none has
 * one, the host-wide entry (key 0). An entry that is expired, not valid or of another layout has no opinion:
 * the request passes unchanged. The answer is always a subset of the request, so it never exceeds the highest
 * requested order.
 *
 * Neither series is in mainline (no kernel on our machines has the hook), so the struct_ops types are
 * declared below when vmlinux.h lacks them; CI proves the program compiles. A loader reuses the map pinned by
 * mthp4j (bpf_map__reuse_fd on /sys/fs/bpf/mthp4j/policy) and attaches whichever struct_ops the kernel has.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mthp4j_policy.h"

char LICENSE[] SEC("license") = "GPL";

#ifndef MTHP4J_HAVE_BPF_THP_OPS
/* BPF-THP v7 (patch 02), absent from this kernel's BTF */
enum bpf_thp_vma_type {
	BPF_THP_VM_NONE = 0,
	BPF_THP_VM_HUGEPAGE = 1,
	BPF_THP_VM_NOHUGEPAGE = 2,
};

struct bpf_thp_ops {
	int (*thp_get_order)(struct vm_area_struct *vma, enum bpf_thp_vma_type vma_type, enum tva_type tva_type,
			     unsigned long orders);
};
#endif

#ifndef MTHP4J_HAVE_BPF_MTHP_OPS
/* mthp_ext v2, absent from this kernel's BTF */
struct bpf_mthp_ops {
	unsigned long (*mthp_choose)(struct cgroup *cgrp, unsigned long orders);
};
#endif

/*
 * mthp_choose carries neither the request type nor the VMA's advice; the cell it uses is a parameter
 * (default: a page fault in a VMA without advice, the request mthp_ext's own policy answers).
 */
#ifndef MTHP4J_MTHP_CHOOSE_TVA
#define MTHP4J_MTHP_CHOOSE_TVA 1 /* TVA_PAGEFAULT */
#endif
#ifndef MTHP4J_MTHP_CHOOSE_VMA
#define MTHP4J_MTHP_CHOOSE_VMA 0 /* BPF_THP_VM_NONE */
#endif

/* How many cgroup levels the walk climbs (cgroup v2 nesting is far shallower in practice). */
#define MTHP4J_MAX_DEPTH 32

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct mthp4j_policy_value);
} mthp4j_pol_v1 SEC(".maps");

/*
 * The entry that decides for cgrp: its own, else the nearest ancestor's, else the host-wide one; NULL when no
 * entry exists. Whether that entry still applies (expiry, flags, layout) is checked by the caller, so an
 * expired nearest entry means "no opinion" rather than falling through to an ancestor.
 */
static __always_inline struct mthp4j_policy_value *mthp4j_find(struct cgroup *cgrp)
{
	struct mthp4j_policy_value *v;
	__u64 key;
	int level, i;

	if (cgrp) {
		level = BPF_CORE_READ(cgrp, level);
		for (i = 0; i < MTHP4J_MAX_DEPTH; i++) {
			struct cgroup *anc = NULL;

			if (level - i < 0)
				break;
			bpf_core_read(&anc, sizeof(anc), &cgrp->ancestors[level - i]);
			if (!anc)
				break;
			key = BPF_CORE_READ(anc, kn, id);
			v = bpf_map_lookup_elem(&mthp4j_pol_v1, &key);
			if (v)
				return v;
		}
	}
	key = MTHP4J_HOST_DEFAULT_KEY;
	return bpf_map_lookup_elem(&mthp4j_pol_v1, &key);
}

static __always_inline int mthp4j_highest_order(__u64 mask)
{
	int i, highest = -1;

	for (i = 0; i < 64; i++)
		if (mask & (1ULL << i))
			highest = i;
	return highest;
}

/*
 * BPF-THP v7: return one order; -1 = leave the request unchanged. The kernel turns an answer o into BIT(o)
 * (§14.3), so the answer is the highest allowed requested order, and 0 (BIT(0), which every THP mask drops)
 * when none is allowed. v7 then tries only that one order before 4 KiB (§14.4).
 */
SEC("struct_ops/thp_get_order")
int BPF_PROG(mthp4j_thp_get_order, struct vm_area_struct *vma, enum bpf_thp_vma_type vma_type,
	     enum tva_type tva_type, unsigned long orders)
{
	struct mthp4j_policy_value *v;
	struct task_struct *owner;
	struct cgroup *cgrp = NULL;
	struct mm_struct *mm;
	__u64 allowed;

	mm = BPF_CORE_READ(vma, vm_mm);
	if (mm) {
		owner = BPF_CORE_READ(mm, owner);
		if (owner)
			cgrp = BPF_CORE_READ(owner, cgroups, dfl_cgrp);
	}
	v = mthp4j_find(cgrp);
	if (!v || !mthp4j_policy_applies(v, bpf_ktime_get_boot_ns()))
		return -1;
	allowed = mthp4j_policy_allowed(v, (unsigned int)tva_type, (unsigned int)vma_type, orders);
	if (!allowed)
		return 0;
	return mthp4j_highest_order(allowed);
}

/* mthp_ext v2: return the allowed subset of the request; the request itself when there is no opinion. */
SEC("struct_ops/mthp_choose")
unsigned long BPF_PROG(mthp4j_mthp_choose, struct cgroup *cgrp, unsigned long orders)
{
	struct mthp4j_policy_value *v = mthp4j_find(cgrp);

	if (!v || !mthp4j_policy_applies(v, bpf_ktime_get_boot_ns()))
		return orders;
	return mthp4j_policy_allowed(v, MTHP4J_MTHP_CHOOSE_TVA, MTHP4J_MTHP_CHOOSE_VMA, orders);
}

SEC(".struct_ops.link")
struct bpf_thp_ops mthp4j_thp_ops = {
	.thp_get_order = (void *)mthp4j_thp_get_order,
};

SEC(".struct_ops.link")
struct bpf_mthp_ops mthp4j_mthp_ops = {
	.mthp_choose = (void *)mthp4j_mthp_choose,
};
