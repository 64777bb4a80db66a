/* Exit events of data syscalls: read/write and their positional and vectored forms, send/recv.
 *
 * On sockets they carry the first snaplen bytes of the data (the protocol decoders need them); on
 * regular files they are sent only when file I/O metrics are on (lanner_g.file_io_enabled), without
 * data: the size and the result are what per-file bytes and operations need; with FILE_IO_DATA
 * (rules reading file I/O, captures of everything) with the first snaplen bytes too. Other fds (pipes,
 * ttys, ...) are not sent. Vectored calls gather their data from the iovecs in order.
 *
 * A global function: the verifier checks it once, on its own (see probe_sys_file.h).
 */
#pragma once

/* read/write/sendto/recvfrom/sendmsg/recvmsg data: the first snaplen bytes of the result. */
static __always_inline __u64 io_len(long ret)
{
	__u64 snap = lanner_g.snaplen;
	if (snap > MAX_STR)
		snap = MAX_STR;
	if (ret <= 0)
		return 0;
	return (__u64)ret < snap ? (__u64)ret : snap;
}

struct msghdr_user {
	void *name;
	int namelen;
	struct iovec *iov;
	__u64 iovlen;
	void *control;
	__u64 controllen;
	unsigned int flags;
};

struct mmsghdr_user {
	struct msghdr_user hdr;
	unsigned int len;
};

#define MAX_IOVCNT 1024 /* UIO_MAXIOV */
#define MAX_DATA_IOVECS 8 /* data is gathered from the first iovecs only (headers come first) */

struct iov_sum {
	const struct iovec *iov;
	__u64 iovcnt;
	__u64 total;
};

/* One step of the sum of the iov_len of every iovec (the size parameter). */
static long iov_sum_step(__u32 i, void *data)
{
	struct iov_sum *x = data;
	if (i >= x->iovcnt)
		return 1;
	__u64 len = 0;
	if (bpf_probe_read_user(&len, sizeof(len), &x->iov[i & (MAX_IOVCNT - 1)].iov_len))
		return 1;
	x->total += len;
	return 0;
}

/* Where g_iovec() leaves the sum of the iovecs' lengths: the last 8 bytes of the scratch slot, which
 * no event, path or enter event reaches. */
#define IOV_TOTAL_AT (SCRATCH_SIZE - 8)

/* A BYTEBUF parameter gathered from the first iovecs, at most `want` bytes; the sum of the lengths of
 * all the iovecs goes to IOV_TOTAL_AT. A global function (verified once, see probe_sys_file.h). */
__noinline __u32 g_iovec(__u32 off, __u32 idx, __u64 uiov, __u64 iovcnt, __u64 want)
{
	const struct iovec *iov = (const struct iovec *)uiov; /* a user address: a scalar to the verifier */
	__u8 *buf = scratch();
	if (!buf)
		return off;
	off = CLAMP(off);
	if (want > MAX_STR)
		want = MAX_STR;
	__u32 copied = 0;
	for (__u32 i = 0; i < MAX_DATA_IOVECS; i++) {
		if (!iov || i >= iovcnt || copied >= want)
			break;
		struct iovec v = {};
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		__u64 n = want - copied;
		if (n > v.iov_len)
			n = v.iov_len;
		__u32 len = (__u32)n & (MAX_STR * 2 - 1);
		if (len > MAX_STR)
			len = MAX_STR;
		/* both terms masked: the verifier bounds the sum (off < EVT_AREA, copied < want <= MAX_STR) */
		__u32 pos = off + (copied & (MAX_STR - 1));
		if (len && bpf_probe_read_user(&buf[pos], len, v.iov_base) < 0)
			break;
		copied += len;
	}
	struct iov_sum sum = {.iov = iov, .iovcnt = iovcnt};
	if (iov && iovcnt)
		bpf_loop(iovcnt < MAX_IOVCNT ? iovcnt : MAX_IOVCNT, iov_sum_step, &sum, 0);
	*(__u64 *)&buf[IOV_TOTAL_AT] = sum.total;
	copied &= (MAX_STR * 2 - 1);
	if (copied > MAX_STR)
		copied = MAX_STR;
	set_len(buf, idx & 31, (__u16)copied);
	return off + copied;
}

