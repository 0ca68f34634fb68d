/*
 * net_udp.c - UDP over 127.0.0.1 keeps message boundaries, as natively,
 * also for datagrams larger than a channel slot of the storage service
 * (60 KiB): datagrams of 60000, 1, 0 and 30000 bytes come out one by one
 * with their own lengths and contents; a receive buffer shorter than the
 * datagram truncates it (MSG_TRUNC in msg_flags, or its real length with
 * the MSG_TRUNC flag); the sender's address comes with it (recvfrom,
 * recvmsg); a 70000-byte datagram is EMSGSIZE; sendmsg gathers iovecs
 * into one datagram; a connected UDP socket uses send/recv and
 * write/read; IP_PKTINFO arrives as a control message; sendmmsg/recvmmsg
 * move several; an empty socket says EAGAIN without waiting.
 *
 * usage: net_udp DIR
 */
#include <netinet/in.h>
#include <stdlib.h>
#include "report.h"
#include "nethelp.h"

static unsigned char big[70000], in[70000];

static int udp_bound(struct sockaddr_in *sin)
{
	socklen_t len = sizeof *sin;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	*sin = loopback(0);
	if (s < 0 || bind(s, (struct sockaddr *)sin, sizeof *sin) < 0 ||
	    getsockname(s, (struct sockaddr *)sin, &len) < 0)
		return -1;
	return s;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 60000, 1, 0, 30000 };
	struct sockaddr_in ra, sa, from;
	socklen_t fl;
	int r, s;

	if (argc < 2)
		return 2;
	snprintf(dir, sizeof dir, "%s", argv[1]);
	(void)a;        /* no files: the directory is not used */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 13 + i / 97);
	r = udp_bound(&ra);
	s = udp_bound(&sa);
	expect("two bound UDP sockets", r >= 0 && s >= 0);

	for (size_t i = 0; i < 4; i++) {
		char label[64];

		snprintf(label, sizeof label, "sendto %zu bytes", sizes[i]);
		show(label, sendto(s, big + i, sizes[i], 0, (struct sockaddr *)&ra, sizeof ra));
	}
	for (size_t i = 0; i < 4; i++) {
		char label[64];
		long n;

		fl = sizeof from;
		memset(&from, 0, sizeof from);
		n = recvfrom(r, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
		snprintf(label, sizeof label, "recvfrom (the %zu-byte one)", sizes[i]);
		show(label, n);
		expect("  same bytes", n == (long)sizes[i] && memcmp(in, big + i, sizes[i]) == 0);
		expect("  from the sender", fl == sizeof from && from.sin_port == sa.sin_port);
	}

	/* truncation */
	sendto(s, big, 5000, 0, (struct sockaddr *)&ra, sizeof ra);
	sendto(s, big, 5000, 0, (struct sockaddr *)&ra, sizeof ra);
	{
		struct iovec v = { in, 100 };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from,
				    .msg_iov = &v, .msg_iovlen = 1 };

		show("recvmsg into 100 bytes", recvmsg(r, &m, 0));
		expect("  MSG_TRUNC in msg_flags", (m.msg_flags & MSG_TRUNC) != 0);
		expect("  msg_namelen", m.msg_namelen == sizeof from);
		show("recv MSG_TRUNC into 10 bytes", recv(r, in, 10, MSG_TRUNC));
	}

	show("sendto 70000 bytes", sendto(s, big, 70000, 0, (struct sockaddr *)&ra, sizeof ra));

	/* sendmsg gathers; connected sockets */
	{
		struct iovec v[3] = { { "one ", 4 }, { big, 0 }, { "datagram", 8 } };
		struct msghdr m = { .msg_name = &ra, .msg_namelen = sizeof ra, .msg_iov = v, .msg_iovlen = 3 };

		show("sendmsg of 3 iovecs", sendmsg(s, &m, 0));
		memset(in, 0, 64);
		show("recv it", recv(r, in, sizeof in, 0));
		expect("  one datagram", strcmp((char *)in, "one datagram") == 0);
	}
	expect("connect the sender", connect(s, (struct sockaddr *)&ra, sizeof ra) == 0);
	expect("connect the receiver", connect(r, (struct sockaddr *)&sa, sizeof sa) == 0);
	show("write 3", write(s, "abc", 3));
	show("send 2", send(s, "de", 2, 0));
	show("read", read(r, in, sizeof in));
	show("recv", recv(r, in, sizeof in, 0));
	show("recv MSG_DONTWAIT on empty", recv(r, in, sizeof in, MSG_DONTWAIT));

	/* IP_PKTINFO */
	{
		int on = 1;
		union { char buf[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } ctl;
		struct iovec v = { in, sizeof in };
		struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.buf,
				    .msg_controllen = sizeof ctl.buf };
		struct cmsghdr *c;

		expect("IP_PKTINFO on", setsockopt(r, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0);
		send(s, "p", 1, 0);
		show("recvmsg with control", recvmsg(r, &m, 0));
		c = CMSG_FIRSTHDR(&m);
		expect("  IP_PKTINFO came", c && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO);
		if (c) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			expect("  to 127.0.0.1", pi.ipi_addr.s_addr == htonl(INADDR_LOOPBACK));
		}
	}

	/* sendmmsg / recvmmsg */
	{
		struct iovec v[3] = { { "m1", 2 }, { "mm2", 3 }, { "mmm3", 4 } };
		struct mmsghdr mm[3];
		char b[3][16];
		struct iovec rv[3] = { { b[0], 16 }, { b[1], 16 }, { b[2], 16 } };

		memset(mm, 0, sizeof mm);
		for (int i = 0; i < 3; i++) {
			mm[i].msg_hdr.msg_iov = &v[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		show("sendmmsg 3", sendmmsg(s, mm, 3, 0));
		memset(mm, 0, sizeof mm);
		for (int i = 0; i < 3; i++) {
			mm[i].msg_hdr.msg_iov = &rv[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		show("recvmmsg 3", recvmmsg(r, mm, 3, 0, NULL));
		expect("  lengths 2 3 4", mm[0].msg_len == 2 && mm[1].msg_len == 3 && mm[2].msg_len == 4);
	}
	close(r);
	close(s);
	return bad;
}
