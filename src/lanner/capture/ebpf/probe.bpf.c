// SPDX-License-Identifier: GPL-2.0-only
/* lanner's live probe: one scap-format EXIT event per selected syscall, plus procexit.
 *
 * Hooks (x86_64):
 *   - syscall exits, either raw tp_btf/sys_exit filtered by lanner_g.syscall_enabled[nr] ("raw" mode)
 *     or the per-syscall tracepoints syscalls/sys_exit_<name> attached only for the selected syscalls
 *     ("tracepoint" mode: unselected syscalls cost nothing). Both call the same handler; arguments are
 *     read from the task's saved user registers, so one exit event carries the arguments and the result.
 *   - sys_enter, loaded only when latency metrics are on (tp_btf/sys_enter in raw mode, the
 *     syscalls/sys_enter_<name> tracepoints of the selected syscalls in tracepoint mode): notes when a
 *     selected syscall began, and the exit handler then sends the syscall's enter event just before its
 *     exit (probe_enter.h).
 *   - tp_btf/sched_process_exec: a successful execve/execveat (the new image's argv, env and exe path are
 *     only readable there); failed ones come from the syscall exit.
 *   - tp_btf/sched_process_exit: procexit for every exiting thread.
 * Clone children emit their own clone exit event (res=0) from the syscall exit, which x86_64 runs for the
 * child too. Records go to one ring buffer with BPF_RB_NO_WAKEUP; userspace drains it on a timer.
 *
 * The exit handlers are global functions, one per syscall family (probe_sys_*.h): the verifier checks
 * each once on its own, which keeps the load time and the verified-instruction count low.
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

/* What a syscall exit handler gets: the number, the result and the six arguments. */
struct sys_call {
	__u64 nr;
	long ret;
	__u64 a[6];
};

#include "probe_sys_file.h"
#include "probe_sys_io.h"
#include "probe_sys_net.h"
#include "probe_sys_proc.h"
#include "probe_enter.h"

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

static __always_inline int handle_exit(__u64 nr, long ret, struct pt_regs *regs)
{
	__u64 enter_ts = lanner_g.latency_enabled ? take_enter_ts(nr) : 0;
	struct sys_call c = {.nr = nr, .ret = ret};
	read_args(regs, c.a);
	int len;
	switch (nr) {
	case NR_read:
	case NR_write:
	case NR_pread64:
	case NR_pwrite64:
	case NR_readv:
	case NR_writev:
	case NR_preadv:
	case NR_pwritev:
	case NR_preadv2:
	case NR_pwritev2:
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
		len = sys_exit_io(&c);
		break;
	case NR_sendmmsg:
	case NR_recvmmsg:
		sys_exit_mmsg(&c); /* one event per message, sent as they are built */
		len = 0;
		break;
	case NR_socket:
	case NR_bind:
	case NR_connect:
	case NR_listen:
	case NR_accept:
	case NR_accept4:
	case NR_socketpair:
		len = sys_exit_net(&c);
		break;
	case NR_clone:
	case NR_clone3:
	case NR_fork:
	case NR_vfork:
	case NR_execve:
	case NR_execveat:
	case NR_setuid:
	case NR_setgid:
	case NR_setresuid:
	case NR_setresgid:
	case NR_ptrace:
	case NR_kill:
	case NR_init_module:
	case NR_finit_module:
	case NR_unshare:
	case NR_setns:
	case NR_bpf:
	case NR_prctl:
	case NR_capset:
	case NR_setsid:
	case NR_setpgid:
		len = sys_exit_proc(&c);
		break;
	default:
		len = sys_exit_file(&c);
		break;
	}
	if (len <= 0)
		return 0;
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	if (enter_ts)
		emit_enter(enter_ts);
	ev_submit(buf, len);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(lanner_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 nr = regs->orig_ax;
	if (nr >= LANNER_MAX_SYSCALLS || !lanner_g.syscall_enabled[nr & (LANNER_MAX_SYSCALLS - 1)])
		return 0;
	if (!lanner_g.active || is_self())
		return 0;
	return handle_exit(nr, ret, regs);
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
	return handle_exit(nr, ctx->ret, (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()));
}

static __always_inline int note_enter(__u64 id)
{
	if (id >= LANNER_MAX_SYSCALLS || !lanner_g.syscall_enabled[id & (LANNER_MAX_SYSCALLS - 1)])
		return 0;
	if (!lanner_g.active || !lanner_g.latency_enabled || is_self())
		return 0;
	struct enter_note *note = bpf_task_storage_get(&lanner_enter_notes, bpf_get_current_task_btf(), 0,
						       BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (note) {
		note->ts = bpf_ktime_get_boot_ns();
		note->nr = id;
	}
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(lanner_sys_enter, struct pt_regs *regs, long id)
{
	return note_enter((__u64)id);
}

/* The record of the syscalls/sys_enter_<name> tracepoints (see their tracefs format file). */
struct syscall_enter_record {
	__u64 common;
	int nr;
};

/* Tracepoint mode with latency: attached to syscalls/sys_enter_<name> for each selected syscall. */
SEC("tracepoint")
int lanner_tp_sys_enter(struct syscall_enter_record *ctx)
{
	return note_enter((__u32)ctx->nr);
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
