/*
 * xt_common.h - what the Xen test programs share: the requests
 * xen_channel_test's server answers, and the checksums of the ECHO test.
 * Header only (the programs are built from a plain gcc line in
 * run-in-guests.sh, one source file each).
 *
 * Test requests are VOS_OP_NOP entries whose arguments these programs
 * define: arg[0] = CMD_*.
 *   ECHO: arg[1] = length, arg[2] = FNV-1a of the slot's data; the server
 *         checks it, XORs the data with XT_ECHO_XOR in place and answers the
 *         FNV-1a of the result (xt_echo_answer).
 *   SPIN: arg[1] = the workers' spin budget, arg[2] = how many workers take
 *         requests (0 = all; the others idle, so that one spinning worker
 *         does not share the service domain's vCPU with another).
 *   DIE:  the serving process exits at once (a crashed shadow).
 *   HANG: the worker answers only after 120 s (a call in flight when a
 *         domain dies).
 */
#ifndef XT_COMMON_H
#define XT_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum { CMD_NULL = 0, CMD_ECHO = 1, CMD_SPIN = 2, CMD_DIE = 3, CMD_HANG = 4 };

#define XT_ECHO_XOR 0x5a
#define BIG_SPIN    2000000u    /* a spin budget that never runs out in a test */

/* FNV-1a of the n bytes at p, each XORed with x first. */
static inline uint64_t xt_fnv1a_xor(const uint8_t *p, size_t n, uint8_t x)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)(p[i] ^ x)) * 0x100000001b3ULL;
	return h;
}

static inline uint64_t fnv1a(const uint8_t *p, size_t n)
{
	return xt_fnv1a_xor(p, n, 0);
}

/* What the server answers to an ECHO of the n bytes at p (before it
 * scrambles them), and what the slot then hashes to (with & INT64_MAX). */
static inline int64_t xt_echo_answer(const uint8_t *p, size_t n)
{
	return (int64_t)(xt_fnv1a_xor(p, n, XT_ECHO_XOR) & INT64_MAX);
}

/* The arguments of an ECHO of the len bytes at buf; returns the answer the
 * server must give. */
static inline int64_t xt_echo_request(const uint8_t *buf, uint32_t len, int64_t args[3])
{
	args[0] = CMD_ECHO;
	args[1] = len;
	args[2] = (int64_t)fnv1a(buf, len);
	return xt_echo_answer(buf, len);
}

#endif
