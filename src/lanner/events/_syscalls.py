"""Syscall names by PPM syscall code (the SYSCALLID parameter of generic events).

Facts from the libs' system-independent syscall code list, in code order from 1; index 0 is
"unknown". Written as one whitespace-separated string to keep the module compact.
"""

_PPM_SC_ORDER = """
restart_syscall exit read write open close creat link unlink chdir time mknod chmod stat lseek
getpid mount ptrace alarm fstat pause utime access sync kill rename mkdir rmdir dup pipe times
brk acct ioctl fcntl setpgid umask chroot ustat dup2 getppid getpgrp setsid sethostname
setrlimit getrusage gettimeofday settimeofday symlink lstat readlink uselib swapon reboot mmap
munmap truncate ftruncate fchmod getpriority setpriority statfs fstatfs syslog setitimer
getitimer uname vhangup wait4 swapoff sysinfo fsync setdomainname adjtimex mprotect
init_module delete_module quotactl getpgid fchdir sysfs personality getdents select flock
msync readv writev getsid fdatasync mlock munlock mlockall munlockall sched_setparam
sched_getparam sched_setscheduler sched_getscheduler sched_yield sched_get_priority_max
sched_get_priority_min sched_rr_get_interval nanosleep mremap poll prctl rt_sigaction
rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend getcwd capget
capset sendfile getrlimit lchown getuid getgid geteuid getegid setreuid setregid getgroups
setgroups fchown setresuid getresuid setresgid getresgid chown setuid setgid setfsuid
setfsgid pivot_root mincore madvise gettid setxattr lsetxattr fsetxattr getxattr lgetxattr
fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr tkill futex
sched_setaffinity sched_getaffinity set_thread_area get_thread_area io_setup io_destroy
io_getevents io_submit io_cancel exit_group epoll_create epoll_ctl epoll_wait
remap_file_pages set_tid_address timer_create timer_settime timer_gettime timer_getoverrun
timer_delete clock_settime clock_gettime clock_getres clock_nanosleep tgkill utimes mq_open
mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key
request_key keyctl ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch
openat mkdirat mknodat fchownat futimesat unlinkat renameat linkat symlinkat readlinkat
fchmodat faccessat pselect6 ppoll unshare set_robust_list get_robust_list splice tee
vmsplice getcpu epoll_pwait utimensat signalfd timerfd_create eventfd timerfd_settime
timerfd_gettime signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev
rt_tgsigqueueinfo perf_event_open fanotify_init prlimit64 clock_adjtime syncfs setns
getdents64 socket bind connect listen accept getsockname getpeername socketpair sendto
recvfrom shutdown setsockopt getsockopt sendmsg sendmmsg recvmsg recvmmsg accept4 semop
semget semctl msgsnd msgrcv msgget msgctl shmdt shmget shmctl statfs64 fstatfs64 fstatat64
sendfile64 ugetrlimit bdflush sigprocmask ipc socketcall stat64 lstat64 fstat64 fcntl64
mmap2 _newselect sgetmask ssetmask sigpending olduname umount signal nice stime _llseek
waitpid pread64 pwrite64 arch_prctl shmat sigreturn fallocate newfstatat process_vm_readv
process_vm_writev fork vfork setuid32 getuid32 setgid32 geteuid32 getgid32 setresuid32
setresgid32 getresuid32 getresgid32 finit_module bpf seccomp sigaltstack getrandom
fadvise64 renameat2
"""

SYSCALL_NAMES: tuple[str, ...] = ("", *_PPM_SC_ORDER.split())

# Linux syscall names (x86_64 and common) that have no PPM code in the table above; they are
# still valid values of evt.type in rules (Falco accepts any known syscall name).
_EXTRA_NAMES = """
    userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc
    pkey_free statx io_pgetevents rseq pidfd_send_signal io_uring_setup io_uring_enter
    io_uring_register open_tree move_mount fsopen fsconfig fsmount fspick pidfd_open clone3
    close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr
    quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self
    memfd_secret process_mrelease futex_waitv set_mempolicy_home_node memfd_create
    kexec_file_load execveat execve clone name_to_handle_at open_by_handle_at
    sched_setattr sched_getattr vserver tuxcall security getpmsg putpmsg afs_syscall
    create_module get_kernel_syms query_module nfsservctl lookup_dcookie epoll_ctl_old
    epoll_wait_old rt_sigreturn modify_ldt _sysctl iopl ioperm get_mempolicy set_mempolicy
    mbind migrate_pages move_pages kcmp readahead sync_file_range vmsplice msync
    timerfd futex_wake futex_wait futex_requeue cachestat fchmodat2 map_shadow_stack
    mseal setxattrat getxattrat listxattrat removexattrat lsm_get_self_attr
    lsm_set_self_attr lsm_list_modules statmount listmount uretprobe
"""
EXTRA_SYSCALL_NAMES: frozenset[str] = frozenset(_EXTRA_NAMES.split())
