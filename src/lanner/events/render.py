"""sysdig-style text of event parameters, as `evt.args` / `evt.arg.X` show them.

This renders what the event itself carries. Decorations that need the state tables (the fd
name after an fd number, a thread's comm after a pid, user names after uids, the resolved
path after a relative path, fd type letters in poll lists) are added by a caller-supplied
decorator: see `Event.render_param`.
"""

from __future__ import annotations

import errno
from typing import Any

from lanner.events._flag_tables import FLAG_TABLES
from lanner.events.table import ParamInfo, ParamType
from lanner.events.values import AF_INET, AF_INET6, AF_UNIX, FdListEntry, SockAddr, SockTuple

# Kernel-internal restart codes a syscall can return to user space tracing, not in errno.h.
_KERNEL_ERRNO = {
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
}
_ERRNO_NAMES: dict[int, str] = {**errno.errorcode, **_KERNEL_ERRNO}
_ERRNO_NAMES[11] = "EAGAIN"
_ERRNO_NAMES[35] = "EDEADLK"
_ERRNO_NAMES[95] = "EOPNOTSUPP"

_SIGNAL_TEXT = (
    "SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV "
    "SIGUSR2 SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN "
    "SIGTTOU SIGURG SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS"
)
_SIGNAL_NAMES = ["", *_SIGNAL_TEXT.split()]

_FLAG_TYPES = frozenset({ParamType.FLAGS8, ParamType.FLAGS16, ParamType.FLAGS32, ParamType.MODE})
_ENUM_TYPES = frozenset({ParamType.ENUMFLAGS8, ParamType.ENUMFLAGS16, ParamType.ENUMFLAGS32})
_PRINTABLE = bytes(range(32, 127))
_TO_DOTS = bytes(c if c in _PRINTABLE else ord(".") for c in range(256))


def errno_name(code: int) -> str | None:
    """The symbolic name of a (positive) errno value, e.g. 2 -> "ENOENT"."""
    return _ERRNO_NAMES.get(code)


def signal_name(signo: int) -> str | None:
    if 0 < signo < len(_SIGNAL_NAMES):
        return _SIGNAL_NAMES[signo]
    return None


def flag_names(table: str | None, value: int) -> str:
    """Names of the bits set in `value` ("O_RDONLY|O_CLOEXEC"); an exact match wins."""
    entries = FLAG_TABLES.get(table or "")
    if not entries:
        return ""
    for name, flag in entries:
        if flag == value:
            return name
    names = []
    rest = value
    for name, flag in entries:
        # Each bit is named once: a multi-bit name (O_RDWR) consumes the bits it covers.
        if flag != 0 and rest & flag == flag:
            names.append(name)
            rest &= ~flag
    return "|".join(names)


def enum_name(table: str | None, value: int) -> str:
    for name, flag in FLAG_TABLES.get(table or "", ()):
        if flag == value:
            return name
    return ""


def bytebuf_text(raw: bytes) -> str:
    """Bytes as sysdig prints buffers: printable ASCII kept, everything else as '.'."""
    return raw.translate(_TO_DOTS).decode("ascii")


def sockaddr_text(addr: SockAddr | None) -> str:
    if addr is None:
        return "NULL"
    if addr.family in (AF_INET, AF_INET6):
        return f"{addr.addr}:{addr.port}"
    if addr.family == AF_UNIX:
        return addr.path or ""
    return f"family {addr.family}"


def socktuple_text(tup: SockTuple | None) -> str:
    if tup is None:
        return "NULL"
    if tup.family in (AF_INET, AF_INET6):
        return f"{tup.sip}:{tup.sport}->{tup.dip}:{tup.dport}"
    if tup.family == AF_UNIX:
        return f"{tup.src_ptr or 0:x}->{tup.dst_ptr or 0:x} {tup.path or ''}"
    return f"family {tup.family}"


AT_FDCWD = -100


def reltime_text(value: int) -> str:
    return f"{value}({value / 1e9:g}s)"


def _int_text(info: ParamInfo, value: int) -> str:
    if info.fmt == "HEX":
        return f"{value & 0xFFFFFFFFFFFFFFFF:X}"
    if info.fmt == "OCT":
        return f"0{value:o}" if value else "0"
    if info.type == ParamType.UINT64 and value >= 1 << 63:
        # sysdig prints 64-bit decimals signed (a -1 sentinel shows as -1).
        return str(value - (1 << 64))
    if info.type in (ParamType.UID, ParamType.GID) and value == 0xFFFFFFFF:
        return "-1"  # "no user/group"
    return str(value)


def _errno_text(info: ParamInfo, value: int) -> str:
    if value < 0:
        errname = errno_name(-value)
        return f"{value}({errname})" if errname else str(value)
    return _int_text(info, value)


def fdlist_text(entries: list[FdListEntry] | None) -> str:
    if not entries:
        return ""
    return " ".join(f"{e.fd}:{e.flags:x}" for e in entries)


def render_value(info: ParamInfo, value: Any, raw: bytes) -> str:
    """The sysdig text of one decoded parameter value."""
    ptype = info.type
    if value is None:
        if ptype in (ParamType.SOCKADDR, ParamType.SOCKTUPLE):
            return "NULL"
        return ""
    if ptype in _FLAG_TYPES:
        names = flag_names(info.flag_table, value)
        text = _int_text(info, value) if ptype == ParamType.MODE else str(value)
        return f"{text}({names})" if names else text
    if ptype in _ENUM_TYPES:
        name = enum_name(info.flag_table, value)
        return f"{value}({name})" if name else str(value)
    if value == AT_FDCWD and ptype in (ParamType.FD, ParamType.FD32) and "dir" in info.name:
        # A directory fd (dirfd, olddirfd, newdir...) meaning "the working directory", as sysdig
        # shows it; a result of -100 stays an errno.
        return "-100(AT_FDCWD)"
    if ptype in (ParamType.ERRNO, ParamType.FD, ParamType.FD32):
        return _errno_text(info, value)
    if ptype == ParamType.SIGTYPE:
        signame = signal_name(value)
        return f"{value}({signame})" if signame else str(value)
    if ptype == ParamType.RELTIME:
        return reltime_text(value)
    if ptype == ParamType.BYTEBUF:
        return bytebuf_text(value)
    if ptype == ParamType.SOCKADDR:
        return sockaddr_text(value)
    if ptype == ParamType.SOCKTUPLE:
        return socktuple_text(value)
    if ptype == ParamType.FDLIST:
        return fdlist_text(value)
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return _int_text(info, value)
    if isinstance(value, bytes):
        return bytebuf_text(value)
    return str(value)
