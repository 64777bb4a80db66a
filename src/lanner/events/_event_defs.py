# ruff: noqa: E501  (the table is data: one event pair per line reads best unwrapped)
"""The PPM event table as compact text: one line per enter/exit pair, in event-code order.

Facts (codes, names, parameter names/types/print formats, flag tables) follow Falco's libs
event table; the notation is lanner's own and `table.py` parses it once at import.

Line: ``name kind:category flags | enter params | exit params``
  kind: S syscall, T tracepoint, M meta event, P plugin.
  flags: comma-joined abbreviations (CF creates fd, DF destroys fd, UF uses fd, RF reads from
    fd, WF writes to fd, MS modifies state, UN unused, W waits, SR skip parse reset, OV old
    version, LP large payload); ``-`` for none; ``A/B`` when enter (A) and exit (B) differ.
  params: ``name:TYPE[:x|:o][:table]`` (x hex, o octal print format; table = flag table, dynamic
    parameter table, or ``@N`` for the dirfd parameter a relative path resolves against).
  An exit part of ``-`` is an unused slot (name "NA", no params).
"""

EVENT_LINES = r"""
syscall S:other - | ID:SYSCALLID nativeID:UINT16 | ID:SYSCALLID
open S:file CF,MS | name:FSPATH flags:FLAGS32:x:file_flags mode:UINT32:o | fd:FD name:FSPATH flags:FLAGS32:x:file_flags mode:UINT32:o dev:UINT32:x ino:UINT64
close S:io_other DF,UF,MS | fd:FD | res:ERRNO fd:FD
read S:io_read UF,RF | fd:FD size:UINT32 | res:ERRNO data:BYTEBUF fd:FD size:UINT32
write S:io_write UF,WF | fd:FD size:UINT32 | res:ERRNO data:BYTEBUF fd:FD size:UINT32
brk S:memory OV | size:UINT32 | res:UINT64:x
execve S:process MS,OV | | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64
clone S:process MS,OV | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32
procexit T:process MS,OV | | -
socket S:net CF,MS | domain:ENUMFLAGS32:socket_families type:UINT32 proto:UINT32 | fd:FD domain:ENUMFLAGS32:socket_families type:UINT32 proto:UINT32
bind S:net UF,MS | fd:FD | res:ERRNO addr:SOCKADDR fd:FD
connect S:net UF,MS | fd:FD addr:SOCKADDR | res:ERRNO tuple:SOCKTUPLE fd:FD addr:SOCKADDR
listen S:net UF | fd:FD backlog:INT32 | res:ERRNO fd:FD backlog:INT32
accept S:net CF,MS,OV | | fd:FD tuple:SOCKTUPLE queuepct:UINT8
send S:io_write UF,WF | fd:FD size:UINT32 | res:ERRNO data:BYTEBUF
sendto S:io_write UF,WF,MS | fd:FD size:UINT32 tuple:SOCKTUPLE | res:ERRNO data:BYTEBUF fd:FD size:UINT32 tuple:SOCKTUPLE
recv S:io_read UF,RF | fd:FD size:UINT32 | res:ERRNO data:BYTEBUF
recvfrom S:io_read UF,RF,MS | fd:FD size:UINT32 | res:ERRNO data:BYTEBUF tuple:SOCKTUPLE fd:FD size:UINT32
shutdown S:net UF,MS | fd:FD how:ENUMFLAGS8:x:shutdown_how | res:ERRNO
getsockname S:net - | |
getpeername S:net - | |
socketpair S:ipc CF,MS | domain:ENUMFLAGS32:socket_families type:UINT32 proto:UINT32 | res:ERRNO fd1:FD fd2:FD source:UINT64:x peer:UINT64:x domain:ENUMFLAGS32:socket_families type:UINT32 proto:UINT32
setsockopt S:net -/UF | | res:ERRNO fd:FD level:ENUMFLAGS8:sockopt_levels optname:ENUMFLAGS8:sockopt_options val:DYN:sockopt_dynamic_param optlen:UINT32
getsockopt S:net MS/UF,MS | | res:ERRNO fd:FD level:ENUMFLAGS8:sockopt_levels optname:ENUMFLAGS8:sockopt_options val:DYN:sockopt_dynamic_param optlen:UINT32
sendmsg S:io_write UF,WF,MS | fd:FD size:UINT32 tuple:SOCKTUPLE | res:ERRNO data:BYTEBUF fd:FD size:UINT32 tuple:SOCKTUPLE
sendmmsg S:io_write UF,WF,MS | | res:ERRNO fd:FD size:UINT32 data:BYTEBUF tuple:SOCKTUPLE
recvmsg S:io_read UF,RF,MS | fd:FD | res:ERRNO size:UINT32 data:BYTEBUF tuple:SOCKTUPLE msgcontrol:BYTEBUF fd:FD
recvmmsg S:io_read UF,RF,MS | | res:ERRNO fd:FD size:UINT32 data:BYTEBUF tuple:SOCKTUPLE msgcontrol:BYTEBUF
accept S:net CF,MS,OV | flags:INT32:x | fd:FD tuple:SOCKTUPLE queuepct:UINT8
creat S:file CF,MS | name:FSPATH mode:UINT32:o | fd:FD name:FSPATH mode:UINT32:o dev:UINT32:x ino:UINT64
pipe S:ipc CF,MS | | res:ERRNO fd1:FD fd2:FD ino:UINT64
eventfd S:ipc CF,MS | initval:UINT64 flags:FLAGS32:x | res:FD
futex S:ipc - | addr:UINT64:x op:FLAGS16:x:futex_operations val:UINT64 | res:ERRNO
stat S:file - | | res:ERRNO path:FSPATH
lstat S:file - | | res:ERRNO path:FSPATH
fstat S:file UF | fd:FD | res:ERRNO
stat64 S:file - | | res:ERRNO path:FSPATH
lstat64 S:file - | | res:ERRNO path:FSPATH
fstat64 S:file UF | fd:FD | res:ERRNO
epoll_wait S:wait W | maxevents:ERRNO | res:ERRNO
poll S:wait W | fds:FDLIST timeout:INT64 | res:ERRNO fds:FDLIST
select S:wait W | | res:ERRNO
select S:wait W,OV | | res:ERRNO
lseek S:file UF | fd:FD offset:UINT64 whence:ENUMFLAGS8:lseek_whence | res:ERRNO
llseek S:file UF | fd:FD offset:UINT64 whence:ENUMFLAGS8:lseek_whence | res:ERRNO
ioctl S:io_other UF,OV | fd:FD request:UINT64:x | res:ERRNO
getcwd S:file - | | res:ERRNO path:CHARBUF
chdir S:file MS | | res:ERRNO path:CHARBUF
fchdir S:file UF,MS | fd:FD | res:ERRNO fd:FD
mkdir S:file OV | path:FSPATH mode:UINT32:x | res:ERRNO
rmdir S:file OV | path:FSPATH | res:ERRNO
openat S:file CF,MS,OV | dirfd:FD name:CHARBUF flags:FLAGS32:x:file_flags mode:UINT32:o | fd:FD
link S:file OV | oldpath:FSPATH newpath:FSPATH | res:ERRNO
linkat S:file OV | olddir:FD oldpath:CHARBUF newdir:FD newpath:CHARBUF | res:ERRNO
unlink S:file OV | path:FSPATH | res:ERRNO
unlinkat S:file OV | dirfd:FD name:CHARBUF | res:ERRNO
pread S:io_read UF,RF | fd:FD size:UINT32 pos:UINT64 | res:ERRNO data:BYTEBUF fd:FD size:UINT32 pos:UINT64
pwrite S:io_write UF,WF | fd:FD size:UINT32 pos:UINT64 | res:ERRNO data:BYTEBUF fd:FD size:UINT32 pos:UINT64
readv S:io_read UF,RF | fd:FD | res:ERRNO size:UINT32 data:BYTEBUF fd:FD
writev S:io_write UF,WF | fd:FD size:UINT32 | res:ERRNO data:BYTEBUF fd:FD size:UINT32
preadv S:io_read UF,RF | fd:FD pos:UINT64 | res:ERRNO size:UINT32 data:BYTEBUF fd:FD pos:UINT64
pwritev S:io_write UF,WF | fd:FD size:UINT32 pos:UINT64 | res:ERRNO data:BYTEBUF fd:FD size:UINT32 pos:UINT64
dup S:io_other CF,UF,MS,OV | fd:FD | res:FD
signalfd S:signal CF,MS | fd:FD mask:UINT32:x flags:FLAGS8:x | res:FD
kill S:signal - | pid:PID sig:SIGTYPE | res:ERRNO pid:PID sig:SIGTYPE
tkill S:signal - | tid:PID sig:SIGTYPE | res:ERRNO
tgkill S:signal - | pid:PID tid:PID sig:SIGTYPE | res:ERRNO
nanosleep S:sleep W | interval:RELTIME | res:ERRNO
timerfd_create S:time CF,MS | clockid:UINT8 flags:FLAGS8:x | res:FD
inotify_init S:ipc CF,MS | flags:FLAGS8:x | res:FD
getrlimit S:process - | resource:ENUMFLAGS8:rlimit_resources | res:ERRNO cur:INT64 max:INT64
setrlimit S:process - | resource:ENUMFLAGS8:rlimit_resources | res:ERRNO cur:INT64 max:INT64 resource:ENUMFLAGS8:rlimit_resources
prlimit S:process - | pid:PID resource:ENUMFLAGS8:rlimit_resources | res:ERRNO newcur:INT64 newmax:INT64 oldcur:INT64 oldmax:INT64 pid:INT64 resource:ENUMFLAGS8:rlimit_resources
switch T:scheduler SR,OV | next:PID | -
drop M:internal SR | ratio:UINT32 | ratio:UINT32
fcntl S:io_other UF,MS | fd:FD cmd:ENUMFLAGS8:fcntl_commands | res:FD fd:FD cmd:ENUMFLAGS8:fcntl_commands
switch T:scheduler - | next:PID pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 | -
execve S:process MS,OV | | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32
clone S:process MS,OV | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32
brk S:memory - | addr:UINT64:x | res:UINT64:x vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32
mmap S:memory - | addr:UINT64:x length:UINT64 prot:FLAGS32:x:prot_flags flags:FLAGS32:x:mmap_flags fd:FD offset:UINT64 | res:ERRNO:x vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32
mmap2 S:memory - | addr:UINT64:x length:UINT64 prot:FLAGS32:x:prot_flags flags:FLAGS32:x:mmap_flags fd:FD pgoffset:UINT64 | res:ERRNO:x vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32
munmap S:memory - | addr:UINT64:x length:UINT64 | res:ERRNO vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32
splice S:io_other UF | fd_in:FD fd_out:FD size:UINT64 flags:FLAGS32:x:splice_flags | res:ERRNO
ptrace S:process - | request:ENUMFLAGS16:ptrace_requests pid:PID | res:ERRNO addr:DYN:x:ptrace_dynamic_param data:DYN:x:ptrace_dynamic_param request:ENUMFLAGS16:ptrace_requests pid:PID
ioctl S:io_other UF | fd:FD request:UINT64:x argument:UINT64:x | res:ERRNO
execve S:process MS,OV | | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 env:BYTEBUF
rename S:file - | | res:ERRNO oldpath:FSPATH newpath:FSPATH
renameat S:file - | | res:ERRNO olddirfd:FD oldpath:FSRELPATH:@1 newdirfd:FD newpath:FSRELPATH:@3
symlink S:file - | | res:ERRNO target:CHARBUF linkpath:FSPATH
symlinkat S:file - | | res:ERRNO target:CHARBUF linkdirfd:FD linkpath:FSRELPATH:@2
fork S:process MS,OV | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32
vfork S:process MS,OV | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32
procexit T:process MS | status:ERRNO ret:ERRNO sig:SIGTYPE core:UINT8 reaper_tid:PID | -
sendfile S:io_write UF | out_fd:FD in_fd:FD offset:UINT64 size:UINT64 | res:ERRNO offset:UINT64
quotactl S:user - | cmd:FLAGS16:quotactl_cmds type:FLAGS8:quotactl_types id:UINT32 quota_fmt:FLAGS8:quotactl_quota_fmts | res:ERRNO special:CHARBUF quotafilepath:CHARBUF dqb_bhardlimit:UINT64 dqb_bsoftlimit:UINT64 dqb_curspace:UINT64 dqb_ihardlimit:UINT64 dqb_isoftlimit:UINT64 dqb_btime:RELTIME dqb_itime:RELTIME dqi_bgrace:RELTIME dqi_igrace:RELTIME dqi_flags:FLAGS8:quotactl_dqi_flags quota_fmt_out:FLAGS8:quotactl_quota_fmts
setresuid S:user MS | ruid:UID euid:UID suid:UID | res:ERRNO ruid:UID euid:UID suid:UID
setresgid S:user MS | rgid:GID egid:GID sgid:GID | res:ERRNO rgid:GID egid:GID sgid:GID
scapevent M:internal SR/UN | event_type:UINT32 event_data:UINT64 |
setuid S:user MS | uid:UID | res:ERRNO uid:UID
setgid S:user MS | gid:GID | res:ERRNO gid:GID
getuid S:user - | | uid:UID
geteuid S:user - | | euid:UID
getgid S:user - | | gid:GID
getegid S:user - | | egid:GID
getresuid S:user - | | res:ERRNO ruid:UID euid:UID suid:UID
getresgid S:user - | | res:ERRNO rgid:GID egid:GID sgid:GID
execve S:process MS,OV | | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF env:BYTEBUF
clone S:process MS,OV | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32
fork S:process MS,OV | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32
vfork S:process MS,OV | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32
clone S:process MS | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32 vtid:PID vpid:PID pidns_init_start_ts:UINT64
fork S:process MS | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32 vtid:PID vpid:PID pidns_init_start_ts:UINT64
vfork S:process MS | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32 vtid:PID vpid:PID pidns_init_start_ts:UINT64
container M:internal SR,MS,OV | id:CHARBUF type:UINT32 name:CHARBUF image:CHARBUF | -
execve S:process MS,OV | | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF env:BYTEBUF
signaldeliver T:signal - | spid:PID dpid:PID sig:SIGTYPE | -
procinfo M:internal SR | cpu_usr:UINT64 cpu_sys:UINT64 | -
getdents S:file UF | fd:FD | res:ERRNO
getdents64 S:file UF | fd:FD | res:ERRNO
setns S:process UF | fd:FD nstype:FLAGS32:x:clone_flags | res:ERRNO fd:FD nstype:FLAGS32:x:clone_flags
flock S:file UF | fd:FD operation:FLAGS32:x:flock_flags | res:ERRNO
cpu_hotplug M:system SR,MS | cpu:UINT32 action:UINT32 | -
accept S:net CF,MS | | fd:FD tuple:SOCKTUPLE queuepct:UINT8 queuelen:UINT32 queuemax:UINT32
accept S:net CF,MS,OV | flags:INT32:x | fd:FD tuple:SOCKTUPLE queuepct:UINT8 queuelen:UINT32 queuemax:UINT32
semop S:process - | semid:INT32 | res:ERRNO nsops:UINT32 sem_num_0:UINT16 sem_op_0:INT16 sem_flg_0:FLAGS16:x:semop_flags sem_num_1:UINT16 sem_op_1:INT16 sem_flg_1:FLAGS16:x:semop_flags
semctl S:process - | semid:INT32 semnum:INT32 cmd:FLAGS16:x:semctl_commands val:INT32 | res:ERRNO
ppoll S:wait W | fds:FDLIST timeout:RELTIME sigmask:SIGSET | res:ERRNO fds:FDLIST
mount S:file MS | flags:FLAGS32:x:mount_flags | res:ERRNO dev:CHARBUF dir:FSPATH type:CHARBUF flags:FLAGS32:x:mount_flags
umount S:file MS,OV | flags:FLAGS32:x:umount_flags | res:ERRNO name:FSPATH
k8s M:internal SR,MS | json:CHARBUF | -
semget S:process - | key:INT32:x nsems:INT32 semflg:FLAGS32:x:semget_flags | res:ERRNO
access S:file - | mode:FLAGS32:x:access_flags | res:ERRNO name:FSPATH
chroot S:process MS | | res:ERRNO path:FSPATH
tracer M:other - | id:INT64 tags:CHARBUFARRAY args:CHARBUF_PAIR_ARRAY | id:INT64 tags:CHARBUFARRAY args:CHARBUF_PAIR_ARRAY
mesos M:internal SR,MS | json:CHARBUF | -
container M:process MS,OV | json:CHARBUF | -
setsid S:process MS | | res:PID
mkdir S:file - | mode:UINT32:x | res:ERRNO path:FSPATH mode:UINT32:x
rmdir S:file - | | res:ERRNO path:FSPATH
notification M:other SR | id:CHARBUF desc:CHARBUF | -
execve S:process MS,OV | | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF env:BYTEBUF tty:INT32
unshare S:process - | flags:FLAGS32:x:clone_flags | res:ERRNO flags:FLAGS32:x:clone_flags
infra M:internal SR | source:CHARBUF name:CHARBUF description:CHARBUF scope:CHARBUF | -
execve S:process MS,OV | filename:FSPATH | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF env:BYTEBUF tty:INT32
page_fault T:other SR | addr:UINT64:x ip:UINT64:x error:FLAGS32:x:pf_flags | -
execve S:process MS | filename:FSPATH | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF env:BYTEBUF tty:UINT32 pgid:PID loginuid:UID flags:FLAGS32:x:execve_flags cap_inheritable:UINT64:x cap_permitted:UINT64:x cap_effective:UINT64:x exe_ino:UINT64 exe_ino_ctime:ABSTIME exe_ino_mtime:ABSTIME uid:UID trusted_exepath:FSPATH pgid:PID gid:GID filename:FSPATH
setpgid S:process MS | pid:PID pgid:PID | res:PID pid:PID pgid:PID
bpf S:other CF,OV | cmd:INT64 | res_or_fd:DYN:bpf_dynamic_param
seccomp S:other - | op:UINT64 flags:UINT64:x | res:ERRNO
unlink S:file - | | res:ERRNO path:FSPATH
unlinkat S:file - | | res:ERRNO dirfd:FD name:FSRELPATH:@1 flags:FLAGS32:x:unlinkat_flags
mkdirat S:file - | | res:ERRNO dirfd:FD path:FSRELPATH:@1 mode:UINT32:x
openat S:file CF,MS | dirfd:FD name:FSRELPATH:@0 flags:FLAGS32:x:file_flags mode:UINT32:o | fd:FD dirfd:FD name:FSRELPATH:@1 flags:FLAGS32:x:file_flags mode:UINT32:o dev:UINT32:x ino:UINT64
link S:file - | | res:ERRNO oldpath:FSPATH newpath:FSPATH
linkat S:file - | | res:ERRNO olddir:FD oldpath:FSRELPATH:@1 newdir:FD newpath:FSRELPATH:@3 flags:FLAGS32:x:linkat_flags
fchmodat S:file - | | res:ERRNO dirfd:FD filename:FSRELPATH:@1 mode:MODE:o:chmod_mode
chmod S:file - | | res:ERRNO filename:FSPATH mode:MODE:o:chmod_mode
fchmod S:file -/UF | | res:ERRNO fd:FD mode:MODE:o:chmod_mode
renameat2 S:file - | | res:ERRNO olddirfd:FD oldpath:FSRELPATH:@1 newdirfd:FD newpath:FSRELPATH:@3 flags:FLAGS32:x:renameat2_flags
userfaultfd S:file CF,MS | | res:ERRNO flags:FLAGS32:x:file_flags
pluginevent P:other LP | plugin_id:UINT32 event_data:BYTEBUF | -
container M:process MS,LP | json:CHARBUF | -
openat2 S:file CF,MS | dirfd:FD name:FSRELPATH:@1 flags:FLAGS32:x:file_flags mode:UINT32:o resolve:FLAGS32:x:openat2_flags | fd:FD dirfd:FD name:FSRELPATH:@1 flags:FLAGS32:x:file_flags mode:UINT32:o resolve:FLAGS32:x:openat2_flags dev:UINT32:x ino:UINT64
mprotect S:memory - | addr:UINT64:x length:UINT64 prot:FLAGS32:x:prot_flags | res:ERRNO
execveat S:process MS | dirfd:FD pathname:FSRELPATH:@0 flags:FLAGS32:x:execveat_flags | res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF env:BYTEBUF tty:UINT32 pgid:PID loginuid:UID flags:FLAGS32:x:execve_flags cap_inheritable:UINT64:x cap_permitted:UINT64:x cap_effective:UINT64:x exe_ino:UINT64 exe_ino_ctime:ABSTIME exe_ino_mtime:ABSTIME uid:UID trusted_exepath:FSPATH pgid:PID gid:GID filename:FSPATH
copy_file_range S:file UF,RF,WF | fdin:FD offin:UINT64 len:UINT64 | res:ERRNO fdout:FD offout:UINT64
clone3 S:process MS | | res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32:x:clone_flags uid:UINT32 gid:UINT32 vtid:PID vpid:PID pidns_init_start_ts:UINT64
open_by_handle_at S:file CF,MS | | fd:FD mountfd:FD flags:FLAGS32:x:file_flags path:FSPATH
io_uring_setup S:io_other CF,MS | | res:ERRNO entries:UINT32 sq_entries:UINT32 cq_entries:UINT32 flags:FLAGS32:x:io_uring_setup_flags sq_thread_cpu:UINT32 sq_thread_idle:UINT32 features:FLAGS32:x:io_uring_setup_feats
io_uring_enter S:io_other -/UF | | res:ERRNO fd:FD to_submit:UINT32 min_complete:UINT32 flags:FLAGS32:x:io_uring_enter_flags sig:SIGSET
io_uring_register S:io_other -/UF | | res:ERRNO fd:FD opcode:ENUMFLAGS16:io_uring_register_opcodes arg:UINT64:x nr_args:UINT32
mlock S:memory - | | res:ERRNO addr:UINT64:x len:UINT64
munlock S:memory - | | res:ERRNO addr:UINT64:x len:UINT64
mlockall S:memory - | | res:ERRNO flags:FLAGS32:x:mlockall_flags
munlockall S:memory - | | res:ERRNO
capset S:process MS | | res:ERRNO cap_inheritable:UINT64:x cap_permitted:UINT64:x cap_effective:UINT64:x
useradded M:process MS | uid:UINT32 gid:UINT32 name:CHARBUF home:CHARBUF shell:CHARBUF container_id:CHARBUF | -
userdeleted M:process MS | uid:UINT32 gid:UINT32 name:CHARBUF home:CHARBUF shell:CHARBUF container_id:CHARBUF | -
groupadded M:process MS | gid:UINT32 name:CHARBUF container_id:CHARBUF | -
groupdeleted M:process MS | gid:UINT32 name:CHARBUF container_id:CHARBUF | -
dup2 S:io_other CF,UF,MS | fd:FD | res:FD oldfd:FD newfd:FD
dup3 S:io_other CF,UF,MS | fd:FD | res:FD oldfd:FD newfd:FD flags:FLAGS32:x:file_flags
dup S:io_other CF,UF,MS | fd:FD | res:FD oldfd:FD
bpf S:other CF | cmd:INT64 | fd:FD cmd:INT32
mlock2 S:memory - | | res:ERRNO addr:UINT64:x len:UINT64 flags:UINT32:x:mlock2_flags
fsconfig S:system -/UF | | res:ERRNO fd:FD cmd:ENUMFLAGS32:fsconfig_cmds key:CHARBUF value_bytebuf:BYTEBUF value_charbuf:CHARBUF aux:INT32
epoll_create S:wait CF,MS | size:INT32 | res:ERRNO
epoll_create1 S:wait CF,MS | flags:FLAGS32:x:epoll_create1_flags | res:ERRNO
chown S:file - | | res:ERRNO path:FSPATH uid:UINT32 gid:UINT32
lchown S:file - | | res:ERRNO path:FSPATH uid:UINT32 gid:UINT32
fchown S:file -/UF | | res:ERRNO fd:FD uid:UINT32 gid:UINT32
fchownat S:file - | | res:ERRNO dirfd:FD pathname:FSRELPATH:@1 uid:UINT32 gid:UINT32 flags:FLAGS32:x:fchownat_flags
umount S:file MS | | res:ERRNO name:FSPATH
accept4 S:net CF,MS | flags:INT32:x | fd:FD tuple:SOCKTUPLE queuepct:UINT8 queuelen:UINT32 queuemax:UINT32 flags:INT32:x
umount2 S:file MS | flags:FLAGS32:x:umount_flags | res:ERRNO name:FSPATH flags:FLAGS32:x:umount_flags
pipe2 S:ipc CF,MS | | res:ERRNO fd1:FD fd2:FD ino:UINT64 flags:FLAGS32:x:file_flags
inotify_init1 S:ipc CF,MS | | res:FD flags:FLAGS16:x:file_flags
eventfd2 S:ipc CF,MS | initval:UINT64 | res:FD flags:FLAGS16:x:file_flags
signalfd4 S:signal CF,MS | fd:FD mask:UINT32:x | res:FD flags:FLAGS16:x
prctl S:process MS | | res:ERRNO option:ENUMFLAGS32:prctl_options arg2_str:CHARBUF arg2_int:INT64
asyncevent M:other LP | plugin_id:UINT32 name:CHARBUF data:BYTEBUF | -
memfd_create S:memory CF,MS | | fd:FD name:CHARBUF flags:FLAGS32:x:memfd_create_flags
pidfd_getfd S:process CF,MS | | fd:FD pid_fd:FD target_fd:FD flags:FLAGS32:x
pidfd_open S:process CF,MS | | fd:FD pid:PID flags:FLAGS32:x
init_module S:other - | | res:ERRNO img:BYTEBUF length:UINT64 uargs:CHARBUF
finit_module S:other -/UF,RF | | res:ERRNO fd:FD uargs:CHARBUF flags:FLAGS32
mknod S:other - | | res:ERRNO path:FSPATH mode:MODE:o:mknod_mode dev:UINT32
mknodat S:other -/UF | | res:ERRNO dirfd:FD path:FSRELPATH:@1 mode:MODE:o:mknod_mode dev:UINT32
newfstatat S:file -/UF | | res:ERRNO dirfd:FD path:FSRELPATH:@1 flags:FLAGS32:x:newfstatat_flags
"""
