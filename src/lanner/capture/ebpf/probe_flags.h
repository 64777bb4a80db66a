/* Kernel flag values -> the PPM values scap events carry (where the two differ). */
#pragma once

/* ---- flag conversions kernel -> PPM ---- */

#define PPM_FCNTL_F_DUPFD 1
#define PPM_FCNTL_F_DUPFD_CLOEXEC 26

/* fcntl commands (x86_64 / asm-generic values) -> the fcntl_commands table; 0 = UNKNOWN */
static __always_inline __u32 fcntl_cmd_to_ppm(__u32 cmd)
{
	switch (cmd) {
	case 0: return PPM_FCNTL_F_DUPFD;
	case 1: return 2;    /* F_GETFD */
	case 2: return 3;    /* F_SETFD */
	case 3: return 4;    /* F_GETFL */
	case 4: return 5;    /* F_SETFL */
	case 5: return 6;    /* F_GETLK */
	case 6: return 8;    /* F_SETLK */
	case 7: return 9;    /* F_SETLKW */
	case 8: return 10;   /* F_SETOWN */
	case 9: return 12;   /* F_GETOWN */
	case 10: return 13;  /* F_SETSIG */
	case 11: return 15;  /* F_GETSIG */
	case 15: return 21;  /* F_SETOWN_EX */
	case 16: return 22;  /* F_GETOWN_EX */
	case 36: return 30;  /* F_OFD_GETLK */
	case 37: return 31;  /* F_OFD_SETLK */
	case 38: return 32;  /* F_OFD_SETLKW */
	case 1024: return 23; /* F_SETLEASE */
	case 1025: return 24; /* F_GETLEASE */
	case 1026: return 27; /* F_NOTIFY */
	case 1029: return 25; /* F_CANCELLK */
	case 1030: return PPM_FCNTL_F_DUPFD_CLOEXEC;
	case 1031: return 28; /* F_SETPIPE_SZ */
	case 1032: return 29; /* F_GETPIPE_SZ */
	default: return 0;
	}
}

