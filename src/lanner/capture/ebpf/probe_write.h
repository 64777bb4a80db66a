/* Building one scap event in the per-CPU scratch slot.
 *
 * ev_begin() writes the header and reserves the length table for a fixed number of parameters; each
 * w_*() writer appends one parameter at the cursor, records its length in the table and returns the
 * new cursor; ev_submit() copies the used bytes to the ring. Offsets are masked before every write so
 * the verifier can bound them: a cursor never exceeds EVT_AREA and one write never exceeds MAX_STR.
 */
#pragma once

#define CLAMP(off) ((off) & (EVT_AREA - 1))

static __always_inline void set_len(__u8 *buf, __u32 idx, __u16 len)
{
	*(__u16 *)&buf[HDR_LEN + 2 * (idx & 31)] = len;
}

static __always_inline __u32 ev_begin(__u8 *buf, __u16 code, __u32 nparams, __u64 tid)
{
	*(__u64 *)&buf[0] = bpf_ktime_get_boot_ns() + lanner_g.boot_to_epoch_ns;
	*(__u64 *)&buf[8] = tid;
	*(__u32 *)&buf[16] = 0;
	*(__u16 *)&buf[20] = code;
	*(__u32 *)&buf[22] = nparams;
	return HDR_LEN + 2 * nparams;
}

static __always_inline __u32 w_u8(__u8 *buf, __u32 off, __u32 idx, __u8 v)
{
	off = CLAMP(off);
	buf[off] = v;
	set_len(buf, idx, 1);
	return off + 1;
}

static __always_inline __u32 w_u16(__u8 *buf, __u32 off, __u32 idx, __u16 v)
{
	off = CLAMP(off);
	*(__u16 *)&buf[off] = v;
	set_len(buf, idx, 2);
	return off + 2;
}

static __always_inline __u32 w_u32(__u8 *buf, __u32 off, __u32 idx, __u32 v)
{
	off = CLAMP(off);
	*(__u32 *)&buf[off] = v;
	set_len(buf, idx, 4);
	return off + 4;
}

static __always_inline __u32 w_u64(__u8 *buf, __u32 off, __u32 idx, __u64 v)
{
	off = CLAMP(off);
	*(__u64 *)&buf[off] = v;
	set_len(buf, idx, 8);
	return off + 8;
}

static __always_inline __u32 w_empty(__u8 *buf, __u32 off, __u32 idx)
{
	set_len(buf, idx, 0);
	return off;
}

/* A NUL-terminated user string (CHARBUF/FSPATH); an unreadable pointer gives an empty parameter. */
static __always_inline __u32 w_user_str(__u8 *buf, __u32 off, __u32 idx, const void *uptr)
{
	off = CLAMP(off);
	long n = 0;
	if (uptr)
		n = bpf_probe_read_user_str(&buf[off], MAX_STR, uptr);
	if (n < 0)
		n = 0;
	barrier_var(n);
	n &= (MAX_STR * 2 - 1);
	set_len(buf, idx, (__u16)n);
	return off + (__u32)n;
}

static __always_inline __u32 w_kernel_str(__u8 *buf, __u32 off, __u32 idx, const void *kptr)
{
	off = CLAMP(off);
	long n = 0;
	if (kptr)
		n = bpf_probe_read_kernel_str(&buf[off], MAX_STR, kptr);
	if (n < 0)
		n = 0;
	barrier_var(n);
	n &= (MAX_STR * 2 - 1);
	set_len(buf, idx, (__u16)n);
	return off + (__u32)n;
}

/* Raw user bytes (BYTEBUF), at most MAX_STR. */
static __always_inline __u32 w_user_bytes(__u8 *buf, __u32 off, __u32 idx, const void *uptr, __u64 len)
{
	off = CLAMP(off);
	__u32 n = len > MAX_STR ? MAX_STR : (__u32)len;
	barrier_var(n);
	n &= (MAX_STR * 2 - 1);
	if (n > MAX_STR)
		n = MAX_STR;
	if (n && (!uptr || bpf_probe_read_user(&buf[off], n, uptr) < 0))
		n = 0;
	set_len(buf, idx, (__u16)n);
	return off + n;
}

static __always_inline void ev_submit(__u8 *buf, __u32 off)
{
	__u32 cpu = bpf_get_smp_processor_id() & (LANNER_MAX_CPUS - 1);
	__u32 len = off & (SCRATCH_SIZE - 1);
	if (len < HDR_LEN)
		return;
	*(__u32 *)&buf[16] = len;
	if (bpf_ringbuf_output(&lanner_ring, buf, len, BPF_RB_NO_WAKEUP)) {
		lanner_g.cpu[cpu & (LANNER_MAX_CPUS - 1)].drops++;
		return;
	}
	lanner_g.cpu[cpu & (LANNER_MAX_CPUS - 1)].events++;
	lanner_g.cpu[cpu & (LANNER_MAX_CPUS - 1)].bytes += len;
}
