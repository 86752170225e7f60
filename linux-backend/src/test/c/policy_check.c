// SPDX-License-Identifier: Apache-2.0
/*
 * Reads the policy map mthp4j wrote and checks it field by field against ../../main/c/mthp4j_policy.h, so
 * Java and C agree on the ABI (run by PolicyAbiTest).
 *
 *   policy_check layout                     print the header's sizes and offsets
 *   policy_check verify <pin> <expect-file> check the map's info and every expected entry
 *
 * Expect-file lines:  entry <key> <layout_version> <flags> <generation> <expires_boot_ns> <allowed x15> <now> <applies>
 *                     absent <key>
 * Exit 0 when everything matches; otherwise every mismatch is printed and the exit status is 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mthp4j_policy.h"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int failures;

#define CHECK_EQ(what, key, got, want)                                                                       \
	do {                                                                                                 \
		if ((uint64_t)(got) != (uint64_t)(want)) {                                                   \
			printf("MISMATCH key %" PRIu64 " %s: map has %" PRIu64 ", expected %" PRIu64 "\n",  \
			       (uint64_t)(key), what, (uint64_t)(got), (uint64_t)(want));                    \
			failures++;                                                                          \
		}                                                                                            \
	} while (0)

static int layout(void)
{
	printf("sizeof %zu\n", sizeof(struct mthp4j_policy_value));
	printf("layout_version %zu\n", offsetof(struct mthp4j_policy_value, layout_version));
	printf("flags %zu\n", offsetof(struct mthp4j_policy_value, flags));
	printf("generation %zu\n", offsetof(struct mthp4j_policy_value, generation));
	printf("expires_boot_ns %zu\n", offsetof(struct mthp4j_policy_value, expires_boot_ns));
	printf("allowed %zu\n", offsetof(struct mthp4j_policy_value, allowed));
	printf("tva_types %d\n", MTHP4J_TVA_TYPES);
	printf("vma_types %d\n", MTHP4J_VMA_TYPES);
	printf("version %d\n", MTHP4J_POLICY_LAYOUT_VERSION);
	printf("name %s\n", MTHP4J_POLICY_MAP_NAME);
	printf("valid_flag %u\n", MTHP4J_POLICY_F_VALID);
	return 0;
}

static int verify(const char *pin, const char *expect_file)
{
	union bpf_attr attr;
	struct bpf_map_info info;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)pin;
	attr.file_flags = BPF_F_RDONLY;
	fd = (int)sys_bpf(BPF_OBJ_GET, &attr);
	if (fd < 0) {
		printf("ERROR BPF_OBJ_GET %s: %s\n", pin, strerror(errno));
		return 2;
	}
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0) {
		printf("ERROR BPF_OBJ_GET_INFO_BY_FD: %s\n", strerror(errno));
		return 2;
	}
	CHECK_EQ("map type", 0, info.type, BPF_MAP_TYPE_HASH);
	CHECK_EQ("key_size", 0, info.key_size, sizeof(__u64));
	CHECK_EQ("value_size", 0, info.value_size, sizeof(struct mthp4j_policy_value));
	if (strcmp(info.name, MTHP4J_POLICY_MAP_NAME) != 0) {
		printf("MISMATCH map name \"%s\", expected \"%s\"\n", info.name, MTHP4J_POLICY_MAP_NAME);
		failures++;
	}

	FILE *in = fopen(expect_file, "r");
	if (!in) {
		printf("ERROR open %s: %s\n", expect_file, strerror(errno));
		return 2;
	}
	char kind[16];
	int entries = 0;
	while (fscanf(in, "%15s", kind) == 1) {
		uint64_t key;
		struct mthp4j_policy_value got;

		if (fscanf(in, "%" SCNu64, &key) != 1)
			break;
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = fd;
		attr.key = (uint64_t)(uintptr_t)&key;
		attr.value = (uint64_t)(uintptr_t)&got;
		long r = sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr);
		if (strcmp(kind, "absent") == 0) {
			if (r == 0 || errno != ENOENT) {
				printf("MISMATCH key %" PRIu64 ": expected absent\n", key);
				failures++;
			}
			continue;
		}
		uint64_t version, flags, generation, expires, allowed[MTHP4J_TVA_TYPES][MTHP4J_VMA_TYPES], now, applies;
		if (fscanf(in, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &version, &flags, &generation, &expires) != 4)
			break;
		for (int t = 0; t < MTHP4J_TVA_TYPES; t++)
			for (int a = 0; a < MTHP4J_VMA_TYPES; a++)
				if (fscanf(in, "%" SCNu64, &allowed[t][a]) != 1)
					goto bad;
		if (fscanf(in, "%" SCNu64 " %" SCNu64, &now, &applies) != 2)
			goto bad;
		entries++;
		if (r != 0) {
			printf("MISMATCH key %" PRIu64 ": lookup failed: %s\n", key, strerror(errno));
			failures++;
			continue;
		}
		CHECK_EQ("layout_version", key, got.layout_version, version);
		CHECK_EQ("flags", key, got.flags, flags);
		CHECK_EQ("generation", key, got.generation, generation);
		CHECK_EQ("expires_boot_ns", key, got.expires_boot_ns, expires);
		for (int t = 0; t < MTHP4J_TVA_TYPES; t++)
			for (int a = 0; a < MTHP4J_VMA_TYPES; a++) {
				char what[32];
				snprintf(what, sizeof(what), "allowed[%d][%d]", t, a);
				CHECK_EQ(what, key, got.allowed[t][a], allowed[t][a]);
				/* the helper the BPF program uses: a subset of the request */
				CHECK_EQ("mthp4j_policy_allowed", key, mthp4j_policy_allowed(&got, t, a, 0x3ff),
					 allowed[t][a] & 0x3ff);
			}
		CHECK_EQ("mthp4j_policy_applies", key, mthp4j_policy_applies(&got, now) ? 1 : 0, applies);
	}
	fclose(in);
	close(fd);
	printf("checked %d entries, %d mismatches\n", entries, failures);
	return failures ? 1 : 0;
bad:
	printf("ERROR malformed expect file %s\n", expect_file);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "layout") == 0)
		return layout();
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return verify(argv[2], argv[3]);
	fprintf(stderr, "usage: %s layout | verify <pin> <expect-file>\n", argv[0]);
	return 2;
}