static __always_inline int file_is_regular(struct file *f)
{
	return f && (file_mode(f) & K_S_IFMT) == K_S_IFREG;
}

__noinline int sys_exit_io(struct sys_call *c)
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
	case NR_read:
	case NR_write:
	case NR_pread64:
	case NR_pwrite64:
	case NR_readv:
	case NR_writev:
	case NR_preadv:
	case NR_pwritev:
	case NR_preadv2: /* preadv/pwritev with flags: glibc's preadv/pwritev call them */
	case NR_pwritev2: {
		struct file *f = task_fd_file(t, (int)a[0]);
		__u64 snap = 0;
		if (file_is_socket(f))
			snap = io_len(ret);
		else if (!lanner_g.file_io_enabled || !file_is_regular(f))
			return 0;
		else if (lanner_g.file_io_enabled == FILE_IO_DATA)
			snap = io_len(ret);
		__u64 fd = (__s64)(int)a[0];
		if (nr == NR_read || nr == NR_write) {
			off = ev_begin(buf, nr == NR_read ? PPME_SYSCALL_READ_X : PPME_SYSCALL_WRITE_X, 4, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_user_bytes(buf, off, 1, (void *)a[1], snap);
			off = w_u64(buf, off, 2, fd);
			off = w_u32(buf, off, 3, a[2]);
		} else if (nr == NR_pread64 || nr == NR_pwrite64) {
			off = ev_begin(buf, nr == NR_pread64 ? PPME_SYSCALL_PREAD_X : PPME_SYSCALL_PWRITE_X, 5, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_user_bytes(buf, off, 1, (void *)a[1], snap);
			off = w_u64(buf, off, 2, fd);
			off = w_u32(buf, off, 3, a[2]);
			off = w_u64(buf, off, 4, a[3]);
		} else if (nr == NR_readv || nr == NR_preadv || nr == NR_preadv2) {
			/* res, size (sum of the iovecs' lengths, known once they are walked), data, fd[, pos] */
			off = ev_begin(buf, nr == NR_readv ? PPME_SYSCALL_READV_X : PPME_SYSCALL_PREADV_X,
				       nr == NR_readv ? 4 : 5, tid);
			off = w_u64(buf, off, 0, ret);
			__u32 size_at = CLAMP(off);
			off = w_u32(buf, off, 1, 0);
			off = g_iovec(off, 2, a[1], a[2], snap);
			*(__u32 *)&buf[size_at] = (__u32)*(__u64 *)&buf[IOV_TOTAL_AT];
			off = w_u64(buf, off, 3, fd);
			if (nr != NR_readv)
				off = w_u64(buf, off, 4, a[3]);
		} else {
			off = ev_begin(buf, nr == NR_writev ? PPME_SYSCALL_WRITEV_X : PPME_SYSCALL_PWRITEV_X,
				       nr == NR_writev ? 4 : 5, tid);
			off = w_u64(buf, off, 0, ret);
			off = g_iovec(off, 1, a[1], a[2], snap);
			off = w_u64(buf, off, 2, fd);
			off = w_u32(buf, off, 3, (__u32)*(__u64 *)&buf[IOV_TOTAL_AT]);
			if (nr != NR_writev)
				off = w_u64(buf, off, 4, a[3]);
		}
		break;
	}
	case NR_sendto:
	case NR_recvfrom: {
		struct file *f = task_fd_file(t, (int)a[0]);
		if (nr == NR_sendto) {
			off = ev_begin(buf, PPME_SOCKET_SENDTO_X, 5, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_user_bytes(buf, off, 1, (void *)a[1], io_len(ret));
			off = w_u64(buf, off, 2, (__s64)(int)a[0]);
			off = w_u32(buf, off, 3, a[2]);
			off = w_socktuple(buf, off, 4, f, 0, (void *)a[4], a[5]);
		} else {
			off = ev_begin(buf, PPME_SOCKET_RECVFROM_X, 5, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_user_bytes(buf, off, 1, (void *)a[1], io_len(ret));
			/* the sender, written by the kernel into the caller's src_addr (addrlen says how
			 * much): the only record of it for an unconnected datagram socket */
			__u32 alen = 0;
			if (ret >= 0 && a[4] && a[5])
				bpf_probe_read_user(&alen, sizeof(alen), (void *)a[5]);
			off = w_socktuple(buf, off, 2, f, SOCKTUPLE_INBOUND, alen ? (void *)a[4] : 0, alen);
			off = w_u64(buf, off, 3, (__s64)(int)a[0]);
			off = w_u32(buf, off, 4, a[2]);
		}
		break;
	}
	case NR_sendmsg:
	case NR_recvmsg: {
		struct file *f = task_fd_file(t, (int)a[0]);
		struct msghdr_user mh = {};
		struct iovec iov = {};
		bpf_probe_read_user(&mh, sizeof(mh), (void *)a[1]);
		if (mh.iov && mh.iovlen)
			bpf_probe_read_user(&iov, sizeof(iov), mh.iov);
		__u64 n = io_len(ret);
		if (n > iov.iov_len)
			n = iov.iov_len;
		if (nr == NR_sendmsg) {
			off = ev_begin(buf, PPME_SOCKET_SENDMSG_X, 5, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_user_bytes(buf, off, 1, iov.iov_base, n);
			off = w_u64(buf, off, 2, (__s64)(int)a[0]);
			off = w_u32(buf, off, 3, ret > 0 ? ret : 0);
			off = w_socktuple(buf, off, 4, f, 0, mh.name, mh.namelen);
		} else {
			off = ev_begin(buf, PPME_SOCKET_RECVMSG_X, 6, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_u32(buf, off, 1, ret > 0 ? ret : 0);
			off = w_user_bytes(buf, off, 2, iov.iov_base, n);
			off = w_socktuple(buf, off, 3, f, SOCKTUPLE_INBOUND, ret >= 0 ? mh.name : 0,
					  ret >= 0 ? mh.namelen : 0);
			off = w_empty(buf, off, 4); /* msgcontrol */
			off = w_u64(buf, off, 5, (__s64)(int)a[0]);
		}
		break;
	}	default:
		return 0;
	}
	return off;
}

/* sendmmsg/recvmmsg: one event per message the call moved, as Falco's modern probe writes them
 * (res and size: that message's length; data: its first iovec; tuple: from the socket, the
 * message's address standing for an unconnected socket's peer); MMSG_MAX messages at most. A call
 * that moved none sends one event with its result and empty data and tuple. */
#define MMSG_MAX 16

__noinline int g_mmsg_one(struct sys_call *c, __u32 i)
{
	if (!c)
		return 0;
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 tid = (__u32)bpf_get_current_pid_tgid();
	long ret = c->ret;
	int is_send = c->nr == NR_sendmmsg;
	struct mmsghdr_user mm = {};
	struct iovec iov = {};
	if (ret > 0) {
		bpf_probe_read_user(&mm, sizeof(mm), (void *)(c->a[1] + (__u64)(i & (MMSG_MAX - 1)) * sizeof(mm)));
		if (mm.hdr.iov && mm.hdr.iovlen)
			bpf_probe_read_user(&iov, sizeof(iov), mm.hdr.iov);
	}
	__u64 n = io_len(ret > 0 ? (long)mm.len : 0);
	if (n > iov.iov_len)
		n = iov.iov_len;
	__u32 off = ev_begin(buf, is_send ? PPME_SOCKET_SENDMMSG_X : PPME_SOCKET_RECVMMSG_X, is_send ? 5 : 6, tid);
	off = w_u64(buf, off, 0, ret > 0 ? (__u64)mm.len : (__u64)ret);
	off = w_u64(buf, off, 1, (__s64)(int)c->a[0]);
	off = w_u32(buf, off, 2, ret > 0 ? mm.len : 0);
	off = w_user_bytes(buf, off, 3, iov.iov_base, n);
	if (ret > 0)
		off = w_socktuple(buf, off, 4, task_fd_file(t, (int)c->a[0]), is_send ? 0 : SOCKTUPLE_INBOUND,
				  mm.hdr.name, mm.hdr.namelen);
	else
		off = w_empty(buf, off, 4);
	if (!is_send)
		off = w_empty(buf, off, 5); /* msgcontrol */
	ev_submit(buf, off);
	return 0;
}

static __always_inline void sys_exit_mmsg(struct sys_call *c)
{
	__u32 count = c->ret > 0 ? (__u32)c->ret : 1;
	for (__u32 i = 0; i < MMSG_MAX; i++) {
		if (i >= count)
			break;
		g_mmsg_one(c, i);
	}
}
