/* Reading process facts out of task_struct (CO-RE): ids, credentials, limits, memory, cgroups, exe path.
 *
 * What the probe fills and what it leaves to userspace (the state layer reads /proc for these):
 *   - cwd: left empty (walking fs->pwd for every exec/clone costs more than one /proc read at startup;
 *     the state layer tracks chdir/fchdir from then on).
 *   - exe_ino_ctime/mtime: filled from the inode; exe "flags": PPM_EXE_WRITABLE/FROM_MEMFD/UPPER_LAYER.
 *   - reaper_tid in procexit: 0 (the state layer re-parents orphans itself).
 */
#pragma once

struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node, __parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

static __always_inline __u64 task_tgid(struct task_struct *t)
{
	return BPF_CORE_READ(t, tgid);
}

/* The id of a task's pid struct as seen from its own (deepest) pid namespace. */
static __always_inline __u64 pid_vnr(struct pid *p)
{
	if (!p)
		return 0;
	unsigned int level = BPF_CORE_READ(p, level);
	return BPF_CORE_READ(p, numbers[level & 7].nr);
}

static __always_inline __u64 pid_nr0(struct pid *p)
{
	if (!p)
		return 0;
	return BPF_CORE_READ(p, numbers[0].nr);
}

static __always_inline __u64 task_fdlimit(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, rlim[K_RLIMIT_NOFILE].rlim_cur);
}

static __always_inline __u32 encode_dev(__u32 kdev)
{
	/* kernel dev_t (major << 20 | minor) -> the userspace encoding scap stores */
	__u32 major = kdev >> 20, minor = kdev & 0xfffff;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

static __always_inline __u32 task_tty(struct task_struct *t)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(tty, driver, major);
	int minor_start = BPF_CORE_READ(tty, driver, minor_start);
	__u32 kdev = ((__u32)major << 20) | (__u32)(minor_start + index);
	return encode_dev(kdev);
}

static __always_inline __u64 rss_count(struct mm_struct *mm, int i)
{
	long v = BPF_CORE_READ(mm, rss_stat[i & 3].count);
	return v > 0 ? (__u64)v : 0;
}

/* The shared tail of clone and execve exit events: fdlimit, page faults, memory, comm. */
static __always_inline __u32 w_task_mem(__u8 *buf, __u32 off, __u32 idx, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 vm_kb = 0, rss_kb = 0, swap_kb = 0;
	if (mm) {
		vm_kb = BPF_CORE_READ(mm, total_vm) << 2; /* pages -> KiB (4 KiB pages) */
		/* MM_FILEPAGES=0, MM_ANONPAGES=1, MM_SWAPENTS=2, MM_SHMEMPAGES=3 */
		rss_kb = (rss_count(mm, 0) + rss_count(mm, 1) + rss_count(mm, 3)) << 2;
		swap_kb = rss_count(mm, 2) << 2;
	}
	off = w_u64(buf, off, idx, task_fdlimit(t));
	off = w_u64(buf, off, idx + 1, BPF_CORE_READ(t, maj_flt));
	off = w_u64(buf, off, idx + 2, BPF_CORE_READ(t, min_flt));
	off = w_u32(buf, off, idx + 3, (__u32)vm_kb);
	off = w_u32(buf, off, idx + 4, (__u32)rss_kb);
	off = w_u32(buf, off, idx + 5, (__u32)swap_kb);
	off = CLAMP(off);
	long n = bpf_probe_read_kernel_str(&buf[off], 16, &t->comm);
	if (n < 0)
		n = 0;
	barrier_var(n);
	n &= 31;
	set_len(buf, idx + 6, (__u16)n);
	return off + (__u32)n;
}

