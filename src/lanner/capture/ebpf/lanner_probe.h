/* lanner eBPF probe: constants shared by the probe sources.
 *
 * Records are scap events (the .scap EVENT layout): a packed 26-byte header
 * {u64 ts; u64 tid; u32 len; u16 type; u32 nparams}, nparams u16 lengths, then the parameter bytes.
 * Event codes, flag bits and parameter orders are facts of the sysdig/Falco event table
 * (ppm_events_public.h / event_table.c, libs >= 0.22 "exit events carry everything" layouts).
 * The Python side mirrors struct lanner_globals in lanner/capture/ebpf/layout.py; keep both in step.
 */
#pragma once

/* ---- scratch buffer geometry ---- */
#define SCRATCH_SIZE 65536        /* one event is built per CPU in a 64 KiB slot of an ARRAY map */
#define EVT_AREA 32768            /* every parameter starts below this offset ... */
#define MAX_STR 4096              /* ... and one write is at most this long: 32768+4096 < TMP_BASE */
#define TMP_BASE 40960            /* scratch area for paths built backwards (exe path) */
#define TMP_SIZE 16384
#define HDR_LEN 26
#define MAX_ARGS_LEN 4096         /* argv and env blocks, like scap's SCAP_MAX_ARGS_SIZE */
#define MAX_PATH_COMPONENTS 24
#define MAX_CGROUP_DEPTH 10
#define MAX_CGROUPS_LEN 4096

#define LANNER_MAX_SYSCALLS 512
#define LANNER_MAX_CPUS 256
#define LANNER_MAX_CODES 512      /* event codes the enter-layout table covers */
#define ENTER_MAX_PARAMS 6
#define ENTER_MAX_EXIT_PARAMS 8  /* enter events are built only for exits of at most 8 parameters */
#define ENTER_BASE TMP_BASE       /* a synthesized enter event is built here, after its exit event */
#define ENTER_AREA 16384

