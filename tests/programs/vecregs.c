/*
 * vecregs.c - is a thread's vector register state kept across context
 * switches?  Many threads (more than CPUs) copy 16 KiB buffers with memcpy
 * and check every copy.  glibc's memcpy keeps the first 64 bytes of the
 * source in vector registers while `rep movsb` moves the rest, and stores
 * them last: if a context switch loses those registers, the first 64 bytes
 * of the destination hold another thread's data.
 *
 * This checks the platform, not libvirtuos: Xen under QEMU (TCG) with lazy
 * FPU switching failed it (see configs/xen/qemu.conf, spec-ctrl=eager-fpu),
 * and every forwarded read and write goes through such a memcpy.  The
 * system test runs it natively in dom0; as a program case it also runs
 * under libvirtuos (signal deferral must not disturb the registers either).
 *
 * usage: vecregs [DIR] [THREADS] [COPIES]   (DIR is not used)
 * Prints one line; exits 1 if any copy was wrong.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE        16384
#define MAX_THREADS 64

static int copies = 3000;
static long bad[MAX_THREADS];
static long first_bad_offset[MAX_THREADS];

static void *copier(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint8_t *src = aligned_alloc(4096, SIZE);
	uint8_t *dst = aligned_alloc(4096, SIZE + 4096);

	if (!src || !dst) {
		bad[t] = -1;
		goto out;
	}
	for (int i = 0; i < SIZE; i++)
		src[i] = (uint8_t)(i * 131 + t * 7 + 1);
	first_bad_offset[t] = -1;
	for (int i = 0; i < copies; i++) {
		/* Vary the destination's alignment: glibc picks its path by it. */
		size_t off = (size_t)i * 37 % 4096;

		memset(dst, 0, SIZE + 4096);
		memcpy(dst + off, src, SIZE);
		if (memcmp(dst + off, src, SIZE) != 0) {
			if (bad[t]++ == 0) {
				long k = 0;

				while (dst[off + (size_t)k] == src[k])
					k++;
				first_bad_offset[t] = k;
			}
		}
		if (i % 64 == 0)
			sched_yield();
	}
out:
	free(src);
	free(dst);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	int n = argc > 2 ? atoi(argv[2]) : 8;
	long total = 0;

	if (argc > 3)
		copies = atoi(argv[3]);
	if (n < 1 || n > MAX_THREADS || copies < 1) {
		fprintf(stderr, "usage: vecregs [DIR] [THREADS 1..%d] [COPIES >= 1]\n", MAX_THREADS);
		return 2;
	}
	for (int t = 0; t < n; t++)
		if (pthread_create(&th[t], NULL, copier, (void *)(intptr_t)t) != 0) {
			perror("vecregs: pthread_create");
			return 2;
		}
	for (int t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < n; t++) {
		if (bad[t] < 0) {
			fprintf(stderr, "vecregs: out of memory\n");
			return 2;
		}
		if (bad[t])
			printf("thread %d: %ld of %d copies wrong, first wrong byte at %ld\n",
			       t, bad[t], copies, first_bad_offset[t]);
		total += bad[t];
	}
	printf("vecregs: %s\n", total ? "memcpy results WRONG (vector registers lost)" : "all copies intact");
	return total ? 1 : 0;
}