/* exe (argv[0]) and args (the rest of the NUL-separated argv block) from the task's mm. */
static __always_inline __u32 w_exe_args(__u8 *buf, __u32 off, __u32 idx, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	unsigned long as = 0, ae = 0;
	if (mm) {
		as = BPF_CORE_READ(mm, arg_start);
		ae = BPF_CORE_READ(mm, arg_end);
	}
	if (!mm || ae <= as) {
		off = w_empty(buf, off, idx);
		return w_empty(buf, off, idx + 1);
	}
	__u32 start = CLAMP(off);
	off = w_user_str(buf, off, idx, (const void *)as);
	__u32 first = off - start;
	__u64 total = ae - as;
	__u64 rest = total > first ? total - first : 0;
	if (rest > MAX_ARGS_LEN)
		rest = MAX_ARGS_LEN;
	return w_user_bytes(buf, off, idx + 1, (const void *)(as + first), rest);
}

static __always_inline __u32 w_env(__u8 *buf, __u32 off, __u32 idx, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	if (!mm)
		return w_empty(buf, off, idx);
	unsigned long es = BPF_CORE_READ(mm, env_start), ee = BPF_CORE_READ(mm, env_end);
	__u64 n = ee > es ? ee - es : 0;
	if (n > MAX_ARGS_LEN)
		n = MAX_ARGS_LEN;
	return w_user_bytes(buf, off, idx, (const void *)es, n);
}

/* cgroups: "subsys=/path\0" for each v1 hierarchy (or the v2 one), as scap stores them.
 * One bpf_loop() iteration per subsystem: the callback is verified once, not once per subsystem. */
struct cgroups_ctx {
	__u8 *buf;
	struct css_set *cs;
	__u32 off;
	__u32 start;
};

struct kn_ctx {
	__u8 *buf;
	struct kernfs_node *kn;
	__u32 pos;
};

static long kn_step(__u32 i, void *data)
{
	struct kn_ctx *k = data;
	__u8 *buf = k->buf;
	struct kernfs_node *kn = k->kn;
	if (!kn)
		return 1;
	struct kernfs_node *parent = kn_parent(kn);
	if (!parent)
		return 1; /* the hierarchy's root: not part of the path */
	k->kn = parent;
	const char *name = BPF_CORE_READ(kn, name);
	long n = bpf_probe_read_kernel_str(&buf[TMP_BASE], 256, name);
	if (n <= 1)
		return 0;
	__u32 len = (__u32)(n - 1) & 255;
	__u32 pos = k->pos;
	if (pos < len + 300 || pos >= TMP_SIZE)
		return 1;
	pos -= len;
	bpf_probe_read_kernel(&buf[TMP_BASE + (pos & (TMP_SIZE - 1))], len, name);
	pos--;
	buf[TMP_BASE + (pos & (TMP_SIZE - 1))] = '/';
	k->pos = pos;
	return 0;
}

static long cgroup_one(__u32 i, void *data)
{
	struct cgroups_ctx *c = data;
	__u8 *buf = c->buf;
	if (i >= CGROUP_SUBSYS_COUNT || c->off - c->start > MAX_CGROUPS_LEN)
		return 1;
	struct css_set *cs = c->cs;
	struct cgroup_subsys_state *css = BPF_CORE_READ(cs, subsys[i & 15]);
	if (!css)
		return 0;
	/* the path, built backwards at the end of the TMP area, one bpf_loop() step per level */
	struct kn_ctx k = {.buf = buf, .kn = BPF_CORE_READ(css, cgroup, kn), .pos = TMP_SIZE - 1};
	buf[TMP_BASE + TMP_SIZE - 1] = 0;
	bpf_loop(MAX_CGROUP_DEPTH, kn_step, &k, 0);
	__u32 pos = k.pos;
	if (pos == TMP_SIZE - 1) {
		pos--;
		buf[TMP_BASE + (pos & (TMP_SIZE - 1))] = '/';
	}
	__u32 off = CLAMP(c->off);
	long n = bpf_probe_read_kernel_str(&buf[off], 32, BPF_CORE_READ(css, ss, legacy_name));
	if (n <= 1)
		return 0;
	barrier_var(n);
	n &= 63;
	off += (__u32)n - 1; /* the NUL becomes '=' */
	off = CLAMP(off);
	buf[off] = '=';
	off = CLAMP(off + 1);
	long m = bpf_probe_read_kernel_str(&buf[off], MAX_STR, &buf[TMP_BASE + (pos & (TMP_SIZE - 1))]);
	if (m <= 0)
		m = 0;
	barrier_var(m);
	m &= (MAX_STR * 2 - 1);
	c->off = off + (__u32)m;
	return 0;
}

