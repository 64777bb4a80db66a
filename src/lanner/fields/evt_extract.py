"""Extractors of the ``evt`` class, specialised per field (and argument) at bind time.

Values follow sysdig's: results exist on exit events only, ``evt.arg`` gives the resolved
text of a parameter when there is one (flag names, errno name, ``<f>/path`` for a
descriptor) and its plain rendering otherwise, ``evt.args`` shows both as ``3(<f>/path)``.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from lanner.events.render import errno_name as _errno_name
from lanner.events.table import EVENT_TABLE, GENERIC_E, GENERIC_X, ParamType
from lanner.fields._spec import fixed, none_extractor
from lanner.fields.registry import Extractor, ExtractorFactory, FieldType

NS = 1_000_000_000
_NUMBER_TYPES = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.RELTIME, FieldType.ABSTIME})

# Param types whose negative value means a failed call.
_SIGNED_RESULT = frozenset({ParamType.ERRNO, ParamType.FD, ParamType.PID, ParamType.INT64,
                            ParamType.INT32, ParamType.FD32, ParamType.PID32})  # fmt: skip
_GENERIC_CODES = frozenset({GENERIC_E, GENERIC_X})
_RESULT_NAMES = frozenset({"res", "fd"})
_FD_TYPES = frozenset({ParamType.FD, ParamType.FD32})
_ID_TABLES = {ParamType.UID: "users", ParamType.GID: "groups"}
_L4_LETTERS = {2: "t", 3: "u", 4: "i", 5: "r"}  # scap L4 codes: tcp, udp, icmp, raw
_PID_TYPES = frozenset({ParamType.PID, ParamType.PID32})
_NUMBER_WITH_NAMES = re.compile(r"^(-?(?:0x)?[0-9A-Fa-f]+)\((.*)\)$")
_OPEN_TYPES = frozenset({"open", "openat", "openat2"})
_O_ACCMODE = 3
_O_RDONLY_BIT = 1 << 0  # PPM_O_RDONLY
_O_WRONLY_BIT = 1 << 1  # PPM_O_WRONLY
_O_CREAT_BIT = 1 << 2  # PPM_O_CREAT
_PPM_S_IXUSR_ETC = 0o111


def errno_name(code: int) -> str:
    """Name of a positive errno value (ENOENT, ERESTARTSYS); the number itself when unknown."""
    return _errno_name(code) or str(code)


# ---- time ---------------------------------------------------------------------------------


def _clock(ts: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts // NS))


def _time(e: Any) -> str:
    return f"{_clock(e.ts)}.{e.ts % NS:09d}"


def _time_s(e: Any) -> str:
    return _clock(e.ts)


def _datetime(e: Any) -> str:
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(e.ts // NS))}.{e.ts % NS:09d}"


def _datetime_s(e: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.ts // NS))


def iso8601(ts: int) -> str:
    """``2016-08-04T16:17:57.881781397+0000``: the time stamp of Falco's text alerts."""
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ts // NS))}.{ts % NS:09d}+0000"


def _iso8601(e: Any) -> str:
    return iso8601(e.ts)


def _state_int(e: Any, name: str) -> int | None:
    value = getattr(e.state, name, None)
    return value if isinstance(value, int) else None


def _reltime(e: Any) -> int | None:
    start = _state_int(e, "start_ts")
    return None if start is None else e.ts - start


def _deltatime(e: Any) -> int | None:
    prev = _state_int(e, "prev_ts")
    return None if prev is None else e.ts - prev


def _latency(e: Any) -> int:
    enter = e.enter
    if e.direction != "<" or enter is None:
        return 0
    return int(e.ts - enter.ts)


def human_duration(ns: int) -> str:
    """sysdig's readable duration: 808ns, 3.95us, 12.40ms, 1.50s."""
    if ns < 1000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return f"{ns / 1000:.2f}us"
    if ns < NS:
        return f"{ns / 1_000_000:.2f}ms"
    return f"{ns / NS:.2f}s"


def _split(get: Callable[[Any], int | None], part: str) -> Extractor:
    if part == "s":

        def seconds(e: Any) -> int | None:
            value = get(e)
            return None if value is None else value // NS

        return seconds

    def nanos(e: Any) -> int | None:
        value = get(e)
        return None if value is None else value % NS

    return nanos


# ---- result -------------------------------------------------------------------------------


