/*
 * bench_ring - the channel ring (libvirtuos/channel/ring.h) against liburcu's
 * wait-free concurrent queue (urcu/wfcqueue.h), in one process.
 *
 *   bench_ring [--reps R] [--items N] [--cap C]
 *
 * Three shapes, each moving the same N items through both queues:
 *   1t    one thread: enqueue one item, dequeue it, repeat (uncontended cost)
 *   1p1c  one producer thread, one consumer thread
 *   2p2c  two producers, two consumers
 * Reported as ns per item (wall time of the whole transfer / N), "native" =
 * wfcqueue, "ours" = ring.  Every item carries a value; consumers sum what
 * they get and the sum is checked, so a lost or doubled item fails the run.
 *
 * The two queues differ in kind: the ring is bounded (C entries) and copies
 * a 64-byte entry in and out; wfcqueue is an unbounded linked list of nodes
 * the caller owns (16-byte items here, allocated before timing).  With two
 * consumers wfcqueue needs its dequeue lock (cds_wfcq_dequeue_blocking);
 * with one it uses the lock-free __cds_wfcq_dequeue_blocking.  Both queues
 * are called through their libraries' out-of-line functions.  A thread that
 * finds its queue full or empty spins with a pause, then yields after
 * BACKOFF_SPINS failures, the same for both queues (with 4 threads on 2
 * cores a pure spinner would burn the time slice its peer needs).
 */
#include <getopt.h>
#include <sched.h>
#include <urcu/wfcqueue.h>
#include "bench_util.h"
#include "channel/ring.h"

#define BACKOFF_SPINS 64

enum qkind { Q_RING, Q_WFCQ };

struct item {
	struct cds_wfcq_node node;
	uint64_t v;
};

struct queue {
	enum qkind kind;
	void *ring_mem;
	uint32_t cap;
	struct cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	int locked_dequeue;        /* several consumers: wfcqueue needs its lock */
	struct item *items;        /* wfcqueue nodes, items[v - 1] carries v */
	pthread_barrier_t start;
};

struct worker {
	struct queue *q;
	int producer;
	uint64_t first, count;     /* producer: values first..first+count-1; consumer: count */
	uint64_t sum;
	pthread_t th;
};

static inline void backoff(unsigned *fails)
{
	if (++*fails < BACKOFF_SPINS) {
		__builtin_ia32_pause();
	} else {
		*fails = 0;
		sched_yield();
	}
}

static void put(struct queue *q, struct vos_ring *r, uint64_t v)
{
	unsigned fails = 0;
	if (q->kind == Q_WFCQ) {
		struct item *it = &q->items[v - 1];
		cds_wfcq_node_init(&it->node);
		it->v = v;
		cds_wfcq_enqueue(&q->head, &q->tail, &it->node);
		return;
	}
	struct vos_entry e = { .id = (uint32_t)v, .op = VOS_OP_NOP, .arg = { (int64_t)v } };
	for (;;) {
		int rc = vos_ring_enqueue(r, &e);
		if (rc == 0)
			return;
		if (rc != -EAGAIN)
			bench_die("bench_ring: enqueue: %s", strerror(-rc));
		backoff(&fails);
	}
}

static uint64_t take(struct queue *q, struct vos_ring *r)
{
	unsigned fails = 0;
	for (;;) {
		if (q->kind == Q_WFCQ) {
			struct cds_wfcq_node *n = q->locked_dequeue
				? cds_wfcq_dequeue_blocking(&q->head, &q->tail)
				: __cds_wfcq_dequeue_blocking(&q->head, &q->tail);
			if (n)
				return caa_container_of(n, struct item, node)->v;
		} else {
			struct vos_entry e;
			int rc = vos_ring_dequeue(r, &e);
			if (rc == 0)
				return (uint64_t)e.arg[0];
			if (rc != -EAGAIN)
				bench_die("bench_ring: dequeue: %s", strerror(-rc));
		}
		backoff(&fails);
	}
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	struct vos_ring r;   /* each thread attaches its own view, as each process would */
	if (w->q->kind == Q_RING)
		vos_ring_attach(&r, w->q->ring_mem, w->q->cap);
	pthread_barrier_wait(&w->q->start);
	if (w->producer) {
		for (uint64_t i = 0; i < w->count; i++)
			put(w->q, &r, w->first + i);
	} else {
		uint64_t sum = 0;
		for (uint64_t i = 0; i < w->count; i++)
			sum += take(w->q, &r);
		w->sum = sum;
	}
	return NULL;
}

static void queue_reset(struct queue *q, enum qkind kind, int consumers)
{
	q->kind = kind;
	q->locked_dequeue = consumers > 1;
	if (kind == Q_RING) {
		memset(q->ring_mem, 0, vos_ring_bytes(q->cap));
		vos_ring_format(q->ring_mem, q->cap);
	} else {
		cds_wfcq_init(&q->head, &q->tail);
	}
}

