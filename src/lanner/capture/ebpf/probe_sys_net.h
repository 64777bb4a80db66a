/* Exit events of socket set-up syscalls (socket, bind, connect, listen, accept*, socketpair).
 *
 * A global function: the verifier checks it once, on its own, instead of once per path through the
 * dispatcher. It builds the exit event in the CPU's scratch slot and returns its length (0: nothing
 * to send; the clone and execve helpers send their own event).
 */
#pragma once

__noinline int sys_exit_net(struct sys_call *c)
{
	if (!c)
		return 0;
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 nr = c->nr;
	long ret = c->ret;
	__u64 *a = c->a;
	__u32 off;

	switch (nr) {
	case NR_socket:
		off = ev_begin(buf, PPME_SOCKET_SOCKET_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, a[0]); /* AF_* == PPM_AF_* for the families that matter */
		off = w_u32(buf, off, 2, a[1]);
		off = w_u32(buf, off, 3, a[2]);
		break;
	case NR_bind: {
		off = ev_begin(buf, PPME_SOCKET_BIND_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		__u32 at = CLAMP(off);
		off = w_sockaddr(buf, off, 1, (void *)a[1], a[2]);
		/* Port 0 asks the kernel to choose: report the port it chose (the socket has it now),
		 * so a listener on an ephemeral port is named by its real port. */
		if (ret == 0) {
			__u8 family = buf[at];
			__u32 port_at = family == 2 ? CLAMP(at + 5) : family == 10 ? CLAMP(at + 17) : 0;
			struct sock *sk = port_at ? file_sock(task_fd_file(t, (int)a[0])) : 0;
			if (sk && *(__u16 *)&buf[port_at] == 0)
				*(__u16 *)&buf[port_at] = BPF_CORE_READ(sk, __sk_common.skc_num);
		}
		off = w_u64(buf, off, 2, (__s64)(int)a[0]);
		break;
	}
	case NR_connect: {
		struct file *f = task_fd_file(t, (int)a[0]);
		off = ev_begin(buf, PPME_SOCKET_CONNECT_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_socktuple(buf, off, 1, f, 0, (void *)a[1], a[2]);
		off = w_u64(buf, off, 2, (__s64)(int)a[0]);
		off = w_sockaddr(buf, off, 3, (void *)a[1], a[2]);
		break;
	}
	case NR_listen:
		off = ev_begin(buf, PPME_SOCKET_LISTEN_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u32(buf, off, 2, a[1]);
		break;
	case NR_accept:
	case NR_accept4: {
		struct file *f = ret >= 0 ? task_fd_file(t, ret) : 0;
		__u32 qlen = 0, qmax = 0;
		struct file *lf = task_fd_file(t, (int)a[0]);
		struct sock *lsk = file_sock(lf);
		if (lsk) {
			qlen = BPF_CORE_READ(lsk, sk_ack_backlog);
			qmax = BPF_CORE_READ(lsk, sk_max_ack_backlog);
		}
		__u8 pct = qmax ? (__u8)((qlen * 100) / qmax) : 0;
		off = ev_begin(buf, nr == NR_accept ? PPME_SOCKET_ACCEPT_5_X : PPME_SOCKET_ACCEPT4_6_X,
			       nr == NR_accept ? 5 : 6, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_socktuple(buf, off, 1, f, 1, 0, 0);
		off = w_u8(buf, off, 2, pct);
		off = w_u32(buf, off, 3, qlen);
		off = w_u32(buf, off, 4, qmax);
		if (nr == NR_accept4)
			off = w_u32(buf, off, 5, open_flags_to_ppm(a[3]) & ~PPM_O_RDONLY);
		break;
	}
	case NR_socketpair: {
		int fds[2] = {-1, -1};
		__u64 src = 0, peer = 0;
		if (ret == 0) {
			bpf_probe_read_user(fds, sizeof(fds), (void *)a[3]);
			struct sock *sk = file_sock(task_fd_file(t, fds[0]));
			if (sk) {
				src = (__u64)sk;
				peer = (__u64)BPF_CORE_READ((struct unix_sock___lanner *)sk, peer);
			}
		}
		off = ev_begin(buf, PPME_SOCKET_SOCKETPAIR_X, 8, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, fds[0]);
		off = w_u64(buf, off, 2, fds[1]);
		off = w_u64(buf, off, 3, src);
		off = w_u64(buf, off, 4, peer);
		off = w_u32(buf, off, 5, a[0]);
		off = w_u32(buf, off, 6, a[1]);
		off = w_u32(buf, off, 7, a[2]);
		break;
	}
	default:
		return 0;
	}
	return off;
}
