/*
 * test_hostile.c - a peer that writes garbage into shared memory, forges
 * answers, never answers, or hangs up.  Every case must end in a clean
 * error (-EPROTO, -EAGAIN, -EIO, ...) in bounded time: no crash, no hang,
 * no out-of-bounds access (ASan runs these with exact-size buffers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/un.h>
#include "test_service.h"

/* ---- helpers ---- */

static int ring_result_ok(int r)
{
	return r == 0 || r == -EAGAIN || r == -EPROTO;
}

/* An exact-size heap buffer, so ASan flags any access past the end. */
static void *exact_alloc(size_t size)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, VOS_CACHELINE, size), 0);
	memset(p, 0, size);
	return p;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- rings ---- */

static void ring_targeted_garbage(void **state)
{
	const uint32_t n = 8;
	size_t size = (size_t)vos_ring_bytes(n);
	void *mem = exact_alloc(size);
	struct vos_ring r;
	struct vos_entry e = { .id = 1 }, out;
	(void)state;

	vos_ring_format(mem, n);
	vos_ring_attach(&r, mem, n);

	/* Positions near the top of the range. */
	atomic_store(&r.hdr->enqueue_pos, UINT64_MAX - 3);
	atomic_store(&r.hdr->dequeue_pos, UINT64_MAX - 1);
	assert_true(ring_result_ok(vos_ring_enqueue(&r, &e)));
	assert_true(ring_result_ok(vos_ring_dequeue(&r, &out)));

	/* Every seq far ahead of the positions: the queue never makes sense. */
	vos_ring_format(mem, n);
	for (uint32_t i = 0; i < n; i++)
		atomic_store(&r.ent[i].seq, 1000000 + i);
	assert_int_equal(vos_ring_enqueue(&r, &e), -EPROTO);
	assert_int_equal(vos_ring_dequeue(&r, &out), -EPROTO);

	/* Every seq behind: looks full to producers and empty to consumers. */
	vos_ring_format(mem, n);
	atomic_store(&r.hdr->enqueue_pos, 100);
	atomic_store(&r.hdr->dequeue_pos, 100);
	assert_int_equal(vos_ring_enqueue(&r, &e), -EAGAIN);
	assert_int_equal(vos_ring_dequeue(&r, &out), -EAGAIN);

	/* A consumer position ahead of the producer's. */
	vos_ring_format(mem, n);
	atomic_store(&r.hdr->dequeue_pos, 5);
	assert_true(ring_result_ok(vos_ring_dequeue(&r, &out)));

	/* Re-formatted, the ring works again. */
	vos_ring_format(mem, n);
	assert_int_equal(vos_ring_enqueue(&r, &e), 0);
	assert_int_equal(vos_ring_dequeue(&r, &out), 0);
	assert_int_equal(out.id, 1);
	free(mem);
}

static void ring_random_garbage(void **state)
{
	const uint32_t n = 16;
	size_t size = (size_t)vos_ring_bytes(n);
	uint8_t *mem = exact_alloc(size);
	struct vos_ring r;
	struct vos_entry e = { .id = 7 }, out;
	unsigned seed = 42;
	(void)state;

	vos_ring_attach(&r, mem, n);
	for (int iter = 0; iter < 3000; iter++) {
		vos_ring_format(mem, n);
		/* A few random words, or everything random. */
		if (iter % 4 == 0) {
			for (size_t i = 0; i < size; i++)
				mem[i] = (uint8_t)rand_r(&seed);
		} else {
			for (int k = 0; k < 4; k++) {
				size_t off = ((size_t)rand_r(&seed) % (size / 8)) * 8;
				uint64_t v = ((uint64_t)rand_r(&seed) << 33) ^ (uint64_t)rand_r(&seed);

				if (k & 1)
					v %= 64;        /* small values: plausible positions/seqs */
				memcpy(mem + off, &v, sizeof(v));
			}
		}
		for (int k = 0; k < 4; k++) {
			assert_true(ring_result_ok(vos_ring_enqueue(&r, &e)));
			assert_true(ring_result_ok(vos_ring_dequeue(&r, &out)));
		}
	}
	free(mem);
}

/* ---- channel geometry ---- */

struct fake_channel {
	struct vos_xport xp;
	uint64_t size;
	struct vos_channel_hdr saved;
};