static __noinline __u32 w_cgroups(__u8 *buf, __u32 off, __u32 idx, struct task_struct *t)
{
	struct cgroups_ctx c = {
		.buf = buf,
		.cs = BPF_CORE_READ(t, cgroups),
		.off = CLAMP(off),
		.start = CLAMP(off),
	};
	bpf_loop(CGROUP_SUBSYS_COUNT, cgroup_one, &c, 0);
	set_len(buf, idx, (__u16)(c.off - c.start));
	return c.off;
}

/* Absolute path of a struct path, walking dentries up to the global root and across mounts;
 * built backwards in the scratch TMP area (one bpf_loop() step per component), then copied as a
 * parameter. */
struct path_ctx {
	__u8 *buf;
	struct dentry *d;
	struct mount *mnt;
	__u32 pos;
};

static long path_step(__u32 i, void *data)
{
	struct path_ctx *c = data;
	__u8 *buf = c->buf;
	struct dentry *d = c->d;
	struct mount *mnt = c->mnt;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	struct dentry *mroot = BPF_CORE_READ(mnt, mnt.mnt_root);
	if (d == mroot || d == parent) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt || !mp)
			return 1; /* the global root */
		c->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = mp;
		return 0;
	}
	__u32 len = BPF_CORE_READ(d, d_name.len) & 255;
	__u32 pos = c->pos;
	if (pos < len + 2 || pos >= TMP_SIZE)
		return 1;
	pos -= len;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	bpf_probe_read_kernel(&buf[TMP_BASE + (pos & (TMP_SIZE - 1))], len, name);
	pos--;
	buf[TMP_BASE + (pos & (TMP_SIZE - 1))] = '/';
	c->pos = pos;
	c->d = parent;
	return 0;
}

static __noinline __u32 w_path(__u8 *buf, __u32 off, __u32 idx, struct path *p)
{
	struct dentry *d = BPF_CORE_READ(p, dentry);
	struct vfsmount *vm = BPF_CORE_READ(p, mnt);
	if (!d || !vm)
		return w_empty(buf, off, idx);
	buf[TMP_BASE + TMP_SIZE - 1] = 0;
	struct path_ctx c = {
		.buf = buf,
		.d = d,
		.mnt = container_of(vm, struct mount, mnt),
		.pos = TMP_SIZE - 1,
	};
	bpf_loop(MAX_PATH_COMPONENTS, path_step, &c, 0);
	__u32 pos = c.pos;
	if (pos == TMP_SIZE - 1) {
		pos--;
		buf[TMP_BASE + (pos & (TMP_SIZE - 1))] = '/';
	}
	return w_kernel_str(buf, off, idx, &buf[TMP_BASE + (pos & (TMP_SIZE - 1))]);
}

static __always_inline struct file *task_fd_file(struct task_struct *t, __s64 fd)
{
	if (fd < 0)
		return 0;
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	if ((__u64)fd >= max)
		return 0;
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd & 0xfffff]);
	return f;
}

static __always_inline __u32 file_mode(struct file *f)
{
	return BPF_CORE_READ(f, f_inode, i_mode);
}

static __always_inline int file_is_socket(struct file *f)
{
	return f && (file_mode(f) & K_S_IFMT) == K_S_IFSOCK;
}
