/* Process events: clone/fork/vfork/clone3 and execve/execveat exits (the big ones). */
#pragma once

/* ---- the costly parameters of the current task, as global functions ----
 * Each is verified once on its own; its caller continues with one unknown length instead of every
 * state the loops inside could end in, which would multiply the verification of everything after. */

__noinline __u32 g_exe_args(__u32 off, __u32 idx)
{
	__u8 *buf = scratch();
	if (!buf)
		return off;
	return w_exe_args(buf, off, idx, bpf_get_current_task_btf());
}

__noinline __u32 g_cgroups(__u32 off, __u32 idx)
{
	__u8 *buf = scratch();
	if (!buf)
		return off;
	return w_cgroups(buf, off, idx, bpf_get_current_task_btf());
}

__noinline __u32 g_env(__u32 off, __u32 idx)
{
	__u8 *buf = scratch();
	if (!buf)
		return off;
	return w_env(buf, off, idx, bpf_get_current_task_btf());
}

/* The current executable's absolute path (trusted_exepath). */
__noinline __u32 g_exe_path(__u32 off, __u32 idx)
{
	__u8 *buf = scratch();
	if (!buf)
		return off;
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	if (!exe)
		return w_empty(buf, off, idx);
	struct path p = BPF_CORE_READ(exe, f_path);
	return w_path(buf, off, idx, &p);
}

/* ---- the shared process block of clone and execve events ---- */

static __always_inline __u32 w_ids(__u8 *buf, __u32 off, __u32 idx, struct task_struct *t)
{
	/* tid, pid, ptid */
	off = w_u64(buf, off, idx, BPF_CORE_READ(t, pid));
	off = w_u64(buf, off, idx + 1, BPF_CORE_READ(t, tgid));
	return w_u64(buf, off, idx + 2, BPF_CORE_READ(t, real_parent, pid));
}

static __always_inline __u32 fd_dev(struct file *f)
{
	return encode_dev(BPF_CORE_READ(f, f_inode, i_sb, s_dev));
}

static __always_inline __u64 fd_ino(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_ino);
}

/* The clone flags of a clone3 CHILD, read from the kernel instead of user memory.
 *
 * clone3 passes its flags in a user struct clone_args. The parent's exit reads it safely (its stack is
 * untouched until it returns), but the child's exit runs after the parent may have returned: for a
 * thread (shared memory) the struct's stack slot is then reused and the read returns garbage (seen live:
 * every Python thread start showed CLONE_NEWUSER|CLONE_NEWNET|...). So the child's flags are derived by
 * comparing what it shares with its creator (the group leader for a thread, else the real parent):
 * address space, fd table, fs info, signal handlers, namespaces, user namespace, vfork completion and
 * clear-tid pointer. Flags with no trace in the child (SETTLS, PARENT_SETTID, PTRACE...) are not set. */
static __always_inline __u32 clone3_child_flags(struct task_struct *t)
{
	__u32 r = 0;
	struct task_struct *creator;
	if (BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid)) {
		r |= PPM_CL_CLONE_THREAD;
		creator = BPF_CORE_READ(t, group_leader);
	} else {
		creator = BPF_CORE_READ(t, real_parent);
	}
	if (!creator)
		return r;
	if (BPF_CORE_READ(t, mm) == BPF_CORE_READ(creator, mm))
		r |= PPM_CL_CLONE_VM;
	if (BPF_CORE_READ(t, files) == BPF_CORE_READ(creator, files))
		r |= PPM_CL_CLONE_FILES;
	if (BPF_CORE_READ(t, fs) == BPF_CORE_READ(creator, fs))
		r |= PPM_CL_CLONE_FS;
	if (BPF_CORE_READ(t, sighand) == BPF_CORE_READ(creator, sighand))
		r |= PPM_CL_CLONE_SIGHAND;
	if (BPF_CORE_READ(t, sysvsem.undo_list) &&
	    BPF_CORE_READ(t, sysvsem.undo_list) == BPF_CORE_READ(creator, sysvsem.undo_list))
		r |= PPM_CL_CLONE_SYSVSEM;
	if (BPF_CORE_READ(t, vfork_done))
		r |= PPM_CL_CLONE_VFORK;
	if (BPF_CORE_READ(t, clear_child_tid))
		r |= PPM_CL_CLONE_CHILD_CLEARTID;
	struct nsproxy *ns = BPF_CORE_READ(t, nsproxy);
	struct nsproxy *cns = BPF_CORE_READ(creator, nsproxy);
	if (ns && cns) {
		if (BPF_CORE_READ(ns, mnt_ns) != BPF_CORE_READ(cns, mnt_ns))
			r |= PPM_CL_CLONE_NEWNS;
		if (BPF_CORE_READ(ns, uts_ns) != BPF_CORE_READ(cns, uts_ns))
			r |= PPM_CL_CLONE_NEWUTS;
		if (BPF_CORE_READ(ns, ipc_ns) != BPF_CORE_READ(cns, ipc_ns))
			r |= PPM_CL_CLONE_NEWIPC;
		if (BPF_CORE_READ(ns, net_ns) != BPF_CORE_READ(cns, net_ns))
			r |= PPM_CL_CLONE_NEWNET;
		if (BPF_CORE_READ(ns, cgroup_ns) != BPF_CORE_READ(cns, cgroup_ns))
			r |= PPM_CL_CLONE_NEWCGROUP;
	}
	if (BPF_CORE_READ(t, thread_pid, level) != BPF_CORE_READ(creator, thread_pid, level))
		r |= PPM_CL_CLONE_NEWPID;
	if (BPF_CORE_READ(t, cred, user_ns) != BPF_CORE_READ(creator, cred, user_ns))
		r |= PPM_CL_CLONE_NEWUSER;
	return r;
}