def _result_index(e: Any) -> int | None:
    """Index of the return value: the first parameter of an exit event."""
    if e.direction != "<" or e.nparams == 0:
        return None
    return 0


def raw_result(e: Any) -> int | None:
    """The exit event's return value as a signed number, None on enter events.

    The return value is a first parameter called ``res`` or ``fd``; generic syscall events
    carry only the syscall id, so they have none (as in sysdig).
    """
    if e.direction != "<" or e.nparams == 0 or e.info.params[0].name not in _RESULT_NAMES:
        return None
    value = e.param(0)
    if not isinstance(value, int):
        return None
    return value


def _failed_value(e: Any) -> bool:
    if e.direction != "<" or e.nparams == 0:
        return False
    params = e.info.params
    if not params or params[0].type not in _SIGNED_RESULT:
        return False
    value = e.param(0)
    return isinstance(value, int) and value < 0


def _res(e: Any) -> str | None:
    value = raw_result(e)
    if value is None:
        return None
    if value < 0 and _failed_value(e):
        return errno_name(-value)
    return "SUCCESS"


def _count_exit(e: Any) -> int | None:
    return 1 if e.direction == "<" else None


def _count_error(category: str | None) -> Extractor:
    def count(e: Any) -> int | None:
        if not _failed_value(e):
            return None
        if category is None:
            return 1
        cat = _category_value(e)
        if category == "other":
            return None if cat in ("file", "net", "memory") else 1
        return 1 if cat == category else None

    return count


# ---- category and io ----------------------------------------------------------------------

_FD_CATEGORY = {"f": "file", "d": "file", "4": "net", "6": "net", "u": "ipc", "p": "ipc",
                "e": "ipc", "s": "ipc", "l": "ipc", "i": "ipc"}  # fmt: skip


def _category_value(e: Any) -> str:
    cat: str = e.info.category
    if cat.startswith("io_"):
        fd = e.fd
        if fd is None:
            return "unknown"
        return _FD_CATEGORY.get(fd.typechar, "unknown")
    if cat == "ipc":
        return "IPC"
    return cat


def _io_test(kinds: tuple[str, ...]) -> Extractor:
    def test(e: Any) -> bool:
        return e.info.category in kinds

    return test


def _io_dir(e: Any) -> str | None:
    cat = e.info.category
    if cat == "io_read":
        return "r"
    if cat == "io_write":
        return "w"
    return None


def _is_wait(e: Any) -> bool:
    return e.info.category == "wait" or bool(e.info.flags & (1 << 7))


def _is_syslog(e: Any) -> bool:
    fd = e.fd
    return e.info.category == "io_write" and fd is not None and fd.name == "/dev/log"


def _buffer_index(e: Any) -> int | None:
    for name in ("data", "buf", "msg"):
        index: int | None = e.param_index(name)
        if index is not None and e.info.params[index].type is ParamType.BYTEBUF:
            return index
    return None


def _buffer(e: Any) -> bytes | None:
    index = _buffer_index(e)
    if index is None:
        return None
    value = e.param(index)
    return value if isinstance(value, bytes) else e.param_raw(index)


def _buflen(e: Any) -> int | None:
    if e.direction != "<" or e.fd is None or not e.info.category.startswith("io_"):
        return None
    value = raw_result(e)
    return value if value is not None and value >= 0 else None


# ---- open flags ---------------------------------------------------------------------------


def _open_flags(e: Any) -> int | None:
    if e.type_name not in _OPEN_TYPES or e.direction != "<":
        return None
    flags = e.param_by_name("flags")
    return flags if isinstance(flags, int) else None


def _is_open_read(e: Any) -> bool:
    flags = _open_flags(e)
    return flags is not None and bool(flags & _O_RDONLY_BIT)


def _is_open_write(e: Any) -> bool:
    flags = _open_flags(e)
    return flags is not None and bool(flags & _O_WRONLY_BIT)


def _is_open_create(e: Any) -> bool:
    flags = _open_flags(e)
    return flags is not None and bool(flags & _O_CREAT_BIT)


def _is_open_exec(e: Any) -> bool:
    if e.direction != "<" or e.type_name not in (*_OPEN_TYPES, "creat"):
        return False
    flags = e.param_by_name("flags")
    if e.type_name != "creat" and not (isinstance(flags, int) and flags & _O_CREAT_BIT):
        return False
    mode = e.param_by_name("mode")
    return isinstance(mode, int) and bool(mode & _PPM_S_IXUSR_ETC)


