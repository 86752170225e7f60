/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C baseline of the map benchmarks (docs/benchmarks.md): the same bpf(2) calls as mthp4j's PolicyMap and
 * BpfMap make from Java, in a plain loop. It creates its own hash map with the policy map's shape (u64 key,
 * 144-byte value, the same max_entries), fills keys 1..N, then times, with CLOCK_MONOTONIC:
 *
 *   update MAX N ITERS RUNS   ITERS single BPF_MAP_UPDATE_ELEM (BPF_ANY) overwriting keys 1..N in turn;
 *                         prints the median over RUNS of ns per update
 *   batch  MAX N ITERS RUNS   ITERS BPF_MAP_UPDATE_BATCH calls of all N keys; prints the median over RUNS of ns
 *                         per batch call
 *
 * The last argument picks the clock: wall (CLOCK_MONOTONIC, the default) or cpu (CLOCK_THREAD_CPUTIME_ID: this
 * thread's user and system time, which on a shared machine leaves out the time other processes held the CPU).
 *
 * The attr size passed is the command's own (32 bytes for element commands, 56 for batches), as the Java side
 * passes (linux-interfaces.md §2.1, §2.2). Output: one line "ns=<value>". Needs CAP_BPF (root here).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define VALUE_SIZE 144
#define ELEM_ATTR_SIZE 32
#define BATCH_ATTR_SIZE 56

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	return syscall(__NR_bpf, cmd, attr, size);
}

static clockid_t clock_id = CLOCK_MONOTONIC;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void die(const char *what)
{
	fprintf(stderr, "bpf_map_loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One BPF_MAP_UPDATE_ELEM (BPF_ANY) with the element command's attr size, as PolicyMap.put makes it. */
static void update_elem(union bpf_attr *attr, int fd, const uint64_t *key, const unsigned char *value)
{
	memset(attr, 0, ELEM_ATTR_SIZE);
	attr->map_fd = fd;
	attr->key = (uint64_t)(uintptr_t)key;
	attr->value = (uint64_t)(uintptr_t)value;
	if (sys_bpf(BPF_MAP_UPDATE_ELEM, attr, ELEM_ATTR_SIZE) < 0)
		die("BPF_MAP_UPDATE_ELEM");
}

int main(int argc, char **argv)
{
	if (argc < 6 || argc > 7 || (strcmp(argv[1], "update") && strcmp(argv[1], "batch"))
	    || (argc == 7 && strcmp(argv[6], "cpu") && strcmp(argv[6], "wall"))) {
		fprintf(stderr, "usage: %s update|batch MAX_ENTRIES N ITERS RUNS [wall|cpu]\n", argv[0]);
		return 2;
	}
	int batch = !strcmp(argv[1], "batch");
	if (argc == 7 && !strcmp(argv[6], "cpu"))
		clock_id = CLOCK_THREAD_CPUTIME_ID;
	unsigned max_entries = (unsigned)atoi(argv[2]);
	unsigned n = (unsigned)atoi(argv[3]);
	long iters = atol(argv[4]);
	int runs = atoi(argv[5]);
	if (n == 0 || n > max_entries || iters <= 0 || runs <= 0) {
		fprintf(stderr, "bpf_map_loop: need 0 < N <= MAX_ENTRIES, ITERS > 0, RUNS > 0\n");
		return 2;
	}

	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_HASH;
	attr.key_size = 8;
	attr.value_size = VALUE_SIZE;
	attr.max_entries = max_entries;
	strcpy(attr.map_name, "mthp4j_bench");
	int fd = (int)sys_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		die("BPF_MAP_CREATE");

	uint64_t *keys = calloc(n, 8);
	unsigned char *values = calloc(n, VALUE_SIZE);
	double *results = calloc((size_t)runs, sizeof(double));
	if (!keys || !values || !results)
		die("calloc");
	for (unsigned i = 0; i < n; i++) {
		keys[i] = i + 1;
		memset(values + (size_t)i * VALUE_SIZE, 0xff, VALUE_SIZE);
		*(uint32_t *)(values + (size_t)i * VALUE_SIZE) = 1; /* layout_version */
	}
	for (unsigned i = 0; i < n; i++) /* fill: every timed update overwrites */
		update_elem(&attr, fd, &keys[i], values + (size_t)i * VALUE_SIZE);

	for (int r = 0; r < runs + 1; r++) { /* run 0 is a warm-up */
		uint64_t t0 = now_ns();
		if (batch) {
			for (long it = 0; it < iters; it++) {
				memset(&attr, 0, BATCH_ATTR_SIZE);
				attr.batch.keys = (uint64_t)(uintptr_t)keys;
				attr.batch.values = (uint64_t)(uintptr_t)values;
				attr.batch.count = n;
				attr.batch.map_fd = fd;
				if (sys_bpf(BPF_MAP_UPDATE_BATCH, &attr, BATCH_ATTR_SIZE) < 0 || attr.batch.count != n)
					die("BPF_MAP_UPDATE_BATCH");
			}
		} else {
			unsigned i = 0;
			for (long it = 0; it < iters; it++) {
				update_elem(&attr, fd, &keys[i], values + (size_t)i * VALUE_SIZE);
				if (++i == n)
					i = 0;
			}
		}
		if (r > 0)
			results[r - 1] = (double)(now_ns() - t0) / (double)iters;
	}
	qsort(results, (size_t)runs, sizeof(double), cmp_double);
	printf("ns=%.1f\n", results[runs / 2]);
	close(fd);
	return 0;
}
