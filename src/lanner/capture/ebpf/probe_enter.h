/* Syscall latency: the enter time of each selected syscall, and the enter event sent before its exit.
 *
 * When latency metrics are on, tp_btf/sys_enter notes (syscall number, time) in the task's local
 * storage for the selected syscalls only. At the exit, the handler rebuilds the syscall's enter event
 * (code - 1) with that time from the exit event it has just built -- a modern exit carries every
 * enter parameter under the same name, and the loader tells which exit parameter feeds which enter
 * one (lanner_g.enter_layout) -- and sends it just before the exit. The stream stays plain scap: an
 * enter/exit pair as sysdig and libsinsp read it, so the exit minus enter timestamp is the latency.
 */
#pragma once

struct enter_note {
	__u64 ts;
	__u64 nr; /* the syscall it belongs to; ~0 once used */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct enter_note);
} lanner_enter_notes SEC(".maps");

/* The enter time noted for this syscall by this task, or 0 (none: a clone child, a syscall that began
 * before latency was switched on). */
static __always_inline __u64 take_enter_ts(__u64 nr)
{
	struct enter_note *note = bpf_task_storage_get(&lanner_enter_notes, bpf_get_current_task_btf(), 0, 0);
	if (!note || note->nr != nr)
		return 0;
	note->nr = ~0ull;
	return note->ts;
}

/* Build the enter event of the exit event at the start of the scratch slot and send it. */
__noinline int emit_enter(__u64 enter_ts)
{
	__u8 *buf = scratch();
	if (!buf || !enter_ts)
		return 0;
	__u16 code = *(__u16 *)&buf[20];
	struct lanner_enter_layout *lay = &lanner_g.enter_layout[code & (LANNER_MAX_CODES - 1)];
	if (!lay->emit)
		return 0;
	__u32 n = lay->nparams;
	if (n > ENTER_MAX_PARAMS)
		return 0;
	__u32 exit_n = *(__u32 *)&buf[22];
	if (exit_n > ENTER_MAX_EXIT_PARAMS)
		return 0;
	/* where each exit parameter starts */
	__u16 starts[ENTER_MAX_EXIT_PARAMS] = {};
	__u32 pos = HDR_LEN + 2 * exit_n;
	for (__u32 i = 0; i < ENTER_MAX_EXIT_PARAMS; i++) {
		if (i >= exit_n)
			break;
		starts[i] = pos;
		pos = (pos + *(__u16 *)&buf[HDR_LEN + 2 * i]) & (SCRATCH_SIZE - 1);
	}
	__u8 *e = &buf[ENTER_BASE];
	*(__u64 *)&e[0] = enter_ts + lanner_g.boot_to_epoch_ns;
	*(__u64 *)&e[8] = *(__u64 *)&buf[8];
	*(__u16 *)&e[20] = code - 1;
	*(__u32 *)&e[22] = n;
	__u32 eoff = HDR_LEN + 2 * n;
	for (__u32 k = 0; k < ENTER_MAX_PARAMS; k++) {
		if (k >= n)
			break;
		__u32 j = lay->src[k] & (ENTER_MAX_EXIT_PARAMS - 1);
		__u32 len = 0;
		if (j < exit_n) {
			len = *(__u16 *)&buf[HDR_LEN + 2 * j];
			if (len > MAX_STR)
				len = MAX_STR;
			eoff &= (ENTER_AREA - 1);
			bpf_probe_read_kernel(&e[eoff], len, &buf[starts[j] & (SCRATCH_SIZE - 1)]);
		}
		*(__u16 *)&e[HDR_LEN + 2 * k] = len;
		eoff += len;
	}
	if (eoff >= ENTER_AREA)
		return 0;
	*(__u32 *)&e[16] = eoff;
	__u32 cpu = bpf_get_smp_processor_id() & (LANNER_MAX_CPUS - 1);
	if (bpf_ringbuf_output(&lanner_ring, e, eoff, BPF_RB_NO_WAKEUP)) {
		lanner_g.cpu[cpu].drops++;
		return 0;
	}
	lanner_g.cpu[cpu].events++;
	lanner_g.cpu[cpu].bytes += eoff;
	return 0;
}