/* ---- PPM event codes (exit layouts emitted by the probe) ---- */
#define PPME_SYSCALL_OPEN_X 3
#define PPME_SYSCALL_CLOSE_X 5
#define PPME_SYSCALL_READ_X 7
#define PPME_SYSCALL_WRITE_X 9
#define PPME_SOCKET_SOCKET_X 19
#define PPME_SOCKET_BIND_X 21
#define PPME_SOCKET_CONNECT_X 23
#define PPME_SOCKET_LISTEN_X 25
#define PPME_SOCKET_SENDTO_X 31
#define PPME_SOCKET_RECVFROM_X 35
#define PPME_SOCKET_SOCKETPAIR_X 43
#define PPME_SOCKET_SENDMSG_X 49
#define PPME_SOCKET_SENDMMSG_X 51
#define PPME_SOCKET_RECVMSG_X 53
#define PPME_SOCKET_RECVMMSG_X 55
#define PPME_SYSCALL_CREAT_X 59
#define PPME_SYSCALL_PIPE_X 61
#define PPME_SYSCALL_CHDIR_X 95
#define PPME_SYSCALL_FCHDIR_X 97
#define PPME_SYSCALL_PREAD_X 113
#define PPME_SYSCALL_PWRITE_X 115
#define PPME_SYSCALL_READV_X 117
#define PPME_SYSCALL_WRITEV_X 119
#define PPME_SYSCALL_PREADV_X 121
#define PPME_SYSCALL_PWRITEV_X 123
#define PPME_SYSCALL_KILL_X 129
#define PPME_SYSCALL_PTRACE_X 169
#define PPME_SYSCALL_RENAME_X 175
#define PPME_SYSCALL_RENAMEAT_X 177
#define PPME_SYSCALL_SYMLINK_X 179
#define PPME_SYSCALL_SYMLINKAT_X 181
#define PPME_PROCEXIT_1_E 186
#define PPME_SYSCALL_SETRESUID_X 193
#define PPME_SYSCALL_SETRESGID_X 195
#define PPME_SYSCALL_SETUID_X 199
#define PPME_SYSCALL_SETGID_X 201
#define PPME_SYSCALL_CLONE_20_X 223
#define PPME_SYSCALL_FORK_20_X 225
#define PPME_SYSCALL_VFORK_20_X 227
#define PPME_SYSCALL_SETNS_X 241
#define PPME_SOCKET_ACCEPT_5_X 247
#define PPME_SYSCALL_MOUNT_X 257
#define PPME_SYSCALL_MKDIR_2_X 277
#define PPME_SYSCALL_RMDIR_2_X 279
#define PPME_SYSCALL_UNSHARE_X 285
#define PPME_SYSCALL_EXECVE_19_X 293
#define PPME_SYSCALL_UNLINK_2_X 301
#define PPME_SYSCALL_UNLINKAT_2_X 303
#define PPME_SYSCALL_MKDIRAT_X 305
#define PPME_SYSCALL_OPENAT_2_X 307
#define PPME_SYSCALL_LINK_2_X 309
#define PPME_SYSCALL_LINKAT_2_X 311
#define PPME_SYSCALL_FCHMODAT_X 313
#define PPME_SYSCALL_CHMOD_X 315
#define PPME_SYSCALL_FCHMOD_X 317
#define PPME_SYSCALL_RENAMEAT2_X 319
#define PPME_SYSCALL_USERFAULTFD_X 321
#define PPME_SYSCALL_OPENAT2_X 327
#define PPME_SYSCALL_EXECVEAT_X 331
#define PPME_SYSCALL_CLONE3_X 335
#define PPME_SYSCALL_CAPSET_X 353
#define PPME_SYSCALL_DUP2_X 363
#define PPME_SYSCALL_DUP3_X 365
#define PPME_SYSCALL_DUP_1_X 367
#define PPME_SYSCALL_BPF_2_X 369
#define PPME_SOCKET_ACCEPT4_6_X 389
#define PPME_SYSCALL_UMOUNT2_X 391
#define PPME_SYSCALL_PIPE2_X 393
#define PPME_SYSCALL_PRCTL_X 401
#define PPME_SYSCALL_MEMFD_CREATE_X 405
#define PPME_SYSCALL_INIT_MODULE_X 411
#define PPME_SYSCALL_FINIT_MODULE_X 413
#define PPME_SYSCALL_EVENTFD_X 63
#define PPME_SYSCALL_SIGNALFD_X 127
#define PPME_SYSCALL_TIMERFD_CREATE_X 137
#define PPME_SYSCALL_INOTIFY_INIT_X 139
#define PPME_SYSCALL_FCNTL_X 151
#define PPME_SYSCALL_CHROOT_X 267
#define PPME_SYSCALL_SETSID_X 275
#define PPME_SYSCALL_SETPGID_X 295
#define PPME_SYSCALL_EPOLL_CREATE_X 375
#define PPME_SYSCALL_EPOLL_CREATE1_X 377
#define PPME_SYSCALL_INOTIFY_INIT1_X 395
#define PPME_SYSCALL_EVENTFD2_X 397
#define PPME_SYSCALL_SIGNALFD4_X 399
#define PPME_SYSCALL_PIDFD_GETFD_X 407
#define PPME_SYSCALL_PIDFD_OPEN_X 409

/* ---- PPM flag bits that differ from the kernel's ---- */
#define PPM_O_RDONLY (1 << 0)
#define PPM_O_WRONLY (1 << 1)
#define PPM_O_RDWR (PPM_O_RDONLY | PPM_O_WRONLY)
#define PPM_O_CREAT (1 << 2)
#define PPM_O_APPEND (1 << 3)
#define PPM_O_DSYNC (1 << 4)
#define PPM_O_EXCL (1 << 5)
#define PPM_O_NONBLOCK (1 << 6)
#define PPM_O_SYNC (1 << 7)
#define PPM_O_TRUNC (1 << 8)
#define PPM_O_DIRECT (1 << 9)
#define PPM_O_DIRECTORY (1 << 10)
#define PPM_O_LARGEFILE (1 << 11)
#define PPM_O_CLOEXEC (1 << 12)
#define PPM_O_TMPFILE (1 << 13)
#define PPM_O_F_CREATED (1 << 14)

