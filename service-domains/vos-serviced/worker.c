/*
 * worker.c - a shadow's worker threads.
 *
 * Each worker takes a request (spinning, then sleeping on the transport),
 * executes it and posts the completion with the same id and op.  Any worker
 * may take any request, so a call that blocks (a lock wait, a FIFO) holds
 * one worker while the others go on.  Workers never stop by themselves
 * except when the channel is unusable; the shadow ends by _exit from its
 * control thread, which ends every thread at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "serviced.h"

static void *worker_main(void *arg)
{
	struct vos_shadow *sh = arg;
	struct vos_opbuf *ob = malloc(sizeof *ob);
	uint8_t *scratch = malloc(sh->ch.slot_size);

	if (!ob || !scratch) {
		free(ob);
		free(scratch);
		vos_shadow_end(sh, -ENOMEM);
		return NULL;
	}
	ob->scratch = scratch;

	for (;;) {
		struct vos_entry req, done;
		int err = vos_channel_next_request(&sh->ch, &req, sh->spin, &sh->stop);

		if (err == -EINTR)
			continue;
		if (err) {
			/* -EPIPE: the client is gone; -EPROTO: it broke the ring. */
			vos_shadow_end(sh, err);
			break;
		}
		memset(&done, 0, sizeof done);
		done.id = req.id;
		done.op = req.op;
		done.arg[0] = vos_op_execute(sh, &req, ob);
		err = vos_channel_complete(&sh->ch, &done);
		if (err == -EPROTO) {
			vos_shadow_end(sh, err);
			break;
		}
		if (err) {
			/* Ready ring full for a long time: the client does not
			 * consume; it loses this answer (its call times out). */
			__atomic_add_fetch(&sh->ch.hdr->protocol_errors, 1, __ATOMIC_RELAXED);
			vos_debug("completion dropped: error %d", err);
		}
	}
	free(scratch);
	free(ob);
	return NULL;
}

int vos_workers_start(struct vos_shadow *sh)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (unsigned i = 0; i < sh->nworkers; i++) {
		pthread_t t;
		int err = pthread_create(&t, &attr, worker_main, sh);
		if (err) {
			pthread_attr_destroy(&attr);
			return -err;
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}
