/*
 * poll_threads.c - several threads poll at once, each on a FIFO in DIR
 * (remote under libvirtuos) and a local pipe of its own, with no timeout:
 * only one of them can be the channel's poller at a time, the others must
 * be woken when their own answer comes.  The main thread wakes them one
 * by one, in a fixed order, alternately through the FIFO and through the
 * pipe, and waits for each to report before it wakes the next; then all of
 * them poll a FIFO nobody writes with a timeout (0 each).  Bounded: a
 * thread that is never woken shows as "timeout" (child.h).
 *
 * usage: poll_threads DIR
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "report.h"
#include "child.h"

#define N 4

struct worker {
	int id, fifo_r, fifo_w, pipe_r, pipe_w, done_w;
	int rounds;
};

static void *poller(void *arg)
{
	struct worker *w = arg;

	for (int round = 0; round < w->rounds; round++) {
		struct pollfd p[2] = { { w->fifo_r, POLLIN, 0 }, { w->pipe_r, POLLIN, 0 } };
		char c, msg[2];
		int n = poll(p, 2, -1);

		msg[0] = (char)('0' + (n < 0 ? 9 : n));
		msg[1] = p[0].revents == POLLIN ? 'f' : p[1].revents == POLLIN ? 'p' : '?';
		if (p[0].revents & POLLIN)
			n = (int)read(w->fifo_r, &c, 1);
		if (p[1].revents & POLLIN)
			n = (int)read(w->pipe_r, &c, 1);
		if (write(w->done_w, msg, 2) != 2)
			break;
	}
	return NULL;
}

/* Each thread waits on a FIFO nobody writes and its pipe, 30 ms. */
static void *idler(void *arg)
{
	struct worker *w = arg;
	struct pollfd p[2] = { { w->fifo_r, POLLIN, 0 }, { w->pipe_r, POLLIN, 0 } };

	return (void *)(long)poll(p, 2, 30);
}

static void run(void *arg)
{
	struct worker w[N];
	pthread_t t[N];
	int done[N][2];
	char name[32];

	(void)arg;
	for (int i = 0; i < N; i++) {
		int pp[2];

		snprintf(name, sizeof name, "fifo%d", i);
		unlink(a(name));
		if (mkfifo(a(name), 0600) < 0 || pipe(pp) < 0 || pipe(done[i]) < 0) {
			show("setup", -1);
			bad = 1;
			return;
		}
		w[i] = (struct worker){ .id = i, .pipe_r = pp[0], .pipe_w = pp[1], .done_w = done[i][1],
					.rounds = 2 };
		w[i].fifo_r = open(a(name), O_RDONLY | O_NONBLOCK);
		w[i].fifo_w = open(a(name), O_WRONLY);
		if (w[i].fifo_r < 0 || w[i].fifo_w < 0) {
			show("open fifo", -1);
			bad = 1;
			return;
		}
	}
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, poller, &w[i]);
	/* Round 1 through the FIFOs, round 2 through the pipes; reversed
	 * order in round 2, so the last to sleep is not always the first
	 * woken. */
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < N; k++) {
			int i = round == 0 ? k : N - 1 - k;
			char msg[3] = { 0 };
			char label[40];

			if (round == 0 ? write(w[i].fifo_w, "x", 1) != 1 : write(w[i].pipe_w, "x", 1) != 1)
				bad = 1;
			if (read(done[i][0], msg, 2) != 2)
				bad = 1;
			snprintf(label, sizeof label, "round %d thread %d", round + 1, i);
			printf("%-36s %s\n", label, msg);
			expect("  woken once, by its own fd", msg[0] == '1' && msg[1] == (round == 0 ? 'f' : 'p'));
		}
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, idler, &w[i]);
	for (int i = 0; i < N; i++) {
		void *res;
		char label[40];

		pthread_join(t[i], &res);
		snprintf(label, sizeof label, "thread %d: timeout", i);
		show(label, (long)res);
		if (res != NULL)
			bad = 1;
	}
	for (int i = 0; i < N; i++) {
		close(w[i].fifo_r);
		close(w[i].fifo_w);
		snprintf(name, sizeof name, "fifo%d", i);
		unlink(a(name));
	}
}

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) >= sizeof(dir) || argv[1][0] != '/') {
		fprintf(stderr, "usage: poll_threads /DIR\n");
		return 2;
	}
	strcpy(dir, argv[1]);
	in_child("threads", run, NULL, 30);
	return bad;
}
