"""Which event types keep the thread and fd tables right when capturing live.

Falco's "state set": process lifecycle, credentials, cwd, and every call that creates, changes
or closes an fd. Plain I/O (read/write/send/recv) is left out, as Falco does by default: it is
the bulk of all syscalls and only refines UDP tuples. Consumers that need I/O (the protocol
decoders) add it to the selection themselves.

"fcntl:fd" stands for fcntl's fd-duplicating commands only (capture/ebpf/syscalls.py: the probe
drops the other commands in the kernel unless a rule or consumer names fcntl itself).
"""

from __future__ import annotations

STATE_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "clone", "clone3", "fork", "vfork", "execve", "execveat", "procexit",
        "chdir", "fchdir", "chroot",
        "setuid", "setgid", "setresuid", "setresgid", "setreuid", "setregid",
        "setsid", "setpgid", "capset", "prctl", "unshare", "setns",
        "open", "openat", "openat2", "creat", "open_by_handle_at",
        "socket", "bind", "connect", "accept", "accept4", "close",
        "dup", "dup2", "dup3", "fcntl:fd", "pipe", "pipe2", "socketpair",
        "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create",
        "inotify_init", "inotify_init1", "epoll_create", "epoll_create1",
        "bpf", "userfaultfd", "io_uring_setup", "memfd_create", "pidfd_open", "pidfd_getfd",
    }
)  # fmt: skip
