/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net.bpf.h - network activity of IPv4/IPv6 sockets, from sys_exit:
 * connect (with its result), accept, bind, listen, and UDP sends: the first
 * datagram of a process to each peer (udp_peers), and every datagram to port
 * 53 with the start of its payload so the decoder can read the DNS query.
 * Unix sockets are not reported.
 */
#ifndef HINOMI_NET_BPF_H
#define HINOMI_NET_BPF_H

#include "sensor/bpf/emit.bpf.h"

#define HN_AF_INET    2
#define HN_AF_INET6   10
#define HN_S_IFSOCK   0140000

static __always_inline struct sock *fd_sock(long fd)
{
	struct file *file = fd_file((void *)bpf_get_current_task(), fd);
	struct socket *sock;

	if (!file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & HN_S_IFMT) != HN_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* Local and remote ends of sk into n (whichever are set). */
static __always_inline void sock_ends(struct hn_wire_net *n, struct sock *sk)
{
	n->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	n->proto = BPF_CORE_READ(sk, sk_protocol);
	n->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	n->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (n->family == HN_AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)n->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)n->daddr, sk, __sk_common.skc_daddr);
	} else if (n->family == HN_AF_INET6) {
		BPF_CORE_READ_INTO(&n->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&n->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

/* A user sockaddr into the remote (or, for bind, local) end; false if it is
 * not IPv4/IPv6. */
static __always_inline bool user_sockaddr(const void *uaddr, __u16 *family, __u16 *port,
					  __u8 addr[16])
{
	struct {
		__u16 family;
		__u16 port;
		__u32 a4_or_flow;
		__u8 a6[16];
	} sa = {};

	if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), uaddr) < 0) {
		/* a sockaddr_in is shorter than our read: try its size */
		if (!uaddr || bpf_probe_read_user(&sa, 8, uaddr) < 0)
			return false;
	}
	if (sa.family != HN_AF_INET && sa.family != HN_AF_INET6)
		return false;
	*family = sa.family;
	*port = bpf_ntohs(sa.port);
	if (sa.family == HN_AF_INET)
		__builtin_memcpy(addr, &sa.a4_or_flow, 4);
	else
		__builtin_memcpy(addr, sa.a6, 16);
	return true;
}

static __always_inline struct hn_wire_net *net_begin(struct rec *r, __u16 op, long ret)
{
	struct hn_wire_net *n;

	if (!rec_begin(r, HN_W_NET, op, (void *)bpf_get_current_task()))
		return NULL;
	n = rec_body(r);
	__builtin_memset(n, 0, sizeof(*n));
	n->result = ret;
	return n;
}

SEC("raw_tp")
int hn_sys_connect(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long ret = (long)ctx->args[1];
	struct hn_wire_net *n;
	struct sock *sk;
	struct rec r;
	__u16 family, port;
	__u8 addr[16] = {};

	if (!user_sockaddr((void *)SYS_ARG2(regs), &family, &port, addr))
		return 0;
	sk = fd_sock((int)SYS_ARG1(regs));
	if (!sk)
		return 0;
	n = net_begin(&r, HN_N_CONNECT, ret);
	if (!n)
		return 0;
	sock_ends(n, sk);
	/* the destination asked for, whatever the socket now says */
	n->family = family;
	n->dport = port;
	__builtin_memcpy(n->daddr, addr, 16);
	if (ret == -115 /* EINPROGRESS */)
		n->flags |= HN_NF_INPROGRESS;
	rec_send(&r);
	return 0;
}

static __always_inline int handle_accept(struct bpf_raw_tracepoint_args *ctx)
{
	long ret = (long)ctx->args[1];
	struct hn_wire_net *n;
	struct sock *sk;
	struct rec r;
	__u16 family;

	if (ret < 0)
		return 0;
	sk = fd_sock(ret);
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != HN_AF_INET && family != HN_AF_INET6)
		return 0;
	n = net_begin(&r, HN_N_ACCEPT, ret);
	if (!n)
		return 0;
	sock_ends(n, sk);
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_accept(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_accept(ctx);
}