static void fake_new(struct fake_channel *f, uint32_t nslots, uint32_t slot_size)
{
	memset(f, 0, sizeof(*f));
	f->size = vos_channel_bytes(nslots, slot_size);
	assert_true(f->size > 0);
	f->xp.mem = exact_alloc(f->size);
	f->xp.size = f->size;
	assert_int_equal(vos_channel_format(f->xp.mem, f->size, VOS_SVC_STORAGE, nslots, slot_size), 0);
	memcpy(&f->saved, f->xp.mem, sizeof(f->saved));
}

static struct vos_channel_hdr *fake_hdr(struct fake_channel *f)
{
	memcpy(f->xp.mem, &f->saved, sizeof(f->saved));
	return f->xp.mem;
}

static void channel_open_rejects_bad_geometry(void **state)
{
	struct fake_channel f;
	struct vos_channel ch;
	(void)state;

	fake_new(&f, 8, 8192);
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), 0);
	assert_int_equal(ch.nslots, 8);
	assert_int_equal(ch.slot_size, 8192);

	fake_hdr(&f)->magic ^= 1;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	fake_hdr(&f)->version = 2;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	fake_hdr(&f);
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_NETWORK), -EPROTO);

	const uint32_t bad_nslots[] = { 0, 1, 3, 6, 512, 1u << 31, UINT32_MAX };
	for (size_t i = 0; i < sizeof(bad_nslots) / sizeof(bad_nslots[0]); i++) {
		fake_hdr(&f)->nslots = bad_nslots[i];
		assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	}
	/* 4 and 16 are valid geometries, but not what the offsets say. */
	fake_hdr(&f)->nslots = 4;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	fake_hdr(&f)->nslots = 16;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);

	const uint32_t bad_sizes[] = { 0, 100, 4097, 4096 * 3 + 1, 2u << 20, UINT32_MAX, 4096, 16384 };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		fake_hdr(&f)->slot_size = bad_sizes[i];
		assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	}

	fake_hdr(&f)->req_ring_off += VOS_PAGE_SIZE;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	fake_hdr(&f)->ready_ring_off = UINT64_MAX - 64;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	fake_hdr(&f)->data_off = f.size;       /* past the end */
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	fake_hdr(&f)->total_size = f.size + VOS_PAGE_SIZE;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);

	/* A correct header that claims more than was mapped. */
	fake_hdr(&f);
	f.xp.size = f.size - VOS_PAGE_SIZE;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EPROTO);
	f.xp.size = 100;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), -EINVAL);
	f.xp.size = f.size;
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), 0);

	/* Format refuses what open would refuse. */
	assert_int_equal(vos_channel_format(f.xp.mem, f.size, VOS_SVC_STORAGE, 3, 8192), -EINVAL);
	assert_int_equal(vos_channel_format(f.xp.mem, f.size, VOS_SVC_STORAGE, 8, 5000), -EINVAL);
	assert_int_equal(vos_channel_format(f.xp.mem, f.size - 1, VOS_SVC_STORAGE, 8, 8192), -EINVAL);
	assert_int_equal(vos_channel_bytes(512, 4096), 0);
	free(f.xp.mem);
}

/* The peer rewrites the geometry after open: only our private copy counts. */
static void geometry_changed_after_open(void **state)
{
	struct fake_channel f;
	struct vos_channel ch;
	struct vos_entry e = { .id = VOS_ID(3, 1) }, out;
	(void)state;

	fake_new(&f, 4, 4096);
	assert_int_equal(vos_channel_open(&ch, &f.xp, VOS_SVC_STORAGE), 0);
	struct vos_channel_hdr *h = f.xp.mem;
	h->nslots = 256;
	h->slot_size = 1u << 20;
	h->data_off = 0;
	atomic_store(&ch.req.hdr->enqueue_pos, 1000003);
	atomic_store(&ch.ready.hdr->dequeue_pos, 77777);

	assert_int_equal(ch.nslots, 4);
	assert_int_equal(ch.slot_size, 4096);
	for (int i = 0; i < 20; i++) {
		assert_true(ring_result_ok(vos_ring_enqueue(&ch.req, &e)));
		assert_true(ring_result_ok(vos_ring_dequeue(&ch.req, &out)));
		assert_true(ring_result_ok(vos_ring_dequeue(&ch.ready, &out)));
	}
	/* Slot buffers stay inside the mapping (ASan checks the writes). */
	for (uint32_t s = 0; s < ch.nslots; s++)
		memset(vos_channel_slot(&ch, s), 0xab, ch.slot_size);
	assert_false(vos_slot_range_ok(&ch, 0, 4097));
	assert_false(vos_slot_range_ok(&ch, 4000, 97));
	assert_false(vos_slot_range_ok(&ch, -1, 1));
	assert_false(vos_slot_range_ok(&ch, 1, INT64_MAX));
	assert_true(vos_slot_range_ok(&ch, 4000, 96));
	free(f.xp.mem);
}

