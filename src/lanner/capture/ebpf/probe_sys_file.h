/* Exit events of file, fd-table and mount syscalls (open*, close, pipe*, dup*, chdir, unlink*, mkdir*,
 * rename*, link*, symlink*, chmod*, mount, umount2, memfd_create, userfaultfd, fcntl, eventfd*,
 * signalfd*, timerfd_create, inotify_init*, epoll_create*, chroot, pidfd_open, pidfd_getfd).
 *
 * A global function: the verifier checks it once, on its own, instead of once per path through the
 * dispatcher. It builds the exit event in the CPU's scratch slot and returns its length (0: nothing
 * to send; the clone and execve helpers send their own event).
 */
#pragma once

__noinline int sys_exit_file(struct sys_call *c)
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
	case NR_memfd_create:
		off = ev_begin(buf, PPME_SYSCALL_MEMFD_CREATE_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		off = w_u32(buf, off, 2, a[1] & 7); /* MFD_CLOEXEC|ALLOW_SEALING|HUGETLB == PPM_MFD_* */
		break;
	case NR_fcntl: {
		/* kernel F_DUPFD = 0, F_DUPFD_CLOEXEC = 1030: filter before converting anything */
		if (lanner_g.syscall_enabled[NR_fcntl] == SEL_FD_ONLY && a[1] != 0 && a[1] != 1030)
			return 0;
		__u32 cmd = fcntl_cmd_to_ppm(a[1]);
		off = ev_begin(buf, PPME_SYSCALL_FCNTL_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u8(buf, off, 2, cmd);
		break;
	}
	/* fds of special kinds: the result is all the state needs (their type comes from the call) */
	case NR_eventfd:
	case NR_signalfd:
	case NR_timerfd_create:
	case NR_inotify_init:
	case NR_epoll_create:
	case NR_epoll_create1: {
		__u16 code = nr == NR_eventfd ? PPME_SYSCALL_EVENTFD_X
			     : nr == NR_signalfd ? PPME_SYSCALL_SIGNALFD_X
			     : nr == NR_timerfd_create ? PPME_SYSCALL_TIMERFD_CREATE_X
			     : nr == NR_inotify_init ? PPME_SYSCALL_INOTIFY_INIT_X
			     : nr == NR_epoll_create ? PPME_SYSCALL_EPOLL_CREATE_X
						     : PPME_SYSCALL_EPOLL_CREATE1_X;
		off = ev_begin(buf, code, 1, tid);
		off = w_u64(buf, off, 0, ret);
		break;
	}
	case NR_eventfd2:
	case NR_inotify_init1:
		/* EFD_ and IN_ CLOEXEC/NONBLOCK are the O_ bits (the low two, EFD_SEMAPHORE, are not access modes) */
		off = ev_begin(buf, nr == NR_eventfd2 ? PPME_SYSCALL_EVENTFD2_X : PPME_SYSCALL_INOTIFY_INIT1_X,
			       2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u16(buf, off, 1, open_flags_to_ppm((nr == NR_eventfd2 ? a[1] : a[0]) & ~3u) & ~PPM_O_RDONLY);
		break;
	case NR_signalfd4:
		off = ev_begin(buf, PPME_SYSCALL_SIGNALFD4_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u16(buf, off, 1, a[3]);
		break;
	case NR_chroot:
		off = ev_begin(buf, PPME_SYSCALL_CHROOT_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_user_str(buf, off, 1, (void *)a[0]);
		break;
	case NR_pidfd_open:
		off = ev_begin(buf, PPME_SYSCALL_PIDFD_OPEN_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u32(buf, off, 2, a[1]);
		break;
	case NR_pidfd_getfd:
		off = ev_begin(buf, PPME_SYSCALL_PIDFD_GETFD_X, 4, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u64(buf, off, 2, (__s64)(int)a[1]);
		off = w_u32(buf, off, 3, a[2]);
		break;
	case NR_userfaultfd:
		off = ev_begin(buf, PPME_SYSCALL_USERFAULTFD_X, 2, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u32(buf, off, 1, open_flags_to_ppm(a[0]) & ~PPM_O_RDONLY);
		break;
	default:
		return 0;
	}
	return off;
}
