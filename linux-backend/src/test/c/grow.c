// SPDX-License-Identifier: Apache-2.0
/*
 * grow: a test workload for the headroom watch (HeadroomRealKernelTest). Waits for a line on stdin, then
 * touches <mib> MiB of anonymous memory, 1 MiB every <ms> milliseconds, prints "done" and sleeps until it
 * is killed. Usage: grow <mib> <ms>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: grow <mib> <ms>\n");
		return 2;
	}
	long mib = atol(argv[1]);
	long ms = atol(argv[2]);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 3;
	char *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 4;
	}
	struct timespec step = { ms / 1000, (ms % 1000) * 1000000L };
	for (long i = 0; i < mib; i++) {
		memset(p + (i << 20), 1, 1 << 20);
		nanosleep(&step, NULL);
	}
	printf("done\n");
	fflush(stdout);
	for (;;)
		pause();
}
