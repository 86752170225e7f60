// SPDX-License-Identifier: Apache-2.0
/*
 * Produces memory pressure for PsiEventTest (linux-interfaces.md §5.3): drops a file from the page cache, then
 * reads random 4 KiB blocks of it for a number of seconds. Run inside a memcg smaller than the file, the
 * re-reads stall on reclaim and refault.
 *
 *   thrash <file> <seconds>
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s <file> <seconds>\n", argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	long blocks = size / 4096;
	char buf[4096];
	unsigned int seed = 1;
	time_t end = time(NULL) + atoi(argv[2]);
	long reads = 0;
	while (time(NULL) < end) {
		for (int i = 0; i < 256; i++, reads++)
			if (pread(fd, buf, sizeof(buf), (off_t)(rand_r(&seed) % blocks) * 4096) < 0) {
				perror("pread");
				return 1;
			}
	}
	printf("%ld reads\n", reads);
	return 0;
}
