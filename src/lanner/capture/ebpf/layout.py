"""What the probe writes, described for Python: the .bss globals and the parameter layouts.

`Globals` mirrors `struct lanner_globals` of lanner_probe.h (the loader checks the sizes match).
`LIVE_LAYOUTS` lists, per event code the probe emits, its parameters in order. They follow the
modern (libs >= 0.22) exit layouts, where an exit event carries every argument; `live_event_info`
turns them into EventInfo records, borrowing print formats and flag tables from the event table
where the table knows a parameter of the same name, so rendering matches sysdig's.
"""

from __future__ import annotations

import ctypes
from functools import cache

from lanner.events.table import EventInfo, ParamInfo, ParamType, event_info

MAX_SYSCALLS = 512
MAX_CPUS = 256


class CpuStats(ctypes.Structure):
    _fields_ = (
        ("events", ctypes.c_uint64),
        ("drops", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("scratch_fail", ctypes.c_uint64),
        ("pad", ctypes.c_uint64 * 4),
    )


class Globals(ctypes.Structure):
    _fields_ = (
        ("self_tgid", ctypes.c_uint32),
        ("snaplen", ctypes.c_uint32),
        ("boot_to_epoch_ns", ctypes.c_uint64),
        ("procexit_enabled", ctypes.c_uint32),
        ("active", ctypes.c_uint32),
        ("syscall_enabled", ctypes.c_uint8 * MAX_SYSCALLS),
        ("cpu", CpuStats * MAX_CPUS),
    )


T = ParamType
_PROC_HEAD = (
    ("exe", T.CHARBUF),
    ("args", T.BYTEBUF),
    ("tid", T.PID),
    ("pid", T.PID),
    ("ptid", T.PID),
    ("cwd", T.CHARBUF),
    ("fdlimit", T.INT64),
    ("pgft_maj", T.UINT64),
    ("pgft_min", T.UINT64),
    ("vm_size", T.UINT32),
    ("vm_rss", T.UINT32),
    ("vm_swap", T.UINT32),
    ("comm", T.CHARBUF),
    ("cgroups", T.BYTEBUF),
)
_CLONE = (
    ("res", T.PID),
    *_PROC_HEAD,
    ("flags", T.FLAGS32),
    ("uid", T.UINT32),
    ("gid", T.UINT32),
    ("vtid", T.PID),
    ("vpid", T.PID),
    ("pidns_init_start_ts", T.UINT64),
)
_EXECVE = (
    ("res", T.ERRNO),
    *_PROC_HEAD,
    ("env", T.BYTEBUF),
    ("tty", T.UINT32),
    ("vpgid", T.PID),
    ("loginuid", T.UID),
    ("flags", T.FLAGS32),
    ("cap_inheritable", T.UINT64),
    ("cap_permitted", T.UINT64),
    ("cap_effective", T.UINT64),
    ("exe_ino", T.UINT64),
    ("exe_ino_ctime", T.ABSTIME),
    ("exe_ino_mtime", T.ABSTIME),
    ("uid", T.UID),
    ("trusted_exepath", T.FSPATH),
    ("pgid", T.PID),
    ("gid", T.GID),
    ("filename", T.FSPATH),
)
_RES = ("res", T.ERRNO)
_FILE_ID = (("dev", T.UINT32), ("ino", T.UINT64))
_QUEUE = (("queuepct", T.UINT8), ("queuelen", T.UINT32), ("queuemax", T.UINT32))

# code -> (event name, params); the order is the wire order the probe writes (probe.bpf.c)
LIVE_LAYOUTS: dict[int, tuple[str, tuple[tuple[str, ParamType], ...]]] = {
    3: (
        "open",
        (("fd", T.FD), ("name", T.FSPATH), ("flags", T.FLAGS32), ("mode", T.UINT32), *_FILE_ID),
    ),
    5: ("close", (_RES, ("fd", T.FD))),
    7: ("read", (_RES, ("data", T.BYTEBUF), ("fd", T.FD), ("size", T.UINT32))),
    9: ("write", (_RES, ("data", T.BYTEBUF), ("fd", T.FD), ("size", T.UINT32))),
    19: (
        "socket",
        (("fd", T.FD), ("domain", T.ENUMFLAGS32), ("type", T.UINT32), ("proto", T.UINT32)),
    ),
    21: ("bind", (_RES, ("addr", T.SOCKADDR), ("fd", T.FD))),
    23: ("connect", (_RES, ("tuple", T.SOCKTUPLE), ("fd", T.FD), ("addr", T.SOCKADDR))),
    25: ("listen", (_RES, ("fd", T.FD), ("backlog", T.INT32))),
    31: (
        "sendto",
        (_RES, ("data", T.BYTEBUF), ("fd", T.FD), ("size", T.UINT32), ("tuple", T.SOCKTUPLE)),
    ),
    35: (
        "recvfrom",
        (_RES, ("data", T.BYTEBUF), ("tuple", T.SOCKTUPLE), ("fd", T.FD), ("size", T.UINT32)),
    ),
    43: (
        "socketpair",
        (
            _RES,
            ("fd1", T.FD),
            ("fd2", T.FD),
            ("source", T.UINT64),
            ("peer", T.UINT64),
            ("domain", T.ENUMFLAGS32),
            ("type", T.UINT32),
            ("proto", T.UINT32),
        ),
    ),
    49: (
        "sendmsg",
        (_RES, ("data", T.BYTEBUF), ("fd", T.FD), ("size", T.UINT32), ("tuple", T.SOCKTUPLE)),
    ),
    53: (
        "recvmsg",
        (
            _RES,
            ("size", T.UINT32),
            ("data", T.BYTEBUF),
            ("tuple", T.SOCKTUPLE),
            ("msgcontrol", T.BYTEBUF),
            ("fd", T.FD),
        ),
    ),
    59: ("creat", (("fd", T.FD), ("name", T.FSPATH), ("mode", T.UINT32), *_FILE_ID)),
    61: ("pipe", (_RES, ("fd1", T.FD), ("fd2", T.FD), ("ino", T.UINT64))),
    95: ("chdir", (_RES, ("path", T.CHARBUF))),
    97: ("fchdir", (_RES, ("fd", T.FD))),
    129: ("kill", (_RES, ("pid", T.PID), ("sig", T.SIGTYPE))),
    169: (
        "ptrace",
        (_RES, ("addr", T.DYN), ("data", T.DYN), ("request", T.FLAGS16), ("pid", T.PID)),
    ),
    175: ("rename", (_RES, ("oldpath", T.FSPATH), ("newpath", T.FSPATH))),
    177: (
        "renameat",
        (
            _RES,
            ("olddirfd", T.FD),
            ("oldpath", T.FSRELPATH),
            ("newdirfd", T.FD),
            ("newpath", T.FSRELPATH),
        ),
    ),
    179: ("symlink", (_RES, ("target", T.CHARBUF), ("linkpath", T.FSPATH))),
    181: (
        "symlinkat",
        (_RES, ("target", T.CHARBUF), ("linkdirfd", T.FD), ("linkpath", T.FSRELPATH)),
    ),
    186: (
        "procexit",
        (
            ("status", T.ERRNO),
            ("ret", T.ERRNO),
            ("sig", T.SIGTYPE),
            ("core", T.UINT8),
            ("reaper_tid", T.PID),
        ),
    ),
    193: ("setresuid", (_RES, ("ruid", T.UID), ("euid", T.UID), ("suid", T.UID))),
    195: ("setresgid", (_RES, ("rgid", T.GID), ("egid", T.GID), ("sgid", T.GID))),
    199: ("setuid", (_RES, ("uid", T.UID))),
    201: ("setgid", (_RES, ("gid", T.GID))),
    223: ("clone", _CLONE),
    225: ("fork", _CLONE),
    227: ("vfork", _CLONE),
    241: ("setns", (_RES, ("fd", T.FD), ("nstype", T.FLAGS32))),
    247: ("accept", (("fd", T.FD), ("tuple", T.SOCKTUPLE), *_QUEUE)),
    257: (
        "mount",
        (_RES, ("dev", T.CHARBUF), ("dir", T.FSPATH), ("type", T.CHARBUF), ("flags", T.FLAGS32)),
    ),
    277: ("mkdir", (_RES, ("path", T.FSPATH), ("mode", T.UINT32))),
    279: ("rmdir", (_RES, ("path", T.FSPATH))),
    285: ("unshare", (_RES, ("flags", T.FLAGS32))),
    293: ("execve", _EXECVE),
    301: ("unlink", (_RES, ("path", T.FSPATH))),
    303: ("unlinkat", (_RES, ("dirfd", T.FD), ("name", T.FSRELPATH), ("flags", T.FLAGS32))),
    305: ("mkdirat", (_RES, ("dirfd", T.FD), ("path", T.FSRELPATH), ("mode", T.UINT32))),
    307: (
        "openat",
        (
            ("fd", T.FD),
            ("dirfd", T.FD),
            ("name", T.FSRELPATH),
            ("flags", T.FLAGS32),
            ("mode", T.UINT32),
            *_FILE_ID,
        ),
    ),
    309: ("link", (_RES, ("oldpath", T.FSPATH), ("newpath", T.FSPATH))),
    311: (
        "linkat",
        (
            _RES,
            ("olddir", T.FD),
            ("oldpath", T.FSRELPATH),
            ("newdir", T.FD),
            ("newpath", T.FSRELPATH),
            ("flags", T.FLAGS32),
        ),
    ),
    313: ("fchmodat", (_RES, ("dirfd", T.FD), ("filename", T.FSRELPATH), ("mode", T.MODE))),
    315: ("chmod", (_RES, ("filename", T.FSPATH), ("mode", T.MODE))),
    317: ("fchmod", (_RES, ("fd", T.FD), ("mode", T.MODE))),
    319: (
        "renameat2",
        (
            _RES,
            ("olddirfd", T.FD),
            ("oldpath", T.FSRELPATH),
            ("newdirfd", T.FD),
            ("newpath", T.FSRELPATH),
            ("flags", T.FLAGS32),
        ),
    ),
    321: ("userfaultfd", (_RES, ("flags", T.FLAGS32))),
    327: (
        "openat2",
        (
            ("fd", T.FD),
            ("dirfd", T.FD),
            ("name", T.FSRELPATH),
            ("flags", T.FLAGS32),
            ("mode", T.UINT32),
            ("resolve", T.FLAGS32),
            *_FILE_ID,
        ),
    ),
    331: ("execveat", _EXECVE),
    335: ("clone3", _CLONE),
    353: (
        "capset",
        (
            _RES,
            ("cap_inheritable", T.UINT64),
            ("cap_permitted", T.UINT64),
            ("cap_effective", T.UINT64),
        ),
    ),
    363: ("dup2", (("res", T.FD), ("oldfd", T.FD), ("newfd", T.FD))),
    365: ("dup3", (("res", T.FD), ("oldfd", T.FD), ("newfd", T.FD), ("flags", T.FLAGS32))),
    367: ("dup", (("res", T.FD), ("oldfd", T.FD))),
    369: ("bpf", (("fd", T.FD), ("cmd", T.INT32))),
    389: ("accept4", (("fd", T.FD), ("tuple", T.SOCKTUPLE), *_QUEUE, ("flags", T.INT32))),
    391: ("umount2", (_RES, ("name", T.FSPATH), ("flags", T.FLAGS32))),
    393: ("pipe2", (_RES, ("fd1", T.FD), ("fd2", T.FD), ("ino", T.UINT64), ("flags", T.FLAGS32))),
    401: (
        "prctl",
        (_RES, ("option", T.ENUMFLAGS32), ("arg2_str", T.CHARBUF), ("arg2_int", T.INT64)),
    ),
    405: ("memfd_create", (("fd", T.FD), ("name", T.CHARBUF), ("flags", T.FLAGS32))),
    411: (
        "init_module",
        (_RES, ("img", T.BYTEBUF), ("length", T.UINT64), ("uargs", T.CHARBUF)),
    ),
    413: ("finit_module", (_RES, ("fd", T.FD), ("uargs", T.CHARBUF), ("flags", T.FLAGS32))),
}

_FMT_BY_TYPE = {
    T.CHARBUF: "NA",
    T.BYTEBUF: "NA",
    T.FSPATH: "NA",
    T.FSRELPATH: "NA",
    T.SOCKADDR: "NA",
    T.SOCKTUPLE: "NA",
    T.FLAGS8: "HEX",
    T.FLAGS16: "HEX",
    T.FLAGS32: "HEX",
}


def _dirfd_index(params: tuple[tuple[str, ParamType], ...], index: int) -> int | None:
    """The dirfd an FSRELPATH resolves against: the nearest earlier FD param named like a dir."""
    for j in range(index - 1, -1, -1):
        name, ptype = params[j]
        if ptype == T.FD and "dir" in name:
            return j
    return None


@cache
def live_event_info(code: int) -> EventInfo | None:
    """The EventInfo of a record the probe emits with event `code` (None for an unknown code)."""
    layout = LIVE_LAYOUTS.get(code)
    if layout is None:
        return None
    name, params = layout
    table = event_info(code)
    known = {p.name: p for p in table.params} if table is not None else {}
    infos: list[ParamInfo] = []
    for i, (pname, ptype) in enumerate(params):
        base = known.get(pname)
        fmt = base.fmt if base is not None else _FMT_BY_TYPE.get(ptype, "DEC")
        flag_table = base.flag_table if base is not None and base.type == ptype else None
        dirfd = _dirfd_index(params, i) if ptype == T.FSRELPATH else None
        infos.append(ParamInfo(pname, ptype, fmt, flag_table, dirfd))
    return EventInfo(
        code=code,
        name=name,
        direction=table.direction if table is not None else "<",
        category=table.category if table is not None else "",
        flags=table.flags if table is not None else 0,
        params=tuple(infos),
        kind=table.kind if table is not None else "syscall",
        param_names={pname: i for i, (pname, _) in enumerate(params)},
    )
