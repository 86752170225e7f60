/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mthp4j policy map ABI, layout version 1.
 *
 * The map a BPF-THP program reads and mthp4j writes (io.mthp4j.linux.PolicyMap):
 *   type        BPF_MAP_TYPE_HASH
 *   name        "mthp4j_pol_v1"  (MTHP4J_POLICY_MAP_NAME; the version is in the name)
 *   key         __u64 cgroup id of the cgroup v2 hierarchy (the directory's inode number);
 *               0 = the host-wide default (MTHP4J_HOST_DEFAULT_KEY)
 *   value       struct mthp4j_policy_value, 144 bytes, native (little-endian) byte order
 *
 * An entry has an opinion only while (flags & MTHP4J_POLICY_F_VALID), layout_version matches and
 * bpf_ktime_get_boot_ns() < expires_boot_ns; otherwise it is "no opinion" and the request passes unchanged.
 * allowed[tva_type][vma_type] is a mask of orders (bit n = order n) that the cgroup allows for that request
 * type and VMA advice; the kernel's request is intersected with it, so the answer never exceeds the highest
 * requested order. Indices follow the kernel's enums: tva_type SMAPS=0, PAGEFAULT=1, KHUGEPAGED=2,
 * FORCED_COLLAPSE=3, SWAP_PAGEFAULT=4 (BPF-THP); bpf_thp_vma_type NONE=0, HUGEPAGE=1, NOHUGEPAGE=2.
 *
 * Changing anything below is a new layout version (and a new map name).
 */
#ifndef MTHP4J_POLICY_H
#define MTHP4J_POLICY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MTHP4J_POLICY_LAYOUT_VERSION 1
#define MTHP4J_POLICY_MAP_NAME "mthp4j_pol_v1"
#define MTHP4J_HOST_DEFAULT_KEY 0ULL
#define MTHP4J_TVA_TYPES 5
#define MTHP4J_VMA_TYPES 3

/* flags */
#define MTHP4J_POLICY_F_VALID (1U << 0) /* written by mthp4j; a zeroed value has no opinion */

struct mthp4j_policy_value {
	__u32 layout_version;                               /*  0: MTHP4J_POLICY_LAYOUT_VERSION */
	__u32 flags;                                        /*  4: MTHP4J_POLICY_F_* */
	__u64 generation;                                   /*  8: increases with each publication */
	__u64 expires_boot_ns;                              /* 16: CLOCK_BOOTTIME ns; no opinion from then on */
	__u64 allowed[MTHP4J_TVA_TYPES][MTHP4J_VMA_TYPES];  /* 24: order masks */
};                                                      /* 144 bytes */

#define MTHP4J_POLICY_VALUE_SIZE 144

_Static_assert(sizeof(struct mthp4j_policy_value) == MTHP4J_POLICY_VALUE_SIZE, "mthp4j policy value layout");

/* Whether an entry has an opinion at boot-time now_ns. */
static inline int mthp4j_policy_applies(const struct mthp4j_policy_value *v, __u64 now_ns)
{
	return v && v->layout_version == MTHP4J_POLICY_LAYOUT_VERSION && (v->flags & MTHP4J_POLICY_F_VALID) &&
	       now_ns < v->expires_boot_ns;
}

/* The requested orders an applying entry allows: a subset of orders, so never above the highest requested. */
static inline __u64 mthp4j_policy_allowed(const struct mthp4j_policy_value *v, unsigned int tva_type,
					  unsigned int vma_type, __u64 orders)
{
	if (tva_type >= MTHP4J_TVA_TYPES || vma_type >= MTHP4J_VMA_TYPES)
		return orders; /* a request type this layout does not know: no opinion */
	return orders & v->allowed[tva_type][vma_type];
}

#endif /* MTHP4J_POLICY_H */