static __always_inline __u32 open_flags_to_ppm(__u32 f)
{
	__u32 r = 0;
	__u32 acc = f & 3;
	if (acc == 0)
		r |= PPM_O_RDONLY;
	else if (acc == K_O_WRONLY)
		r |= PPM_O_WRONLY;
	else if (acc == K_O_RDWR)
		r |= PPM_O_RDWR;
	if (f & K_O_CREAT)
		r |= PPM_O_CREAT;
	if (f & K_O_APPEND)
		r |= PPM_O_APPEND;
	if (f & K_O_DSYNC)
		r |= PPM_O_DSYNC;
	if (f & K_O_EXCL)
		r |= PPM_O_EXCL;
	if (f & K_O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	if (f & K_O_SYNC)
		r |= PPM_O_SYNC;
	if (f & K_O_TRUNC)
		r |= PPM_O_TRUNC;
	if (f & K_O_DIRECT)
		r |= PPM_O_DIRECT;
	if (f & K_O_DIRECTORY)
		r |= PPM_O_DIRECTORY;
	if (f & K_O_LARGEFILE)
		r |= PPM_O_LARGEFILE;
	if (f & K_O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	if ((f & K_O_TMPFILE) == K_O_TMPFILE)
		r |= PPM_O_TMPFILE;
	return r;
}

static __always_inline __u32 clone_flags_to_ppm(__u64 f)
{
	__u32 r = 0;
	if (f & K_CLONE_FILES) r |= PPM_CL_CLONE_FILES;
	if (f & K_CLONE_FS) r |= PPM_CL_CLONE_FS;
	if (f & K_CLONE_IO) r |= PPM_CL_CLONE_IO;
	if (f & K_CLONE_NEWIPC) r |= PPM_CL_CLONE_NEWIPC;
	if (f & K_CLONE_NEWNET) r |= PPM_CL_CLONE_NEWNET;
	if (f & K_CLONE_NEWNS) r |= PPM_CL_CLONE_NEWNS;
	if (f & K_CLONE_NEWPID) r |= PPM_CL_CLONE_NEWPID;
	if (f & K_CLONE_NEWUTS) r |= PPM_CL_CLONE_NEWUTS;
	if (f & K_CLONE_PARENT) r |= PPM_CL_CLONE_PARENT;
	if (f & K_CLONE_PARENT_SETTID) r |= PPM_CL_CLONE_PARENT_SETTID;
	if (f & K_CLONE_PTRACE) r |= PPM_CL_CLONE_PTRACE;
	if (f & K_CLONE_SIGHAND) r |= PPM_CL_CLONE_SIGHAND;
	if (f & K_CLONE_SYSVSEM) r |= PPM_CL_CLONE_SYSVSEM;
	if (f & K_CLONE_THREAD) r |= PPM_CL_CLONE_THREAD;
	if (f & K_CLONE_UNTRACED) r |= PPM_CL_CLONE_UNTRACED;
	if (f & K_CLONE_VM) r |= PPM_CL_CLONE_VM;
	if (f & K_CLONE_NEWUSER) r |= PPM_CL_CLONE_NEWUSER;
	if (f & K_CLONE_CHILD_CLEARTID) r |= PPM_CL_CLONE_CHILD_CLEARTID;
	if (f & K_CLONE_CHILD_SETTID) r |= PPM_CL_CLONE_CHILD_SETTID;
	if (f & K_CLONE_SETTLS) r |= PPM_CL_CLONE_SETTLS;
	if (f & K_CLONE_VFORK) r |= PPM_CL_CLONE_VFORK;
	if (f & K_CLONE_NEWCGROUP) r |= PPM_CL_CLONE_NEWCGROUP;
	return r;
}

static __always_inline __u16 ptrace_req_to_ppm(__u64 req)
{
	switch (req) {
	case 0: return 1;   /* TRACEME */
	case 1: return 2;   /* PEEKTEXT */
	case 2: return 3;   /* PEEKDATA */
	case 3: return 4;   /* PEEKUSR */
	case 4: return 5;   /* POKETEXT */
	case 5: return 6;   /* POKEDATA */
	case 6: return 7;   /* POKEUSR */
	case 7: return 8;   /* CONT */
	case 8: return 9;   /* KILL */
	case 9: return 10;  /* SINGLESTEP */
	case 12: return 26; /* GETREGS */
	case 13: return 27; /* SETREGS */
	case 14: return 28; /* GETFPREGS */
	case 15: return 29; /* SETFPREGS */
	case 16: return 11; /* ATTACH */
	case 17: return 12; /* DETACH */
	case 18: return 30; /* GETFPXREGS */
	case 19: return 31; /* SETFPXREGS */
	case 21: return 32; /* OLDSETOPTIONS */
	case 24: return 13; /* SYSCALL */
	case 25: return 33; /* GET_THREAD_AREA */
	case 26: return 34; /* SET_THREAD_AREA */
	case 30: return 35; /* ARCH_PRCTL */
	case 31: return 36; /* SYSEMU */
	case 32: return 37; /* SYSEMU_SINGLESTEP */
	case 33: return 38; /* SINGLEBLOCK */
	case 0x4200: return 14; /* SETOPTIONS */
	case 0x4201: return 15; /* GETEVENTMSG */
	case 0x4202: return 16; /* GETSIGINFO */
	case 0x4203: return 17; /* SETSIGINFO */
	case 0x4204: return 18; /* GETREGSET */
	case 0x4205: return 19; /* SETREGSET */
	case 0x4206: return 20; /* SEIZE */
	case 0x4207: return 21; /* INTERRUPT */
	case 0x4208: return 22; /* LISTEN */
	case 0x4209: return 23; /* PEEKSIGINFO */
	case 0x420a: return 24; /* GETSIGMASK */
	case 0x420b: return 25; /* SETSIGMASK */
	}
	return 0;
}