#define PPM_CL_CLONE_FILES (1 << 0)
#define PPM_CL_CLONE_FS (1 << 1)
#define PPM_CL_CLONE_IO (1 << 2)
#define PPM_CL_CLONE_NEWIPC (1 << 3)
#define PPM_CL_CLONE_NEWNET (1 << 4)
#define PPM_CL_CLONE_NEWNS (1 << 5)
#define PPM_CL_CLONE_NEWPID (1 << 6)
#define PPM_CL_CLONE_NEWUTS (1 << 7)
#define PPM_CL_CLONE_PARENT (1 << 8)
#define PPM_CL_CLONE_PARENT_SETTID (1 << 9)
#define PPM_CL_CLONE_PTRACE (1 << 10)
#define PPM_CL_CLONE_SIGHAND (1 << 11)
#define PPM_CL_CLONE_SYSVSEM (1 << 12)
#define PPM_CL_CLONE_THREAD (1 << 13)
#define PPM_CL_CLONE_UNTRACED (1 << 14)
#define PPM_CL_CLONE_VM (1 << 15)
#define PPM_CL_CLONE_NEWUSER (1 << 20)
#define PPM_CL_CLONE_CHILD_CLEARTID (1 << 23)
#define PPM_CL_CLONE_CHILD_SETTID (1 << 24)
#define PPM_CL_CLONE_SETTLS (1 << 25)
#define PPM_CL_CLONE_VFORK (1 << 27)
#define PPM_CL_CLONE_NEWCGROUP (1 << 28)
#define PPM_CL_CHILD_IN_PIDNS (1 << 29)

#define PPM_EXE_WRITABLE (1 << 0)
#define PPM_EXE_UPPER_LAYER (1 << 1)
#define PPM_EXE_FROM_MEMFD (1 << 2)
#define K_OVERLAYFS_SUPER_MAGIC 0x794c7630

/* ---- kernel constants not in vmlinux.h (x86_64 ABI) ---- */
#define K_O_WRONLY 01
#define K_O_RDWR 02
#define K_O_CREAT 0100
#define K_O_EXCL 0200
#define K_O_TRUNC 01000
#define K_O_APPEND 02000
#define K_O_NONBLOCK 04000
#define K_O_DSYNC 010000
#define K_O_DIRECT 040000
#define K_O_LARGEFILE 0100000
#define K_O_DIRECTORY 0200000
#define K_O_CLOEXEC 02000000
#define K_O_SYNC 04000000
#define K_O_TMPFILE 020000000
#define K_FMODE_CREATED 0x100000
#define K_FMODE_WRITE 0x2

#define K_CLONE_VM 0x00000100
#define K_CLONE_FS 0x00000200
#define K_CLONE_FILES 0x00000400
#define K_CLONE_SIGHAND 0x00000800
#define K_CLONE_PTRACE 0x00002000
#define K_CLONE_VFORK 0x00004000
#define K_CLONE_PARENT 0x00008000
#define K_CLONE_THREAD 0x00010000
#define K_CLONE_NEWNS 0x00020000
#define K_CLONE_SYSVSEM 0x00040000
#define K_CLONE_SETTLS 0x00080000
#define K_CLONE_PARENT_SETTID 0x00100000
#define K_CLONE_CHILD_CLEARTID 0x00200000
#define K_CLONE_UNTRACED 0x00800000
#define K_CLONE_CHILD_SETTID 0x01000000
#define K_CLONE_NEWCGROUP 0x02000000
#define K_CLONE_NEWUTS 0x04000000
#define K_CLONE_NEWIPC 0x08000000
#define K_CLONE_NEWUSER 0x10000000
#define K_CLONE_NEWPID 0x20000000
#define K_CLONE_NEWNET 0x40000000
#define K_CLONE_IO 0x80000000

#define K_S_IFMT 0170000
#define K_S_IFSOCK 0140000
#define K_S_IFREG 0100000
#define K_RLIMIT_NOFILE 7
#define K_AF_UNIX 1
#define K_AF_INET 2
#define K_AF_INET6 10