/* clone/fork/vfork/clone3 exit: 21 params (res .. pidns_init_start_ts). */
static __noinline int ev_clone(__u8 *buf, __u16 code, long ret, __u32 ppm_flags)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 off = ev_begin(buf, code, 21, BPF_CORE_READ(t, pid));
	off = w_u64(buf, off, 0, ret);
	off = g_exe_args(off, 1);
	off = w_ids(buf, off, 3, t);
	off = w_empty(buf, off, 6); /* cwd: userspace */
	off = w_task_mem(buf, off, 7, t);
	off = g_cgroups(off, 14);
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(tp, level);
	if (level > 0)
		ppm_flags |= PPM_CL_CHILD_IN_PIDNS;
	off = w_u32(buf, off, 15, ppm_flags);
	off = w_u32(buf, off, 16, BPF_CORE_READ(t, cred, euid.val));
	off = w_u32(buf, off, 17, BPF_CORE_READ(t, cred, egid.val));
	/* vtid, vpid: ids in the task's own pid namespace */
	off = w_u64(buf, off, 18, pid_vnr(tp));
	off = w_u64(buf, off, 19, pid_vnr(BPF_CORE_READ(t, signal, pids[PIDTYPE_TGID])));
	off = w_u64(buf, off, 20, 0); /* pidns_init_start_ts: not captured */
	ev_submit(buf, off);
	return 0;
}

/* execve/execveat exit: 31 params (res .. gid, filename). A successful exec passes the kernel copy of
 * the path asked for (bprm->filename), a failed one the user pointer. */
static __noinline int ev_execve(__u8 *buf, __u16 code, long ret, const void *ufilename, const void *kfilename)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 off = ev_begin(buf, code, 31, BPF_CORE_READ(t, pid));
	off = w_u64(buf, off, 0, ret);
	if (ret == 0) {
		off = g_exe_args(off, 1);
	} else {
		/* failed exec: the old image is still there; exe = the path asked for, no args */
		off = w_user_str(buf, off, 1, ufilename);
		off = w_empty(buf, off, 2);
	}
	off = w_ids(buf, off, 3, t);
	off = w_empty(buf, off, 6); /* cwd: userspace */
	off = w_task_mem(buf, off, 7, t);
	off = g_cgroups(off, 14);
	off = g_env(off, 15);
	off = w_u32(buf, off, 16, task_tty(t));
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	struct pid *pgrp = BPF_CORE_READ(sig, pids[PIDTYPE_PGID]);
	off = w_u64(buf, off, 17, pid_vnr(pgrp));
	off = w_u32(buf, off, 18, BPF_CORE_READ(t, loginuid.val));
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	__u32 exe_flags = 0;
	__u64 ino = 0, ctime = 0, mtime = 0;
	if (exe) {
		struct inode *inode = BPF_CORE_READ(exe, f_inode);
		ino = BPF_CORE_READ(inode, i_ino);
		if (bpf_core_field_exists(inode->i_ctime_sec)) {
			ctime = BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ull + BPF_CORE_READ(inode, i_ctime_nsec);
			mtime = BPF_CORE_READ(inode, i_mtime_sec) * 1000000000ull + BPF_CORE_READ(inode, i_mtime_nsec);
		}
		if (BPF_CORE_READ(inode, i_nlink) == 0)
			exe_flags |= PPM_EXE_FROM_MEMFD; /* an unlinked (memfd / deleted) executable */
		if (BPF_CORE_READ(exe, f_mode) & K_FMODE_WRITE)
			exe_flags |= PPM_EXE_WRITABLE;
		/* On overlayfs (container roots), a file with an upper dentry was written after the
		 * container started: created or copied up into its writable layer. */
		if (BPF_CORE_READ(inode, i_sb, s_magic) == K_OVERLAYFS_SUPER_MAGIC) {
			struct ovl_inode *oi =
				(void *)((char *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode));
			if (BPF_CORE_READ(oi, __upperdentry))
				exe_flags |= PPM_EXE_UPPER_LAYER;
		}
	}
	off = w_u32(buf, off, 19, exe_flags);
	const struct cred *cred = BPF_CORE_READ(t, cred);
	off = w_u64(buf, off, 20, BPF_CORE_READ(cred, cap_inheritable.val));
	off = w_u64(buf, off, 21, BPF_CORE_READ(cred, cap_permitted.val));
	off = w_u64(buf, off, 22, BPF_CORE_READ(cred, cap_effective.val));
	off = w_u64(buf, off, 23, ino);
	off = w_u64(buf, off, 24, ctime);
	off = w_u64(buf, off, 25, mtime);
	off = w_u32(buf, off, 26, BPF_CORE_READ(cred, euid.val));
	off = g_exe_path(off, 27);
	off = w_u64(buf, off, 28, pid_nr0(pgrp));
	off = w_u32(buf, off, 29, BPF_CORE_READ(cred, egid.val));
	if (kfilename)
		off = w_kernel_str(buf, off, 30, kfilename);
	else
		off = w_user_str(buf, off, 30, ufilename);
	ev_submit(buf, off);
	return 0;
}