SEC("raw_tp")
int hn_sys_bind(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long ret = (long)ctx->args[1];
	struct hn_wire_net *n;
	struct sock *sk;
	struct rec r;
	__u16 family, port;
	__u8 addr[16] = {};

	if (!user_sockaddr((void *)SYS_ARG2(regs), &family, &port, addr))
		return 0;
	sk = fd_sock((int)SYS_ARG1(regs));
	if (!sk)
		return 0;
	n = net_begin(&r, HN_N_BIND, ret);
	if (!n)
		return 0;
	n->family = family;
	n->proto = BPF_CORE_READ(sk, sk_protocol);
	n->sport = port;
	__builtin_memcpy(n->saddr, addr, 16);
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_listen(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long ret = (long)ctx->args[1];
	struct hn_wire_net *n;
	struct sock *sk;
	struct rec r;
	__u16 family;

	sk = fd_sock((int)SYS_ARG1(regs));
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != HN_AF_INET && family != HN_AF_INET6)
		return 0;
	n = net_begin(&r, HN_N_LISTEN, ret);
	if (!n)
		return 0;
	sock_ends(n, sk);
	n->backlog = (__u32)SYS_ARG2(regs);
	rec_send(&r);
	return 0;
}

/*
 * A datagram sent on fd to uaddr (or to the socket's peer when uaddr is
 * NULL), payload at ubuf.  Reported when it goes to port 53 (with the
 * payload) or to a peer this process has not sent to before.
 */
/* fd's socket when it is a UDP one, else NULL. */
static __always_inline struct sock *udp_sock(long fd)
{
	struct sock *sk = fd_sock((int)fd);

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != 17 /* IPPROTO_UDP */)
		return NULL;
	return sk;
}

/* The other end of a datagram on sk: the address the caller gave or got
 * (uaddr), else the socket's connected peer; false when that is no IPv4
 * or IPv6 address. */
static __always_inline bool udp_peer_of(struct sock *sk, const void *uaddr,
					struct udp_peer *peer)
{
	struct hn_wire_net tmp = {};

	if (uaddr && user_sockaddr(uaddr, &peer->family, &peer->port, peer->addr))
		return true;
	sock_ends(&tmp, sk);
	if (tmp.family != HN_AF_INET && tmp.family != HN_AF_INET6)
		return false;
	peer->family = tmp.family;
	peer->port = tmp.dport;
	__builtin_memcpy(peer->addr, tmp.daddr, 16);
	return true;
}

/* A network record of kind for a datagram on sk with peer: the socket's
 * ends, the peer as destination; NULL when the ring buffer is full. */
static __always_inline struct hn_wire_net *udp_begin(struct rec *r, __u16 kind, long ret,
						     struct sock *sk,
						     const struct udp_peer *peer)
{
	struct hn_wire_net *n = net_begin(r, kind, ret);

	if (!n)
		return NULL;
	sock_ends(n, sk);
	n->family = peer->family;
	n->dport = peer->port;
	__builtin_memcpy(n->daddr, peer->addr, 16);
	return n;
}