# ---- arguments ----------------------------------------------------------------------------


def _fd_entry(e: Any, fdnum: int) -> Any:
    """The FdInfo of descriptor `fdnum` in the event thread's table, or None."""
    thread = e.thread
    if thread is None or fdnum < 0:
        return None
    table = getattr(thread, "fdtable", None)
    return table.get(fdnum) if table is not None else None


def _fd_resolved(e: Any, fdnum: int) -> str:
    """``<f>/etc/passwd``, ``<4t>10.0.0.1:4->10.0.0.2:80`` (letter of the kind, then of the
    transport for IP sockets) for a descriptor known to the fd table, else ''."""
    info = _fd_entry(e, fdnum)
    if info is None:
        return ""
    transport = _L4_LETTERS.get(info.l4proto, "") if info.typechar in ("4", "6") else ""
    return f"<{info.typechar}{transport}>{info.name}"


def _fdlist_text(e: Any, entries: Any) -> str:
    """``fd:flags`` per polled descriptor, the kind letter before the flags when known."""
    parts = []
    for entry in entries or ():
        info = _fd_entry(e, entry.fd)
        letter = info.typechar if info is not None else ""
        parts.append(f"{entry.fd}:{letter}{entry.flags:x}")
    return " ".join(parts)


def _path_resolved(e: Any, path: str) -> str:
    """A relative path joined to the thread's working directory; '' for absolute ones."""
    if not path or path.startswith("/"):
        return ""
    cwd = getattr(e.thread, "cwd", None)
    if not cwd:
        return ""
    return posixpath.normpath(posixpath.join(cwd, path))


def _pid_resolved(e: Any, pid: int) -> str:
    threads = getattr(e.state, "threads", None)
    if threads is None:
        return ""
    info = threads.threads.get(pid) if hasattr(threads, "threads") else threads.get(pid)
    return str(info.comm) if info is not None else ""


def _id_name(e: Any, table_name: str, ident: int) -> str:
    """The user (or group) name of an id from the state's tables, '' when unknown."""
    table = getattr(e.state, table_name, None)
    entry = table.get(ident) if table is not None else None
    name = getattr(entry, "name", None)
    return name if isinstance(name, str) else ""


def render_arg(e: Any, i: int) -> tuple[str, str]:
    """(plain text, resolved text) of parameter ``i``; resolved is '' when there is none.

    Numbers with names (flags, errno) render as ``4097(O_RDONLY|O_CLOEXEC)``: the names are
    the resolved part. Descriptors resolve through the fd table, pids to the thread's name,
    uids and gids to user and group names, relative paths against the working directory.
    """
    params = e.info.params
    param = params[i] if i < len(params) else None
    text: str = e.render_param(i)
    if param is None:
        return text, ""
    # Paths and poll lists have no number format ("NA") but still get state decorations.
    if param.type is ParamType.FSPATH:
        value = e.param(i)
        return text, _path_resolved(e, value) if isinstance(value, str) else ""
    if param.type is ParamType.FDLIST:
        return _fdlist_text(e, e.param(i)), ""
    if param.fmt == "NA":
        return text, ""
    match = _NUMBER_WITH_NAMES.match(text)
    if match:
        return match.group(1), match.group(2)
    if param.type in _FD_TYPES:
        value = e.param(i)
        return text, _fd_resolved(e, value) if isinstance(value, int) else ""
    if param.type in _PID_TYPES:
        value = e.param(i)
        return text, _pid_resolved(e, value) if isinstance(value, int) else ""
    if param.type in _ID_TABLES:
        value = e.param(i)
        return text, _id_name(e, _ID_TABLES[param.type], value) if isinstance(value, int) else ""
    return text, ""


def render_args(e: Any) -> str:
    """sysdig's evt.args text: ``name=value `` per parameter, value(resolved) when resolved.

    Generic syscall events show nothing: their only parameters are syscall ids.
    """
    if e.code in _GENERIC_CODES:
        return ""
    parts = []
    for i in range(e.nparams):
        text, resolved = render_arg(e, i)
        name = e.info.params[i].name if i < len(e.info.params) else f"arg{i}"
        parts.append(f"{name}={text}({resolved}) " if resolved else f"{name}={text} ")
    return "".join(parts)