/* A service worker facing a corrupt request ring, or asked to stop. */
static void next_request_bounded(void **state)
{
	struct vos_xport *xp;
	struct vos_channel ch;
	struct vos_entry out;
	int stop = 0;
	uint64_t size = vos_channel_bytes(4, 4096);
	(void)state;

	assert_int_equal(vos_local_create(size, NULL, NULL, &xp), 0);
	assert_int_equal(vos_channel_format(xp->mem, size, VOS_SVC_STORAGE, 4, 4096), 0);
	assert_int_equal(vos_channel_open(&ch, xp, VOS_SVC_STORAGE), 0);

	for (uint32_t i = 0; i < 4; i++)
		atomic_store(&ch.req.ent[i].seq, 5000 + i);
	assert_int_equal(vos_channel_next_request(&ch, &out, 10, &stop), -EPROTO);

	/* An empty ring and a stop request: -EINTR, not a wait. */
	vos_ring_format((char *)xp->mem + ch.hdr->req_ring_off, 4);
	stop = 1;
	assert_int_equal(vos_channel_next_request(&ch, &out, 10, &stop), -EINTR);
	xp->ops->close(xp);
}

/* ---- the client against a misbehaving service ---- */

struct inflight {
	struct vos_client *c;
	int64_t res;
};

static void *one_call(void *arg)
{
	struct inflight *k = arg;

	k->res = vos_call0(k->c, VOS_OP_NOP, 0, 0, 0);
	return NULL;
}

static void forged_completions_dropped(void **state)
{
	struct test_svc svc;
	struct vos_client_stats st;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_FORGE, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.nslots = 4;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	for (int i = 0; i < 500; i++)
		assert_int_equal(vos_call0(c, i % 2 ? VOS_OP_NOP : 12345, 0, 0, 0),
				 i % 2 ? 0 : -ENOSYS);
	vos_client_stats(c, &st);
	/* Each call was preceded by two forgeries; both were counted and dropped. */
	assert_int_equal(st.bad_completions, 2 * 500);
	assert_int_equal(st.requests, 500);
	assert_false(vos_client_dead(c));
	vos_client_close(c);
	test_svc_stop(&svc);
}