static __always_inline int handle_udp_send(struct bpf_raw_tracepoint_args *ctx, long fd,
					   const void *uaddr, const void *ubuf, __u64 len)
{
	long ret = (long)ctx->args[1];
	struct sock *sk;
	struct udp_peer peer = {};
	struct rec r;
	__u8 one = 1;
	bool dns;

	if (ret < 0 || !(sk = udp_sock(fd)))
		return 0;
	peer.tgid = bpf_get_current_pid_tgid() >> 32;
	if (!udp_peer_of(sk, uaddr, &peer))
		return 0;
	dns = peer.port == 53;
	if (!dns) {
		if (bpf_map_lookup_elem(&udp_peers, &peer)) {
			count(HN_W_NET, HN_CNT_FILTERED);
			return 0;
		}
		bpf_map_update_elem(&udp_peers, &peer, &one, BPF_ANY);
	}
	if (!udp_begin(&r, dns ? HN_N_DNS : HN_N_UDP_SEND, ret, sk, &peer))
		return 0;
	if (dns && ubuf) {
		__u32 l = len > HN_PAYLOAD_MAX ? HN_PAYLOAD_MAX : (__u32)len;
		put_ubytes(&r, HN_S_PAYLOAD, ubuf, l, 0);
	}
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_sendto(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_udp_send(ctx, (int)SYS_ARG1(regs), (void *)SYS_ARG5(regs),
			       (void *)SYS_ARG2(regs), SYS_ARG3(regs));
}

/*
 * recvfrom and recvmsg: a datagram from port 53 is a DNS reply; its start
 * goes to the agent, which learns from it which name an address was
 * resolved from (the DestinationHostname of later connections).  The
 * resolvers of glibc and musl read their replies with recvfrom; others
 * (systemd-resolved, most event-loop libraries) with recvmsg.  Both are
 * frequent on other sockets: a UDP socket is checked for first.
 */

/* A datagram received on sk: ret bytes, the first avail of them at ubuf
 * (recvmsg: the first iovec); uaddr: the sender when the caller asked
 * (else the connected peer). */
static __always_inline int handle_udp_recv(struct sock *sk, long ret, const void *ubuf,
					   __u64 avail, const void *uaddr)
{
	struct udp_peer peer = {};
	struct rec r;
	__u64 l;

	if (ret < 12 || !ubuf || avail < 12)   /* shorter than a DNS header */
		return 0;
	if (!udp_peer_of(sk, uaddr, &peer) || peer.port != 53 ||
	    !udp_begin(&r, HN_N_DNS, ret, sk, &peer))
		return 0;
	l = (__u64)ret < avail ? (__u64)ret : avail;
	put_ubytes(&r, HN_S_PAYLOAD, ubuf, l > HN_PAYLOAD_MAX ? HN_PAYLOAD_MAX : (__u32)l, 0);
	r.quiet = 1;   /* an answer alerts nothing by itself */
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_recvfrom(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long ret = (long)ctx->args[1];
	struct sock *sk;

	if (ret < 12 || !(sk = udp_sock((long)SYS_ARG1(regs))))
		return 0;
	return handle_udp_recv(sk, ret, (void *)SYS_ARG2(regs), (__u64)ret,
			       (void *)SYS_ARG5(regs));
}

/* struct user_msghdr's head */
struct hn_msghdr {
	void *name;
	int namelen;
	int pad;
	struct iovec *iov;
	__u64 iovlen;
};

static __always_inline int handle_msg(struct bpf_raw_tracepoint_args *ctx, long fd,
				      const void *umsg)
{
	struct hn_msghdr m = {};
	struct iovec iov = {};

	if (bpf_probe_read_user(&m, sizeof(m), umsg) < 0)
		return 0;
	if (m.iov && m.iovlen)
		bpf_probe_read_user(&iov, sizeof(iov), m.iov);
	return handle_udp_send(ctx, fd, m.name, iov.iov_base, iov.iov_len);
}

SEC("raw_tp")
int hn_sys_recvmsg(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long ret = (long)ctx->args[1];
	struct hn_msghdr m = {};
	struct iovec iov = {};
	struct sock *sk;

	if (ret < 12 || !(sk = udp_sock((long)SYS_ARG1(regs))))
		return 0;
	if (bpf_probe_read_user(&m, sizeof(m), (void *)SYS_ARG2(regs)) < 0 || !m.iov ||
	    !m.iovlen || bpf_probe_read_user(&iov, sizeof(iov), m.iov) < 0)
		return 0;
	return handle_udp_recv(sk, ret, iov.iov_base, iov.iov_len, m.name);
}

SEC("raw_tp")
int hn_sys_sendmsg(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_msg(ctx, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs));
}

/* sendmmsg: the first message stands for the batch (the resolver sends the
 * A and AAAA queries for one name together). */
SEC("raw_tp")
int hn_sys_sendmmsg(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_msg(ctx, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs));
}

#endif
