// SPDX-License-Identifier: GPL-2.0-only
/* lanner's live probe: one scap-format EXIT event per selected syscall, plus procexit.
 *
 * Hooks (x86_64):
 *   - syscall exits, either raw tp_btf/sys_exit filtered by lanner_g.syscall_enabled[nr] ("raw" mode)
 *     or the per-syscall tracepoints syscalls/sys_exit_<name> attached only for the selected syscalls
 *     ("tracepoint" mode: unselected syscalls cost nothing). Both call the same handler; arguments are
 *     read from the task's saved user registers, so one exit event carries the arguments and the result.
 *   - tp_btf/sched_process_exec: a successful execve/execveat (the new image's argv, env and exe path are
 *     only readable there); failed ones come from the syscall exit.
 *   - tp_btf/sched_process_exit: procexit for every exiting thread.
 * Clone children emit their own clone exit event (res=0) from the syscall exit, which x86_64 runs for the
 * child too. Records go to one ring buffer with BPF_RB_NO_WAKEUP; userspace drains it on a timer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "lanner_probe.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024); /* resized by the loader */
} lanner_ring SEC(".maps");

/* One 64 KiB scratch slot per CPU (a PERCPU_ARRAY value is limited to 32 KiB). Tracing programs run
 * with migration disabled, so the slot of the current CPU is ours for the duration of the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LANNER_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u8[SCRATCH_SIZE]);
} lanner_scratch SEC(".maps");

struct lanner_globals lanner_g;

#include "probe_write.h"
#include "probe_task.h"
#include "probe_net.h"

static __always_inline __u8 *scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id() & (LANNER_MAX_CPUS - 1);
	__u32 key = cpu;
	__u8 *buf = bpf_map_lookup_elem(&lanner_scratch, &key);
	if (!buf)
		lanner_g.cpu[cpu & (LANNER_MAX_CPUS - 1)].scratch_fail++;
	return buf;
}

static __always_inline int is_self(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == lanner_g.self_tgid;
}

#include "probe_flags.h"
#include "probe_proc.h"

/* read/write/sendto/recvfrom/sendmsg/recvmsg data: only on sockets, first snaplen bytes. */
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

