/*
 * xsb_request.h - a well-formed PUBLISH request for vos-xsbroker (struct
 * vos_xsb_req, xen_broker.h), for the tests of what reads one
 * (test_xsbroker.c: the broker's check; test_xen_jobs.c: vos_xen_conn_fill).
 * Header-only: the Makefile links each of these tests on its own.
 */
#ifndef XSB_REQUEST_H
#define XSB_REQUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "channel/transport_local.h"  /* hello kinds */
#include "channel/xen_broker.h"

/*
 * A PUBLISH request from process pid (devid: its channel 7) with pages
 * grant refs 100, 101, ...; service domain 1, refs 8 and 9, port 10,
 * kind VOS_HELLO_NEW, umask 022, token 0xab....  *len: its size.
 * calloc'ed (the caller frees it); fails the test if out of memory.
 */
static inline struct vos_xsb_req *xsb_publish_req(uint32_t pages, pid_t pid, size_t *len)
{
	struct vos_xsb_req *r;

	*len = sizeof(*r) + pages * sizeof(uint32_t);
	r = calloc(1, *len);
	assert_non_null(r);
	r->magic = VOS_XSB_MAGIC;
	r->op = VOS_XSB_PUBLISH;
	r->domid = 1;
	r->nr_pages = pages;
	r->devid = (uint64_t)pid * VOS_XSB_DEVIDS_PER_PID + 7;
	r->front_ref = 8;
	r->back_ref = 9;
	r->port = 10;
	r->kind = VOS_HELLO_NEW;
	r->umask = 022;
	memset(r->token, 0xab, sizeof(r->token));
	for (uint32_t i = 0; i < pages; i++)
		r->refs[i] = 100 + i;
	return r;
}

#endif