def _arg_value(e: Any, i: int) -> str:
    text, resolved = render_arg(e, i)
    return resolved or text


def _arg_factory(arg: str | None) -> Extractor:
    if arg is None:
        return none_extractor
    if arg.isdigit():
        index = int(arg)

        def by_index(e: Any) -> str | None:
            return _arg_value(e, index) if index < e.nparams else None

        return by_index
    name = arg

    def by_name(e: Any) -> str | None:
        index = e.param_index(name)
        if index is not None:
            return _arg_value(e, index)
        enter = e.enter
        if enter is not None and enter is not e:
            index = enter.param_index(name)
            if index is not None:
                return _arg_value(enter, index)
        return None

    return by_name


# How a parameter's raw value compares (by its wire type); text for everything else.
_RAW_NUMERIC = frozenset({
    ParamType.INT8, ParamType.INT16, ParamType.INT32, ParamType.INT64, ParamType.UINT8,
    ParamType.UINT16, ParamType.UINT32, ParamType.UINT64, ParamType.ERRNO, ParamType.FD,
    ParamType.PID, ParamType.SYSCALLID, ParamType.SIGTYPE, ParamType.PORT, ParamType.L4PROTO,
    ParamType.SOCKFAMILY, ParamType.BOOL, ParamType.FLAGS8, ParamType.FLAGS16,
    ParamType.FLAGS32, ParamType.UID, ParamType.GID, ParamType.MODE, ParamType.ENUMFLAGS8,
    ParamType.ENUMFLAGS16, ParamType.ENUMFLAGS32, ParamType.FD32, ParamType.PID32,
})  # fmt: skip
_RAW_TYPES = {
    ParamType.RELTIME: FieldType.RELTIME,
    ParamType.ABSTIME: FieldType.ABSTIME,
    ParamType.DOUBLE: FieldType.DOUBLE,
    ParamType.BYTEBUF: FieldType.BYTES,
    ParamType.IPV4ADDR: FieldType.IPADDR,
    ParamType.IPV6ADDR: FieldType.IPADDR,
    ParamType.IPADDR: FieldType.IPADDR,
}


@cache
def rawarg_type(name: str) -> FieldType | None:
    """The type of ``evt.rawarg.<name>``: that of the first event-table parameter so named,
    as libsinsp decides it; None for a name no event has."""
    for info in EVENT_TABLE:
        for param in info.params:
            if param.name == name:
                if param.type in _RAW_NUMERIC:
                    return FieldType.INT
                return _RAW_TYPES.get(param.type, FieldType.STRING)
    return None


def _rawarg_factory(arg: str | None) -> Extractor:
    """The parameter's value as its wire type says (numbers for numbers), whatever event it
    comes from; text for compound values (addresses, tuples, lists)."""
    if arg is None:
        return none_extractor
    name = arg
    wanted = rawarg_type(name) or FieldType.STRING

    def rawarg(e: Any) -> Any:
        index = e.param_index(name)
        source = e
        if index is None:
            enter = e.enter
            if enter is None or enter is e:
                return None
            index = enter.param_index(name)
            if index is None:
                return None
            source = enter
        value = source.param(index)
        if wanted is FieldType.STRING:
            if isinstance(value, str):
                return value
            return None if value is None else source.render_param(index)
        if wanted in _NUMBER_TYPES:
            return value if isinstance(value, int | float) else None
        return value

    return rawarg


def _type_is_factory(arg: str | None) -> Extractor:
    wanted = arg

    def type_is(e: Any) -> int:
        return 1 if e.type_name == wanted else 0

    return type_is


def _syscall_type(e: Any) -> str | None:
    if e.info.kind != "syscall":
        return None
    name: str = e.type_name
    return name


def _hostname(e: Any) -> str | None:
    name = getattr(e.state, "hostname", None)
    if isinstance(name, str):
        return name
    import socket

    return socket.gethostname()


