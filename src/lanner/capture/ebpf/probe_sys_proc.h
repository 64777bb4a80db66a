/* Exit events of process, credential and kernel-facing syscalls (clone*, fork, vfork, failed execve*,
 * set*id, ptrace, kill, *init_module, unshare, setns, bpf, prctl, capset).
 *
 * A global function: the verifier checks it once, on its own, instead of once per path through the
 * dispatcher. It builds the exit event in the CPU's scratch slot and returns its length (0: nothing
 * to send; the clone and execve helpers send their own event).
 */
#pragma once

__noinline int sys_exit_proc(struct sys_call *c)
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
	case NR_setsid:
		off = ev_begin(buf, PPME_SYSCALL_SETSID_X, 1, tid);
		off = w_u64(buf, off, 0, ret);
		break;
	case NR_setpgid: /* res, then the enter's pid and pgid (the modern exit layout) */
		off = ev_begin(buf, PPME_SYSCALL_SETPGID_X, 3, tid);
		off = w_u64(buf, off, 0, ret);
		off = w_u64(buf, off, 1, (__s64)(int)a[0]);
		off = w_u64(buf, off, 2, (__s64)(int)a[1]);
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
	return off;
}
