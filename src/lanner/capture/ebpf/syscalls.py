"""Which syscalls the probe can capture: event-type names -> x86_64 syscall numbers.

An event type named in a rule or asked for by a consumer selects the syscalls behind it; the
probe's in-kernel table is indexed by syscall number. `procexit` is not a syscall: it comes from
the sched_process_exit tracepoint and has its own switch.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass

# x86_64 numbers (asm/unistd_64.h) of every syscall probe.bpf.c has a filler for
SYSCALL_NUMBERS_X86_64: dict[str, int] = {
    "read": 0,
    "write": 1,
    "open": 2,
    "close": 3,
    "pread64": 17,
    "pwrite64": 18,
    "readv": 19,
    "writev": 20,
    "pipe": 22,
    "dup": 32,
    "dup2": 33,
    "getppid": 110,  # no filler: used by tests and benchmarks as a never-captured syscall
    "socket": 41,
    "connect": 42,
    "accept": 43,
    "sendto": 44,
    "recvfrom": 45,
    "sendmsg": 46,
    "recvmsg": 47,
    "recvmmsg": 299,
    "sendmmsg": 307,
    "bind": 49,
    "listen": 50,
    "socketpair": 53,
    "clone": 56,
    "fork": 57,
    "vfork": 58,
    "execve": 59,
    "kill": 62,
    "chdir": 80,
    "fchdir": 81,
    "rename": 82,
    "mkdir": 83,
    "rmdir": 84,
    "creat": 85,
    "link": 86,
    "unlink": 87,
    "symlink": 88,
    "chmod": 90,
    "fchmod": 91,
    "ptrace": 101,
    "setuid": 105,
    "setgid": 106,
    "setresuid": 117,
    "setresgid": 119,
    "capset": 126,
    "prctl": 157,
    "mount": 165,
    "umount2": 166,
    "init_module": 175,
    "openat": 257,
    "mkdirat": 258,
    "unlinkat": 263,
    "renameat": 264,
    "linkat": 265,
    "symlinkat": 266,
    "fchmodat": 268,
    "unshare": 272,
    "accept4": 288,
    "dup3": 292,
    "pipe2": 293,
    "preadv": 295,
    "pwritev": 296,
    "setns": 308,
    "preadv2": 327,
    "pwritev2": 328,
    "finit_module": 313,
    "renameat2": 316,
    "memfd_create": 319,
    "bpf": 321,
    "execveat": 322,
    "userfaultfd": 323,
    "clone3": 435,
    "openat2": 437,
    "fcntl": 72,
    "setpgid": 109,
    "setsid": 112,
    "chroot": 161,
    "epoll_create": 213,
    "inotify_init": 253,
    "signalfd": 282,
    "timerfd_create": 283,
    "eventfd": 284,
    "signalfd4": 289,
    "eventfd2": 290,
    "epoll_create1": 291,
    "inotify_init1": 294,
    "pidfd_open": 434,
    "pidfd_getfd": 438,
}

# Syscalls with a filler in the probe (all of the above but the benchmark-only ones).
CAPTURABLE: frozenset[str] = frozenset(SYSCALL_NUMBERS_X86_64) - {"getppid"}

# Event-type names that are spelled differently from the syscall they come from.
_ALIASES: dict[str, tuple[str, ...]] = {
    "umount": ("umount2",),
    "pread": ("pread64",),
    "pwrite": ("pwrite64",),
    # glibc's preadv/pwritev call preadv2/pwritev2; the probe sends both as preadv/pwritev events
    "preadv": ("preadv", "preadv2"),
    "pwritev": ("pwritev", "pwritev2"),
}

PROCEXIT = "procexit"
# Pseudo event-type names for "only the calls that change the fd table": what the state keeping
# needs of a syscall that is mostly something else. fcntl is frequent (F_GETFL, F_SETFD...), and
# only F_DUPFD/F_DUPFD_CLOEXEC create fds; the probe filters the rest in the kernel unless the
# plain name is selected too.
FD_ONLY_SUFFIX = ":fd"
FD_ONLY = {"fcntl" + FD_ONLY_SUFFIX: "fcntl"}
SEL_ALL, SEL_FD_ONLY = 1, 2  # syscall_enabled values (lanner_probe.h)
# The event types of reads and writes that may be on regular files (the probe sends those only
# when asked: ProbeSource(file_io=..., file_data=...)).
FILE_IO_TYPES = frozenset(
    {"read", "write", "pread", "pwrite", "readv", "writev", "preadv", "pwritev"}
)


def wants_file_data(event_types: Iterable[str] | None) -> bool:
    """Whether rules or a filter on these event types (None: every type) read file I/O."""
    return event_types is None or not FILE_IO_TYPES.isdisjoint(event_types)


@dataclass(frozen=True)
class Selection:
    """What a set of event-type names selects in the probe."""

    syscalls: frozenset[str]  # syscall names with a filler
    procexit: bool
    unsupported: frozenset[str]  # names the probe cannot produce (not syscalls it captures)
    fd_only: frozenset[str] = frozenset()  # of `syscalls`, those wanted for their fd changes only

    def numbers(self) -> dict[str, int]:
        return {name: SYSCALL_NUMBERS_X86_64[name] for name in self.syscalls}

    def mark(self, name: str) -> int:
        """The probe's syscall_enabled value for a syscall name: 0, SEL_ALL or SEL_FD_ONLY."""
        if name not in self.syscalls:
            return 0
        return SEL_FD_ONLY if name in self.fd_only else SEL_ALL


def select(names: Iterable[str]) -> Selection:
    """Map event-type names (evt.type values) to the probe's syscalls."""
    syscalls: set[str] = set()
    unsupported: set[str] = set()
    fd_only: set[str] = set()
    procexit = False
    for raw in names:
        name = raw.strip()
        if name == PROCEXIT:
            procexit = True
        elif name in FD_ONLY:
            fd_only.add(FD_ONLY[name])
        elif name in _ALIASES:
            syscalls.update(_ALIASES[name])
        elif name in CAPTURABLE:
            syscalls.add(name)
        else:
            unsupported.add(name)
    fd_only -= syscalls  # the plain name asks for every call
    syscalls |= fd_only
    return Selection(frozenset(syscalls), procexit, frozenset(unsupported), frozenset(fd_only))


def check_architecture() -> str | None:
    """None when the probe supports this machine, else the reason it does not."""
    machine = platform.machine()
    if machine != "x86_64":
        return f"the eBPF probe supports x86_64 only (this machine is {machine})"
    return None