/* x86_64 syscall numbers (asm/unistd_64.h) */
#define NR_read 0
#define NR_write 1
#define NR_open 2
#define NR_close 3
#define NR_pread64 17
#define NR_pwrite64 18
#define NR_readv 19
#define NR_writev 20
#define NR_pipe 22
#define NR_dup 32
#define NR_dup2 33
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_recvmmsg 299
#define NR_sendmmsg 307
#define NR_bind 49
#define NR_listen 50
#define NR_socketpair 53
#define NR_clone 56
#define NR_fork 57
#define NR_vfork 58
#define NR_execve 59
#define NR_kill 62
#define NR_chdir 80
#define NR_fchdir 81
#define NR_rename 82
#define NR_mkdir 83
#define NR_rmdir 84
#define NR_creat 85
#define NR_link 86
#define NR_unlink 87
#define NR_symlink 88
#define NR_chmod 90
#define NR_fchmod 91
#define NR_ptrace 101
#define NR_setuid 105
#define NR_setgid 106
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_capset 126
#define NR_prctl 157
#define NR_mount 165
#define NR_umount2 166
#define NR_init_module 175
#define NR_openat 257
#define NR_mkdirat 258
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_fchmodat 268
#define NR_unshare 272
#define NR_accept4 288
#define NR_dup3 292
#define NR_pipe2 293
#define NR_preadv 295
#define NR_pwritev 296
#define NR_setns 308
#define NR_preadv2 327
#define NR_pwritev2 328
#define NR_finit_module 313
#define NR_renameat2 316
#define NR_fcntl 72
#define NR_setsid 112
#define NR_setpgid 109
#define NR_chroot 161
#define NR_epoll_create 213
#define NR_inotify_init 253
#define NR_signalfd 282
#define NR_timerfd_create 283
#define NR_eventfd 284
#define NR_signalfd4 289
#define NR_eventfd2 290
#define NR_epoll_create1 291
#define NR_inotify_init1 294
#define NR_pidfd_open 434
#define NR_pidfd_getfd 438

/* syscall_enabled[nr] values: 1 every call; SEL_FD_ONLY only the calls that change the fd table
 * (fcntl: F_DUPFD and F_DUPFD_CLOEXEC, all the state keeping needs of it) */
#define SEL_FD_ONLY 2
/* lanner_g.file_io_enabled: 1 file reads/writes without data (metrics), FILE_IO_DATA with data */
#define FILE_IO_DATA 2
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_execveat 322
#define NR_userfaultfd 323
#define NR_clone3 435
#define NR_openat2 437

/* How the enter event of an exit code is built: its parameter k is the exit's parameter src[k] (modern
 * exit layouts carry every enter parameter under the same name). emit = 0: no enter event for it. */
struct lanner_enter_layout {
	__u8 emit;
	__u8 nparams;
	__u8 src[ENTER_MAX_PARAMS];
};

/* ---- the one global struct, in .bss, mmap'd by the Python side ---- */
struct lanner_cpu_stats {
	__u64 events;     /* records written to the ring */
	__u64 drops;      /* records lost: ring full (bpf_ringbuf_output failed) */
	__u64 bytes;      /* bytes written */
	__u64 scratch_fail; /* no scratch slot (should stay 0) */
	__u64 pad[4];     /* one cache line per CPU */
};

struct lanner_globals {
	__u32 self_tgid;        /* lanner's own process: never traced */
	__u32 snaplen;          /* bytes of I/O data captured per read/write/send/recv */
	__u64 boot_to_epoch_ns; /* added to bpf_ktime_get_boot_ns() to get ns since the epoch */
	__u32 procexit_enabled; /* emit procexit from sched_process_exit */
	__u32 active;           /* master switch: 0 = emit nothing */
	__u8 syscall_enabled[LANNER_MAX_SYSCALLS]; /* syscall nr -> 1 when some consumer needs it */
	struct lanner_cpu_stats cpu[LANNER_MAX_CPUS];
	__u32 latency_enabled;  /* note sys_enter times and send each exit's enter event before it */
	__u32 file_io_enabled;  /* send read/write-family exits on regular files too (no data) */
	/* exit code -> how to build its enter event (code - 1) from the exit's parameters */
	struct lanner_enter_layout enter_layout[LANNER_MAX_CODES];
};
