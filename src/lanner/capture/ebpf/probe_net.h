/* Socket parameters: SOCKADDR from a user buffer, SOCKTUPLE from the kernel socket of an fd.
 *
 * Layouts (scap): SOCKADDR = u8 family + (ipv4 u32 addr, u16 port | ipv6 16 bytes, u16 port | unix path
 * NUL-terminated); SOCKTUPLE = u8 family + (ipv4 sip, sport, dip, dport | ipv6 same with 16-byte addrs |
 * unix u64 source pointer, u64 peer pointer, path). Addresses keep network byte order, ports are host
 * order. Tuples are oriented client -> server: local -> remote for connect/send/recv, remote -> local
 * for accept.
 */
#pragma once

struct unix_sock___lanner {
	struct sock *peer;
	struct unix_address *addr;
} __attribute__((preserve_access_index));

static __always_inline struct sock *file_sock(struct file *f)
{
	if (!file_is_socket(f))
		return 0;
	struct socket *s = BPF_CORE_READ(f, private_data);
	if (!s)
		return 0;
	return BPF_CORE_READ(s, sk);
}

/* SOCKADDR parameter from a user sockaddr of ulen bytes. */
static __always_inline __u32 w_sockaddr(__u8 *buf, __u32 off, __u32 idx, const void *uaddr, __u64 ulen)
{
	off = CLAMP(off);
	__u16 family = 0;
	if (!uaddr || ulen < 2 || bpf_probe_read_user(&family, 2, uaddr) < 0)
		return w_empty(buf, off, idx);
	if (family == K_AF_INET) {
		struct sockaddr_in sin = {};
		bpf_probe_read_user(&sin, sizeof(sin), uaddr);
		buf[off] = 2;
		*(__u32 *)&buf[off + 1] = sin.sin_addr.s_addr;
		*(__u16 *)&buf[off + 5] = bpf_ntohs(sin.sin_port);
		set_len(buf, idx, 7);
		return off + 7;
	}
	if (family == K_AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		bpf_probe_read_user(&sin6, sizeof(sin6), uaddr);
		buf[off] = 10;
		__builtin_memcpy(&buf[off + 1], &sin6.sin6_addr, 16);
		*(__u16 *)&buf[off + 17] = bpf_ntohs(sin6.sin6_port);
		set_len(buf, idx, 19);
		return off + 19;
	}
	if (family == K_AF_UNIX) {
		buf[off] = 1;
		long n = bpf_probe_read_user_str(&buf[off + 1], 108, (const char *)uaddr + 2);
		if (n <= 0) {
			buf[off + 1] = 0;
			n = 1;
		}
		barrier_var(n);
		n &= 127;
		set_len(buf, idx, (__u16)(1 + n));
		return off + 1 + (__u32)n;
	}
	buf[off] = (__u8)family;
	set_len(buf, idx, 1);
	return off + 1;
}

/* SOCKTUPLE of the socket behind a file. udst/udlen: a user sockaddr to use as the remote end
 * when the kernel has none (a failed connect, sendto's destination, recvfrom's sender).
 * reverse: 0 local -> remote; 1 remote -> local (accept); SOCKTUPLE_INBOUND local -> remote,
 * except when the remote end comes from udst (a datagram's sender on an unconnected socket):
 * then sender -> local, the order Falco's drivers give an inbound tuple. */
#define SOCKTUPLE_INBOUND 2

static __always_inline __u32 w_socktuple(__u8 *buf, __u32 off, __u32 idx, struct file *f, int reverse,
					 const void *udst, __u64 udlen)
{
	off = CLAMP(off);
	struct sock *sk = file_sock(f);
	if (!sk)
		return w_empty(buf, off, idx);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == K_AF_INET) {
		__u32 laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		__u32 raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (raddr == 0 && udst && udlen >= sizeof(struct sockaddr_in)) {
			struct sockaddr_in sin = {};
			bpf_probe_read_user(&sin, sizeof(sin), udst);
			if (sin.sin_family == K_AF_INET) {
				raddr = sin.sin_addr.s_addr;
				rport = bpf_ntohs(sin.sin_port);
				if (reverse == SOCKTUPLE_INBOUND)
					reverse = 1;
			}
		}
		if (reverse == SOCKTUPLE_INBOUND)
			reverse = 0;
		buf[off] = 2;
		*(__u32 *)&buf[off + 1] = reverse ? raddr : laddr;
		*(__u16 *)&buf[off + 5] = reverse ? rport : lport;
		*(__u32 *)&buf[off + 7] = reverse ? laddr : raddr;
		*(__u16 *)&buf[off + 11] = reverse ? lport : rport;
		set_len(buf, idx, 13);
		return off + 13;
	}
	if (family == K_AF_INET6) {
		struct in6_addr l = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr r = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
		__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (r.in6_u.u6_addr32[0] == 0 && r.in6_u.u6_addr32[1] == 0 && r.in6_u.u6_addr32[2] == 0 &&
		    r.in6_u.u6_addr32[3] == 0 && udst && udlen >= sizeof(struct sockaddr_in6)) {
			struct sockaddr_in6 sin6 = {};
			bpf_probe_read_user(&sin6, sizeof(sin6), udst);
			if (sin6.sin6_family == K_AF_INET6) {
				r = sin6.sin6_addr;
				rport = bpf_ntohs(sin6.sin6_port);
				if (reverse == SOCKTUPLE_INBOUND)
					reverse = 1;
			}
		}
		if (reverse == SOCKTUPLE_INBOUND)
			reverse = 0;
		buf[off] = 10;
		__builtin_memcpy(&buf[off + 1], reverse ? &r : &l, 16);
		*(__u16 *)&buf[off + 17] = reverse ? rport : lport;
		__builtin_memcpy(&buf[off + 19], reverse ? &l : &r, 16);
		*(__u16 *)&buf[off + 35] = reverse ? lport : rport;
		set_len(buf, idx, 37);
		return off + 37;
	}
	if (family == K_AF_UNIX) {
		struct unix_sock___lanner *us = (void *)sk;
		struct sock *peer = BPF_CORE_READ(us, peer);
		buf[off] = 1;
		*(__u64 *)&buf[off + 1] = (__u64)sk;
		*(__u64 *)&buf[off + 9] = (__u64)peer;
		long n = -1;
		if (udst && udlen > 2 && reverse != SOCKTUPLE_INBOUND)
			n = bpf_probe_read_user_str(&buf[off + 17], 108, (const char *)udst + 2);
		if (n <= 1) {
			/* the path bound to either end of the connection */
			struct unix_address *ua = BPF_CORE_READ(us, addr);
			if (!ua && peer)
				ua = BPF_CORE_READ((struct unix_sock___lanner *)peer, addr);
			n = -1;
			if (ua)
				n = bpf_probe_read_kernel_str(&buf[off + 17], 108, &ua->name[0].sun_path);
		}
		if (n <= 0) {
			buf[off + 17] = 0;
			n = 1;
		}
		barrier_var(n);
		n &= 127;
		set_len(buf, idx, (__u16)(17 + n));
		return off + 17 + (__u32)n;
	}
	return w_empty(buf, off, idx);
}