/* Move n items 1..n through the queue; ns per item. */
static double transfer(struct queue *q, enum qkind kind, unsigned np, unsigned nc, uint64_t n)
{
	struct worker w[4];
	uint64_t sum = 0, t0, t1;

	queue_reset(q, kind, (int)nc);
	if (np == 0) {  /* one thread: enqueue and dequeue in turn */
		struct vos_ring r;
		if (kind == Q_RING)
			vos_ring_attach(&r, q->ring_mem, q->cap);
		t0 = bench_now_ns();
		for (uint64_t v = 1; v <= n; v++) {
			put(q, &r, v);
			sum += take(q, &r);
		}
		t1 = bench_now_ns();
	} else {
		unsigned nt = np + nc;
		pthread_barrier_init(&q->start, NULL, nt + 1);
		for (unsigned i = 0; i < nt; i++) {
			int prod = i < np;
			unsigned k = prod ? i : i - np, m = prod ? np : nc;
			w[i] = (struct worker){ .q = q, .producer = prod,
						.first = 1 + n / m * k, .count = n / m };
			int e = pthread_create(&w[i].th, NULL, worker_main, &w[i]);
			if (e)
				bench_die("bench_ring: pthread_create: %s", strerror(e));
		}
		pthread_barrier_wait(&q->start);
		t0 = bench_now_ns();
		for (unsigned i = 0; i < nt; i++) {
			pthread_join(w[i].th, NULL);
			sum += w[i].sum;
		}
		t1 = bench_now_ns();
		pthread_barrier_destroy(&q->start);
	}
	if (kind == Q_WFCQ)
		cds_wfcq_destroy(&q->head, &q->tail);
	if (sum != n * (n + 1) / 2)
		bench_die("bench_ring: %s lost or duplicated items (sum %llu, want %llu)",
			  kind == Q_RING ? "ring" : "wfcqueue", (unsigned long long)sum,
			  (unsigned long long)(n * (n + 1) / 2));
	return (double)(t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "reps", required_argument, 0, 'r' }, { "items", required_argument, 0, 'n' },
		{ "cap", required_argument, 0, 'c' },  { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static const struct { const char *name; unsigned np, nc; } shapes[] = {
		{ "ring_1t", 0, 0 }, { "ring_1p1c", 1, 1 }, { "ring_2p2c", 2, 2 },
	};
	struct queue q = { .cap = VOS_MAX_SLOTS };
	int reps = 7, c;
	uint64_t n = 2000000;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': reps = (int)bench_parse_count("--reps", optarg, 1, BENCH_MAX_REPS); break;
		case 'n': n = (uint64_t)bench_parse_count("--items", optarg, 4, 1L << 28); break;
		case 'c': q.cap = (uint32_t)bench_parse_count("--cap", optarg, 2, 1L << 16); break;
		case 'h':
			printf("usage: bench_ring [--reps R] [--items N] [--cap C (power of two)]\n");
			return 0;
		default:
			fprintf(stderr, "usage: bench_ring [--reps R] [--items N] [--cap C]\n");
			return 2;
		}
	}
	if (optind != argc || (q.cap & (q.cap - 1))) {
		fprintf(stderr, "bench_ring: --cap must be a power of two; no operands\n");
		return 2;
	}
	n -= n % 4;  /* every shape splits the items evenly */
	q.ring_mem = aligned_alloc(4096, (vos_ring_bytes(q.cap) + 4095) & ~(uint64_t)4095);
	q.items = calloc(n, sizeof(*q.items));
	if (!q.ring_mem || !q.items)
		bench_die("bench_ring: out of memory");

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		double wf[BENCH_MAX_REPS], rg[BENCH_MAX_REPS];
		transfer(&q, Q_WFCQ, shapes[s].np, shapes[s].nc, (n / 10) & ~(uint64_t)3);  /* warm-up */
		transfer(&q, Q_RING, shapes[s].np, shapes[s].nc, (n / 10) & ~(uint64_t)3);
		for (int r = 0; r < reps; r++) {
			wf[r] = transfer(&q, Q_WFCQ, shapes[s].np, shapes[s].nc, n);
			rg[r] = transfer(&q, Q_RING, shapes[s].np, shapes[s].nc, n);
			fprintf(stderr, "  %s: rep %d/%d: wfcqueue %.1f ns/item, ring %.1f ns/item\n",
				shapes[s].name, r + 1, reps, wf[r], rg[r]);
		}
		bench_result(shapes[s].name, "ns/item", wf, rg, reps);
	}
	free(q.items);
	free(q.ring_mem);
	return 0;
}
