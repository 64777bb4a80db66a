"""Categories of the syscalls that reach lanner as generic events (libsinsp reports a generic
event's evt.category from the syscall, not from the event): the categories of sysdig's
syscall table, which Debian's sysdig 0.29.3 still shows. Names absent here keep "other"."""

from __future__ import annotations

_BY_CATEGORY = {
    "file": """open close creat link unlink chdir mknod chmod stat lseek mount fstat access rename
        mkdir rmdir ustat symlink lstat readlink mmap munmap truncate ftruncate fchmod statfs
        fstatfs fchdir getdents flock mremap getcwd sendfile lchown fchown chown setxattr
        lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr
        removexattr lremovexattr fremovexattr remap_file_pages utimes openat mkdirat mknodat
        fchownat futimesat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat
        utimensat syncfs statfs64 fstatfs64 fstatat64 sendfile64 stat64 lstat64 fstat64 fcntl64
        mmap2 umount llseek pread64 pwrite64""",
    "time": """time alarm utime times gettimeofday settimeofday setitimer getitimer timer_create
        timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime
        clock_getres timerfd_create timerfd_settime timerfd_gettime stime""",
    "wait": """pause fcntl wait4 select poll epoll_create epoll_ctl epoll_wait waitid pselect6
        ppoll epoll_pwait epoll_create1 newselect waitpid""",
    "process": """exit getpid acct setpgid umask getppid getpgrp setsid setrlimit getrusage uselib
        swapon getpriority setpriority getpgid personality getsid sched_setparam sched_getparam
        sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min
        sched_rr_get_interval prctl capget capset getrlimit pivot_root gettid sched_setaffinity
        sched_getaffinity set_thread_area get_thread_area set_tid_address ioprio_set ioprio_get
        unshare set_robust_list get_robust_list getcpu prlimit64 setns ugetrlimit nice
        arch_prctl""",
    "system": """restart_syscall sethostname reboot syslog uname swapoff sysinfo setdomainname
        adjtimex init_module delete_module quotactl sysfs kexec_load add_key request_key keyctl
        olduname finit_module""",
    "io_other": """sync dup ioctl dup2 fsync msync fdatasync io_setup io_destroy io_getevents
        io_submit io_cancel exit_group dup3 fallocate newfstatat process_vm_readv
        process_vm_writev fork vfork""",
    "io_read": "read readv preadv",
    "io_write": "write writev pwritev",
    "ipc": """kill pipe chroot futex mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify
        mq_getsetattr inotify_init inotify_add_watch inotify_rm_watch splice tee vmsplice
        eventfd eventfd2 pipe2 inotify_init1 fanotify_init getdents64 semop semget semctl msgsnd
        msgrcv msgget msgctl shmdt shmget shmctl ipc shmat""",
    "memory": "brk mprotect mlock munlock mlockall munlockall mincore madvise",
    "sleep": "sched_yield nanosleep clock_nanosleep",
    "signal": """rt_sigaction rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo
        rt_sigsuspend tkill tgkill signalfd signalfd4 sigprocmask sgetmask ssetmask sigpending
        signal sigreturn""",
    "user": """getuid getgid geteuid getegid setreuid setregid getgroups setgroups setresuid
        getresuid setresgid getresgid setuid setgid setfsuid setfsgid""",
    "net": """socket bind connect listen accept getsockname getpeername socketpair sendto
        recvfrom shutdown setsockopt getsockopt sendmsg sendmmsg recvmsg recvmmsg accept4
        socketcall""",
    "other": "ptrace vhangup rt_tgsigqueueinfo perf_event_open clock_adjtime bdflush",
}

SYSCALL_CATEGORY: dict[str, str] = {
    name: category for category, names in _BY_CATEGORY.items() for name in names.split()
}