def _abspath_factory(which: str | None) -> ExtractorFactory:
    names = {
        None: ("path", "name", "pathname", "filename"),
        "src": ("oldpath", "linkpath", "source"),
        "dst": ("newpath", "target"),
    }[which]
    dirfd_names = {
        None: ("dirfd",),
        "src": ("olddirfd", "dirfd"),
        "dst": ("newdirfd", "linkdirfd"),
    }
    dirfds = dirfd_names[which]

    def abspath(e: Any) -> str | None:
        for name in names:
            path = e.param_by_name(name)
            if isinstance(path, str) and path:
                break
        else:
            return None
        if path.startswith("/"):
            return path
        base: str | None = None
        for dirfd_name in dirfds:
            dirfd = e.param_by_name(dirfd_name)
            if isinstance(dirfd, int):
                if dirfd == -100:  # AT_FDCWD
                    base = getattr(e.thread, "cwd", None)
                else:
                    table = getattr(e.thread, "fdtable", None)
                    info = table.get(dirfd) if table is not None else None
                    base = info.name if info is not None else None
                break
        else:
            base = getattr(e.thread, "cwd", None)
        if not base:
            return None
        return _join(base, path)

    return fixed(abspath)


def _join(base: str, path: str) -> str:
    import posixpath

    return posixpath.normpath(posixpath.join(base, path))


FACTORIES: dict[str, ExtractorFactory] = {
    "evt.num": fixed(lambda e: e.num),
    "evt.time": fixed(_time),
    "evt.time.s": fixed(_time_s),
    "evt.time.iso8601": fixed(_iso8601),
    "evt.datetime": fixed(_datetime),
    "evt.datetime.s": fixed(_datetime_s),
    "evt.rawtime": fixed(lambda e: e.ts),
    "evt.rawtime.s": fixed(lambda e: e.ts // NS),
    "evt.rawtime.ns": fixed(lambda e: e.ts % NS),
    "evt.reltime": fixed(_reltime),
    "evt.reltime.s": fixed(_split(_reltime, "s")),
    "evt.reltime.ns": fixed(_split(_reltime, "ns")),
    "evt.hostname": fixed(_hostname),
    "evt.source": fixed(lambda e: "syscall"),
    "evt.is_async": fixed(lambda e: e.info.kind == "metaevent"),
    "evt.latency": fixed(_latency),
    "evt.latency.s": fixed(_split(_latency, "s")),
    "evt.latency.ns": fixed(_split(_latency, "ns")),
    "evt.latency.human": fixed(lambda e: human_duration(_latency(e))),
    "evt.deltatime": fixed(_deltatime),
    "evt.deltatime.s": fixed(_split(_deltatime, "s")),
    "evt.deltatime.ns": fixed(_split(_deltatime, "ns")),
    "evt.dir": fixed(lambda e: e.direction),
    "evt.type": fixed(lambda e: e.type_name),
    "evt.type.is": _type_is_factory,
    "syscall.type": fixed(_syscall_type),
    "evt.category": fixed(_category_value),
    "evt.cpu": fixed(lambda e: e.cpu),
    "evt.args": fixed(render_args),
    "evt.info": fixed(render_args),
    "evt.arg": _arg_factory,
    "evt.rawarg": _rawarg_factory,
    "evt.buffer": fixed(_buffer),
    "evt.buflen": fixed(_buflen),
    "evt.res": fixed(_res),
    "evt.rawres": fixed(raw_result),
    "evt.failed": fixed(_failed_value),
    "evt.is_io": fixed(_io_test(("io_read", "io_write"))),
    "evt.is_io_read": fixed(_io_test(("io_read",))),
    "evt.is_io_write": fixed(_io_test(("io_write",))),
    "evt.io_dir": fixed(_io_dir),
    "evt.is_wait": fixed(_is_wait),
    "evt.is_syslog": fixed(_is_syslog),
    "evt.count": fixed(lambda e: 1),
    "evt.count.error": fixed(_count_error(None)),
    "evt.count.error.file": fixed(_count_error("file")),
    "evt.count.error.net": fixed(_count_error("net")),
    "evt.count.error.memory": fixed(_count_error("memory")),
    "evt.count.error.other": fixed(_count_error("other")),
    "evt.count.exit": fixed(_count_exit),
    "evt.abspath": _abspath_factory(None),
    "evt.abspath.src": _abspath_factory("src"),
    "evt.abspath.dst": _abspath_factory("dst"),
    "evt.is_open_read": fixed(_is_open_read),
    "evt.is_open_write": fixed(_is_open_write),
    "evt.is_open_exec": fixed(_is_open_exec),
    "evt.is_open_create": fixed(_is_open_create),
}

# Fields whose type follows their argument (see FieldInfo.arg_type).
ARG_TYPES: dict[str, Callable[[str], FieldType | None]] = {"evt.rawarg": rawarg_type}