static void unanswered_call_times_out(void **state)
{
	struct test_svc svc;
	struct inflight k[4];
	pthread_t th[4];
	struct vos_slot *s;
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_SILENT, 1), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.dead_after_ms = 200;     /* the silent service does not tick either */
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	for (int i = 0; i < 4; i++) {
		k[i] = (struct inflight){ .c = c };
		pthread_create(&th[i], NULL, one_call, &k[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(k[i].res, -EIO);
	}
	assert_true(vos_client_dead(c));
	/* Dead is final: no new call reaches the ring. */
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	assert_int_equal(vos_slot_acquire(c, &s), -EIO);
	assert_null(s);
	vos_client_close(c);
	test_svc_stop(&svc);
	/* Usually all 4 reached the ring; a caller that started after the
	 * first timeout fails before submitting. */
	assert_true(atomic_load(&svc.handled) >= 1 && atomic_load(&svc.handled) <= 4);
}

static void hangup_fails_inflight_calls(void **state)
{
	struct test_svc svc;
	struct inflight k[4];
	pthread_t th[4];
	(void)state;

	assert_int_equal(test_svc_start(&svc, SVC_HANGUP, 2), 0);
	struct vos_client_config cfg = test_cfg(&svc);
	cfg.spin = 10;
	struct vos_client *c = vos_client_connect(&cfg, VOS_HELLO_NEW, NULL);
	assert_non_null(c);

	/* Default 60 s call timeout: these can only end through the hang-up. */
	for (int i = 0; i < 4; i++) {
		k[i] = (struct inflight){ .c = c };
		pthread_create(&th[i], NULL, one_call, &k[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(k[i].res, -EIO);
	}
	assert_true(vos_client_dead(c));
	assert_int_equal(vos_call0(c, VOS_OP_NOP, 0, 0, 0), -EIO);
	vos_client_close(c);
	test_svc_stop(&svc);
}

/* ---- the service's side of the rendezvous ---- */

static void attach_rejects_bad_descriptors(void **state)
{
	struct vos_local_conn conn;
	struct vos_xport *xp = NULL;
	int pfd[2];
	(void)state;

	int before = count_open_fds();
	memset(&conn, 0, sizeof(conn));
	conn.sock = -1;
	conn.to_service = eventfd(0, EFD_CLOEXEC);
	conn.to_client = eventfd(0, EFD_CLOEXEC);

	/* Unsealed memfd: the client could shrink it under our mapping. */
	conn.memfd = memfd_create("unsealed", MFD_CLOEXEC);
	assert_int_equal(ftruncate(conn.memfd, 65536), 0);
	assert_int_equal(vos_local_attach(&conn, 1 << 20, &xp), -EPERM);
	close(conn.memfd);

	/* Sealed but larger than we accept, or smaller than a page. */
	conn.memfd = memfd_create("big", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(conn.memfd, 2 << 20), 0);
	assert_int_equal(fcntl(conn.memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	assert_int_equal(vos_local_attach(&conn, 1 << 20, &xp), -EINVAL);
	close(conn.memfd);
	conn.memfd = memfd_create("small", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(conn.memfd, 100), 0);
	assert_int_equal(fcntl(conn.memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	assert_int_equal(vos_local_attach(&conn, 1 << 20, &xp), -EINVAL);
	close(conn.memfd);

	/* A pipe where an eventfd belongs. */
	conn.memfd = memfd_create("ok", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(conn.memfd, 65536), 0);
	assert_int_equal(fcntl(conn.memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	int saved = conn.to_client;
	conn.to_client = pfd[1];
	assert_int_equal(vos_local_attach(&conn, 1 << 20, &xp), -EINVAL);
	assert_null(xp);
	close(pfd[0]);
	close(pfd[1]);
	conn.to_client = saved;

	/* All good: the transport takes the descriptors. */
	assert_int_equal(vos_local_attach(&conn, 1 << 20, &xp), 0);
	assert_int_equal(conn.memfd, -1);
	assert_int_equal(conn.to_service, -1);
	xp->ops->close(xp);
	assert_int_equal(count_open_fds(), before);
}

static int raw_connect(const char *rundir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/storage.sock", rundir);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_fds(int sock, const void *buf, size_t len, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(cbuf, 0, sizeof(cbuf));
	if (n) {
		m.msg_control = cbuf;
		m.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &m, 0), (ssize_t)len);
}

static void accept_rejects_bad_hello(void **state)
{
	char rundir[] = "/tmp/vos-unit-XXXXXX";
	struct vos_local_conn conn;
	struct vos_hello_reply rep;
	struct vos_hello hello = { .magic = VOS_HELLO_MAGIC, .version = VOS_PROTO_VERSION,
				   .kind = VOS_HELLO_NEW };
	int efd = eventfd(0, EFD_CLOEXEC);
	(void)state;

	assert_non_null(mkdtemp(rundir));
	int lfd = vos_local_listen(rundir, "storage");
	assert_true(lfd >= 0);
	int before = count_open_fds();

	/* Garbage, no descriptors. */
	int s = raw_connect(rundir);
	assert_int_equal(write(s, "garbage!", 8), 8);
	assert_int_equal(vos_local_accept(lfd, &conn), -EPROTO);
	assert_int_equal(read(s, &rep, sizeof(rep)), (ssize_t)sizeof(rep));
	assert_int_equal(rep.status, -EPROTO);
	close(s);

	/* A proper hello with two descriptors instead of three. */
	s = raw_connect(rundir);
	send_fds(s, &hello, sizeof(hello), (int[]){ efd, efd }, 2);
	assert_int_equal(vos_local_accept(lfd, &conn), -EPROTO);
	close(s);

	/* Three descriptors, but a wrong version. */
	s = raw_connect(rundir);
	hello.version = 99;
	send_fds(s, &hello, sizeof(hello), (int[]){ efd, efd, efd }, 3);
	assert_int_equal(vos_local_accept(lfd, &conn), -EPROTO);
	close(s);

	/* Connected but silent: accept gives up instead of waiting forever. */
	s = raw_connect(rundir);
	assert_int_equal(vos_local_accept(lfd, &conn), -ETIMEDOUT);
	close(s);

	/* None of the received descriptors leaked. */
	assert_int_equal(count_open_fds(), before);

	/* A second daemon must not steal a live socket. */
	assert_int_equal(vos_local_listen(rundir, "storage"), -EADDRINUSE);
	close(lfd);
	close(efd);
	test_rundir_remove(rundir);
}

/* VOS_HELLO_SIZE_MEMFD, what the service answers and does; -EALREADY: served, no channel. */
static int32_t size_request(int lfd, const char *rundir, uint64_t size, const int *fds, int n)
{
	struct vos_hello hello = { .magic = VOS_HELLO_MAGIC, .version = VOS_PROTO_VERSION,
				   .kind = VOS_HELLO_SIZE_MEMFD, .size = size };
	struct vos_local_conn conn;
	struct vos_hello_reply rep;
	int s = raw_connect(rundir);

	send_fds(s, &hello, sizeof(hello), fds, n);
	assert_int_equal(vos_local_accept(lfd, &conn), -EALREADY);
	assert_int_equal(read(s, &rep, sizeof(rep)), (ssize_t)sizeof(rep));
	close(s);
	return rep.status;
}

static off_t size_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_size;
}

/* The service grows a client's memfd to a channel's size at most, and only a
 * memfd that may still be sealed and grown. */
static void size_request_checked(void **state)
{
	char rundir[] = "/tmp/vos-unit-XXXXXX", path[64];
	uint64_t max = vos_channel_bytes(VOS_MAX_SLOTS, VOS_MAX_SLOT_SIZE);
	int good = memfd_create("good", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int grow_sealed = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int no_sealing = memfd_create("plain", MFD_CLOEXEC);
	(void)state;

	assert_non_null(mkdtemp(rundir));
	snprintf(path, sizeof(path), "%s/file", rundir);
	int file = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(good >= 0 && grow_sealed >= 0 && no_sealing >= 0 && file >= 0);
	assert_int_equal(fcntl(grow_sealed, F_ADD_SEALS, F_SEAL_GROW), 0);
	int lfd = vos_local_listen(rundir, "storage");
	assert_true(lfd >= 0);
	int before = count_open_fds();

	assert_int_equal(size_request(lfd, rundir, 65536, &good, 1), 0);
	assert_int_equal(size_of(good), 65536);
	/* never shrunk */
	assert_int_equal(size_request(lfd, rundir, 8192, &good, 1), 0);
	assert_int_equal(size_of(good), 65536);
	assert_int_equal(size_request(lfd, rundir, max + 1, &good, 1), -EFBIG);
	assert_int_equal(size_request(lfd, rundir, 1, &good, 1), -EFBIG);
	assert_int_equal(size_of(good), 65536);
	assert_int_equal(size_request(lfd, rundir, 65536, &grow_sealed, 1), -EINVAL);
	assert_int_equal(size_request(lfd, rundir, 65536, &no_sealing, 1), -EINVAL);
	assert_int_equal(size_request(lfd, rundir, 65536, &file, 1), -EINVAL);
	assert_int_equal(size_of(grow_sealed) + size_of(no_sealing) + size_of(file), 0);
	assert_int_equal(size_request(lfd, rundir, 65536, (int[]){ good, good }, 2), -EPROTO);
	assert_int_equal(size_request(lfd, rundir, 65536, NULL, 0), -EPROTO);
	assert_int_equal(count_open_fds(), before);

	close(lfd);
	close(good);
	close(grow_sealed);
	close(no_sealing);
	close(file);
	test_rundir_remove(rundir);
}

/* A service that accepts connections but never answers the hello. */
static void connect_gives_up_without_reply(void **state)
{
	char rundir[] = "/tmp/vos-unit-XXXXXX";
	(void)state;

	assert_non_null(mkdtemp(rundir));
	int lfd = vos_local_listen(rundir, "storage");     /* nobody accepts */
	assert_true(lfd >= 0);
	struct vos_client_config cfg = { .rundir = rundir, .service = "storage", .kind = VOS_SVC_STORAGE };
	int before = count_open_fds();
	errno = 0;
	assert_null(vos_client_connect(&cfg, VOS_HELLO_NEW, NULL));
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(count_open_fds(), before);
	close(lfd);
	test_rundir_remove(rundir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_targeted_garbage),
		cmocka_unit_test(ring_random_garbage),
		cmocka_unit_test(channel_open_rejects_bad_geometry),
		cmocka_unit_test(geometry_changed_after_open),
		cmocka_unit_test(next_request_bounded),
		cmocka_unit_test(forged_completions_dropped),
		cmocka_unit_test(unanswered_call_times_out),
		cmocka_unit_test(hangup_fails_inflight_calls),
		cmocka_unit_test(attach_rejects_bad_descriptors),
		cmocka_unit_test(accept_rejects_bad_hello),
		cmocka_unit_test(size_request_checked),
		cmocka_unit_test(connect_gives_up_without_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