static __noinline int handle_exit(__u64 nr, long ret, __u64 *a)
{
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 off;

	switch (nr) {
	case NR_open:
	case NR_openat:
	case NR_openat2:
	case NR_creat: {
		struct file *f = ret >= 0 ? task_fd_file(t, ret) : 0;
		__u32 dev = f ? fd_dev(f) : 0;
		__u64 ino = f ? fd_ino(f) : 0;
		__u32 created = (f && (BPF_CORE_READ(f, f_mode) & K_FMODE_CREATED)) ? PPM_O_F_CREATED : 0;
		if (nr == NR_open) {
			off = ev_begin(buf, PPME_SYSCALL_OPEN_X, 6, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_user_str(buf, off, 1, (void *)a[0]);
			off = w_u32(buf, off, 2, open_flags_to_ppm(a[1]) | created);
			off = w_u32(buf, off, 3, a[2] & 07777);
			off = w_u32(buf, off, 4, dev);
			off = w_u64(buf, off, 5, ino);
		} else if (nr == NR_creat) {
			off = ev_begin(buf, PPME_SYSCALL_CREAT_X, 5, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_user_str(buf, off, 1, (void *)a[0]);
			off = w_u32(buf, off, 2, a[1] & 07777);
			off = w_u32(buf, off, 3, dev);
			off = w_u64(buf, off, 4, ino);
		} else if (nr == NR_openat) {
			off = ev_begin(buf, PPME_SYSCALL_OPENAT_2_X, 7, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_u64(buf, off, 1, (__s64)(int)a[0]);
			off = w_user_str(buf, off, 2, (void *)a[1]);
			off = w_u32(buf, off, 3, open_flags_to_ppm(a[2]) | created);
			off = w_u32(buf, off, 4, a[3] & 07777);
			off = w_u32(buf, off, 5, dev);
			off = w_u64(buf, off, 6, ino);
		} else {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (void *)a[2]);
			off = ev_begin(buf, PPME_SYSCALL_OPENAT2_X, 8, tid);
			off = w_u64(buf, off, 0, ret);
			off = w_u64(buf, off, 1, (__s64)(int)a[0]);
			off = w_user_str(buf, off, 2, (void *)a[1]);
			off = w_u32(buf, off, 3, open_flags_to_ppm(how.flags) | created);
			off = w_u32(buf, off, 4, how.mode & 07777);
			off = w_u32(buf, off, 5, how.resolve & 0x3f); /* RESOLVE_* bits == PPM_RESOLVE_* */
			off = w_u32(buf, off, 6, dev);
			off = w_u64(buf, off, 7, ino);
		}
		break;
	}
	case NR_close:
		off = ev_begin(buf, PPME_SYSCALL_CLOSE_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		break;
	case NR_read:
	case NR_write: {
		if (!file_is_socket(task_fd_file(t, (int)a[0])))
			return 0;
		off = ev_begin(buf, nr == NR_read ? PPME_SYSCALL_READ_X : PPME_SYSCALL_WRITE_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_bytes(buf, off, 1, (void *)a[1], io_len(ret));
		off = w_u64(buf, off, 2, (__s64)(int)a[0]);
		off = w_u32(buf, off, 3, a[2]);
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
			off = w_socktuple(buf, off, 2, f, 0, 0, 0);
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
			off = w_socktuple(buf, off, 3, f, 0, 0, 0);
			off = w_empty(buf, off, 4); /* msgcontrol */
			off = w_u64(buf, off, 5, (__s64)(int)a[0]);
		}
		break;
	}
	case NR_socket:
		off = ev_begin(buf, PPME_SOCKET_SOCKET_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, a[0]); /* AF_* == PPM_AF_* for the families that matter */
		off = w_u32(buf, off, 2, a[1]);
		off = w_u32(buf, off, 3, a[2]);
		break;
	case NR_bind:
		off = ev_begin(buf, PPME_SOCKET_BIND_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_sockaddr(buf, off, 1, (void *)a[1], a[2]);
		off = w_u64(buf, off, 2, (__s64)(int)a[0]);
		break;
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
	case NR_pipe:
	case NR_pipe2: {
		int fds[2] = {-1, -1};
		__u64 ino = 0;
		if (ret == 0) {
			bpf_probe_read_user(fds, sizeof(fds), (void *)a[0]);
			struct file *f = task_fd_file(t, fds[0]);
			if (f)
				ino = fd_ino(f);
		}
		off = ev_begin(buf, nr == NR_pipe ? PPME_SYSCALL_PIPE_X : PPME_SYSCALL_PIPE2_X,
			       nr == NR_pipe ? 4 : 5, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, fds[0]);
		off = w_u64(buf, off, 2, fds[1]);
		off = w_u64(buf, off, 3, ino);
		if (nr == NR_pipe2)
			off = w_u32(buf, off, 4, open_flags_to_ppm(a[1]) & ~PPM_O_RDONLY);
		break;
	}
	case NR_dup:
		off = ev_begin(buf, PPME_SYSCALL_DUP_1_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		break;
	case NR_dup2:
	case NR_dup3:
		off = ev_begin(buf, nr == NR_dup2 ? PPME_SYSCALL_DUP2_X : PPME_SYSCALL_DUP3_X,
			       nr == NR_dup2 ? 3 : 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u64(buf, off, 2, (__s64)(int)a[1]);
		if (nr == NR_dup3)
			off = w_u32(buf, off, 3, open_flags_to_ppm(a[2]) & ~PPM_O_RDONLY);
		break;
	case NR_clone:
	case NR_clone3:
	case NR_fork:
	case NR_vfork: {
		__u64 kflags = 0;
		__u16 code = PPME_SYSCALL_CLONE_20_X;
		if (nr == NR_clone) {
			kflags = a[0];
		} else if (nr == NR_clone3) {
			code = PPME_SYSCALL_CLONE3_X;
			if (ret == 0) /* the child: its parent may have reused the clone_args memory */
				return ev_clone(buf, code, ret, clone3_child_flags(t));
			/* the parent: clone_args.flags is the first u64 of the struct, still intact */
			bpf_probe_read_user(&kflags, sizeof(kflags), (void *)a[0]);
		} else if (nr == NR_fork) {
			code = PPME_SYSCALL_FORK_20_X;
		} else {
			kflags = K_CLONE_VM | K_CLONE_VFORK;
			code = PPME_SYSCALL_VFORK_20_X;
		}
		return ev_clone(buf, code, ret, clone_flags_to_ppm(kflags));
	}
	case NR_execve:
	case NR_execveat:
		if (ret == 0)
			return 0; /* successful: emitted from sched_process_exec */
		return ev_execve(buf, nr == NR_execve ? PPME_SYSCALL_EXECVE_19_X : PPME_SYSCALL_EXECVEAT_X, ret,
				 (void *)(nr == NR_execve ? a[0] : a[1]), 0);
	case NR_chdir:
		off = ev_begin(buf, PPME_SYSCALL_CHDIR_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		break;
	case NR_fchdir:
		off = ev_begin(buf, PPME_SYSCALL_FCHDIR_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		break;
	case NR_setuid:
	case NR_setgid:
		off = ev_begin(buf, nr == NR_setuid ? PPME_SYSCALL_SETUID_X : PPME_SYSCALL_SETGID_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, a[0]);
		break;
	case NR_setresuid:
	case NR_setresgid:
		off = ev_begin(buf, nr == NR_setresuid ? PPME_SYSCALL_SETRESUID_X : PPME_SYSCALL_SETRESGID_X, 4,
			       tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, a[0]);
		off = w_u32(buf, off, 2, a[1]);
		off = w_u32(buf, off, 3, a[2]);
		break;
	case NR_unlink:
	case NR_rmdir:
		off = ev_begin(buf, nr == NR_unlink ? PPME_SYSCALL_UNLINK_2_X : PPME_SYSCALL_RMDIR_2_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		break;
	case NR_unlinkat:
		off = ev_begin(buf, PPME_SYSCALL_UNLINKAT_2_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_user_str(buf, off, 2, (void *)a[1]);
		off = w_u32(buf, off, 3, a[2]); /* AT_REMOVEDIR == PPM_AT_REMOVEDIR */
		break;
	case NR_mkdir:
		off = ev_begin(buf, PPME_SYSCALL_MKDIR_2_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_u32(buf, off, 2, a[1]);
		break;
	case NR_mkdirat:
		off = ev_begin(buf, PPME_SYSCALL_MKDIRAT_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_user_str(buf, off, 2, (void *)a[1]);
		off = w_u32(buf, off, 3, a[2]);
		break;
	case NR_rename:
	case NR_link:
	case NR_symlink:
		off = ev_begin(buf, nr == NR_rename ? PPME_SYSCALL_RENAME_X
				    : nr == NR_link ? PPME_SYSCALL_LINK_2_X
						    : PPME_SYSCALL_SYMLINK_X,
			       3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_user_str(buf, off, 2, (void *)a[1]);
		break;
	case NR_renameat:
	case NR_renameat2:
	case NR_linkat: {
		__u16 code = nr == NR_renameat ? PPME_SYSCALL_RENAMEAT_X
			     : nr == NR_renameat2 ? PPME_SYSCALL_RENAMEAT2_X
						  : PPME_SYSCALL_LINKAT_2_X;
		off = ev_begin(buf, code, nr == NR_renameat ? 5 : 6, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_user_str(buf, off, 2, (void *)a[1]);
		off = w_u64(buf, off, 3, (__s64)(int)a[2]);
		off = w_user_str(buf, off, 4, (void *)a[3]);
		if (nr != NR_renameat)
			off = w_u32(buf, off, 5, a[4]); /* RENAME_* / AT_* bits == PPM bits */
		break;
	}
	case NR_symlinkat:
		off = ev_begin(buf, PPME_SYSCALL_SYMLINKAT_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_u64(buf, off, 2, (__s64)(int)a[1]);
		off = w_user_str(buf, off, 3, (void *)a[2]);
		break;
	case NR_chmod:
		off = ev_begin(buf, PPME_SYSCALL_CHMOD_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_u32(buf, off, 2, a[1] & 07777);
		break;
	case NR_fchmod:
		off = ev_begin(buf, PPME_SYSCALL_FCHMOD_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u32(buf, off, 2, a[1] & 07777);
		break;
	case NR_fchmodat:
		off = ev_begin(buf, PPME_SYSCALL_FCHMODAT_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_user_str(buf, off, 2, (void *)a[1]);
		off = w_u32(buf, off, 3, a[2] & 07777);
		break;
	case NR_ptrace:
		off = ev_begin(buf, PPME_SYSCALL_PTRACE_X, 5, tid);
		off = w_u64(buf, off, 0, ret);
		/* addr and data are DYN params: u8 index (0 = UINT64) + value */
		off = CLAMP(off);
		buf[off] = 0;
		*(__u64 *)&buf[CLAMP(off + 1)] = a[2];
		set_len(buf, 1, 9);
		off += 9;
		off = CLAMP(off);
		buf[off] = 0;
		*(__u64 *)&buf[CLAMP(off + 1)] = a[3];
		set_len(buf, 2, 9);
		off += 9;
		off = w_u16(buf, off, 3, ptrace_req_to_ppm(a[0]));
		off = w_u64(buf, off, 4, a[1]);
		break;
	case NR_kill:
		off = ev_begin(buf, PPME_SYSCALL_KILL_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u8(buf, off, 2, a[1]);
		break;
	case NR_init_module:
		off = ev_begin(buf, PPME_SYSCALL_INIT_MODULE_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_bytes(buf, off, 1, (void *)a[0], a[1] < lanner_g.snaplen ? a[1] : lanner_g.snaplen);
		off = w_u64(buf, off, 2, a[1]);
		off = w_user_str(buf, off, 3, (void *)a[2]);
		break;
	case NR_finit_module:
		off = ev_begin(buf, PPME_SYSCALL_FINIT_MODULE_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_user_str(buf, off, 2, (void *)a[1]);
		off = w_u32(buf, off, 3, a[2]);
		break;
	case NR_mount: {
		__u32 mflags = a[3];
		if ((mflags & 0xffff0000) == 0xC0ED0000) /* MS_MGC_VAL: old magic in the high bits */
			mflags &= 0xffff;
		off = ev_begin(buf, PPME_SYSCALL_MOUNT_X, 5, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_user_str(buf, off, 2, (void *)a[1]);
		off = w_user_str(buf, off, 3, (void *)a[2]);
		off = w_u32(buf, off, 4, mflags);
		break;
	}
	case NR_umount2:
		off = ev_begin(buf, PPME_SYSCALL_UMOUNT2_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_u32(buf, off, 2, a[1]);
		break;
	case NR_unshare:
		off = ev_begin(buf, PPME_SYSCALL_UNSHARE_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, clone_flags_to_ppm(a[0]));
		break;
	case NR_setns:
		off = ev_begin(buf, PPME_SYSCALL_SETNS_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u32(buf, off, 2, clone_flags_to_ppm(a[1]));
		break;
	case NR_memfd_create:
		off = ev_begin(buf, PPME_SYSCALL_MEMFD_CREATE_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_u32(buf, off, 2, a[1] & 7); /* MFD_CLOEXEC|ALLOW_SEALING|HUGETLB == PPM_MFD_* */
		break;
	case NR_userfaultfd:
		off = ev_begin(buf, PPME_SYSCALL_USERFAULTFD_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, open_flags_to_ppm(a[0]) & ~PPM_O_RDONLY);
		break;
	case NR_bpf:
		off = ev_begin(buf, PPME_SYSCALL_BPF_2_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, a[0]);
		break;
	case NR_prctl:
		off = ev_begin(buf, PPME_SYSCALL_PRCTL_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, a[0]);
		if (a[0] == 15 /* PR_SET_NAME */)
			off = w_user_str(buf, off, 2, (void *)a[1]);
		else
			off = w_empty(buf, off, 2);
		off = w_u64(buf, off, 3, a[1]);
		break;
	case NR_capset: {
		const struct cred *cred = BPF_CORE_READ(t, cred);
		off = ev_begin(buf, PPME_SYSCALL_CAPSET_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, BPF_CORE_READ(cred, cap_inheritable.val));
		off = w_u64(buf, off, 2, BPF_CORE_READ(cred, cap_permitted.val));
		off = w_u64(buf, off, 3, BPF_CORE_READ(cred, cap_effective.val));
		break;
	}
	default:
		return 0;
	}
	ev_submit(buf, off);
	return 0;
}

/* The syscall arguments from the task's saved user registers (x86_64: di, si, dx, r10, r8, r9). */
static __always_inline void read_args(struct pt_regs *regs, __u64 *a)
{
	/* r10, r9, r8, ax, cx, dx, si, di are contiguous in struct pt_regs: one read */
	__u64 blk[8] = {};
	bpf_probe_read_kernel(blk, sizeof(blk), &regs->r10);
	a[0] = blk[7];
	a[1] = blk[6];
	a[2] = blk[5];
	a[3] = blk[0];
	a[4] = blk[2];
	a[5] = blk[1];
}

SEC("tp_btf/sys_exit")
int BPF_PROG(lanner_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 nr = regs->orig_ax;
	if (nr >= LANNER_MAX_SYSCALLS || !lanner_g.syscall_enabled[nr & (LANNER_MAX_SYSCALLS - 1)])
		return 0;
	if (!lanner_g.active || is_self())
		return 0;
	__u64 a[6];
	read_args(regs, a);
	return handle_exit(nr, ret, a);
}

/* The record of the syscalls/sys_exit_<name> tracepoints (see their tracefs format file). */
struct syscall_exit_record {
	__u64 common;
	int nr;
	long ret;
};

/* Attached by the loader to syscalls/sys_exit_<name> for each selected syscall. */
SEC("tracepoint")
int lanner_tp_sys_exit(struct syscall_exit_record *ctx)
{
	__u64 nr = (__u32)ctx->nr;
	if (nr >= LANNER_MAX_SYSCALLS || !lanner_g.syscall_enabled[nr & (LANNER_MAX_SYSCALLS - 1)])
		return 0;
	if (!lanner_g.active || is_self())
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 a[6];
	read_args(regs, a);
	return handle_exit(nr, ctx->ret, a);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lanner_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!lanner_g.active || is_self())
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 nr = BPF_CORE_READ(regs, orig_ax);
	if (nr != NR_execve && nr != NR_execveat)
		nr = NR_execve;
	if (!lanner_g.syscall_enabled[nr & (LANNER_MAX_SYSCALLS - 1)])
		return 0;
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	return ev_execve(buf, nr == NR_execve ? PPME_SYSCALL_EXECVE_19_X : PPME_SYSCALL_EXECVEAT_X, 0, 0,
			 BPF_CORE_READ(bprm, filename));
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(lanner_procexit, struct task_struct *p)
{
	if (!lanner_g.active || !lanner_g.procexit_enabled || is_self())
		return 0;
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	int code = BPF_CORE_READ(t, exit_code);
	__u32 off = ev_begin(buf, PPME_PROCEXIT_1_E, 5, BPF_CORE_READ(t, pid));
	off = w_u64(buf, off, 0, code);
	off = w_u64(buf, off, 1, (code >> 8) & 0xff);
	off = w_u8(buf, off, 2, code & 0x7f);
	off = w_u8(buf, off, 3, (code & 0x80) ? 1 : 0);
	off = w_u64(buf, off, 4, 0); /* reaper_tid: resolved in userspace */
	ev_submit(buf, off);
	return 0;
}
