"""Extractors of the ``evt`` class, specialised per field (and argument) at bind time.

Values follow sysdig's: results exist on exit events only, ``evt.arg`` gives the resolved
text of a parameter when there is one (flag names, errno name, ``<f>/path`` for a
descriptor) and its plain rendering otherwise, ``evt.args`` shows both as ``3(<f>/path)``.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from typing import Any

from lanner.events._syscall_categories import SYSCALL_CATEGORY
from lanner.events.render import errno_name as _errno_name
from lanner.events.table import EF_READS_FROM_FD, EF_WAITS, EF_WRITES_TO_FD, GENERIC_X, ParamType
from lanner.fields._spec import fixed
from lanner.fields.evt_args import arg_factory, rawarg_factory, render_args
from lanner.fields.registry import Extractor, ExtractorFactory

NS = 1_000_000_000

# Param types whose negative value means a failed call.
_SIGNED_RESULT = frozenset({ParamType.ERRNO, ParamType.FD, ParamType.PID, ParamType.INT64,
                            ParamType.INT32, ParamType.FD32, ParamType.PID32})  # fmt: skip
_RESULT_NAMES = frozenset({"res", "fd"})
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
    return None if start is None or not e.ts else Padded9(e.ts - start)


def _deltatime_factory(_arg: str | None) -> Extractor:
    """libsinsp's evt.deltatime: time since the previous event *this* use of the field was
    read on (each output format or condition has its own), 0 the first time. Reading the same
    event again (a viewer checks then renders) gives the same value."""
    last: list[Any] = [None, None, None]  # event, its value, the previous event's ts

    def extract(e: Any) -> int | None:
        if not e.ts:
            return None  # a metadata event of an old capture: no time
        if e is last[0]:
            return int(last[1])
        prev = last[2]
        value = 0 if prev is None else e.ts - prev
        last[0], last[1], last[2] = e, value, e.ts
        return value

    return extract


def _split_factory(factory: ExtractorFactory, part: str) -> ExtractorFactory:
    return lambda arg: _split(factory(arg), part)


def _latency(e: Any) -> int:
    enter = e.enter
    if e.direction != "<" or enter is None:
        return 0
    return int(e.ts - enter.ts)


def _wait_latency(e: Any) -> int | None:
    """The latency of a waiting call (select, poll, epoll_wait, nanosleep...), on its exit only,
    as libsinsp's evt.wait_latency."""
    if e.direction != "<" or not e.info.flags & EF_WAITS:
        return None
    return _latency(e)


def _asynctype(e: Any) -> str | None:
    """The kind of a metaevent: an asyncevent's own name, else the event's ("container")."""
    if e.info.kind != "metaevent":
        return None
    if e.type_name == "asyncevent":
        name = e.param_by_name("name")
        return name if isinstance(name, str) else None
    return str(e.type_name)


def human_duration(ns: int) -> str:
    """sysdig's readable duration: 808ns, 3.95us, 12.40ms, 1.50s."""
    if ns < 1000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return f"{ns / 1000:.2f}us"
    if ns < NS:
        return f"{ns / 1_000_000:.2f}ms"
    return f"{ns / NS:.2f}s"


class Padded9(int):
    """A nanosecond count shown on 9 digits, zero-padded (libsinsp's PF_10_PADDED_DEC print
    format: evt.reltime, the .ns parts); a plain int to compare and in JSON."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{int(self):09d}"


def _split(get: Callable[[Any], int | None], part: str) -> Extractor:
    if part == "s":

        def seconds(e: Any) -> int | None:
            value = get(e)
            return None if value is None else value // NS

        return seconds

    def nanos(e: Any) -> int | None:
        value = get(e)
        return None if value is None else Padded9(value % NS)

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
    if e.code <= GENERIC_X:
        # A generic event: the category of its syscall, as libsinsp reports it.
        cat = SYSCALL_CATEGORY.get(e.type_name, cat)
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
    """libsinsp's values (its field description says 'r'/'w', its extractor returns these),
    from the event's read/write flags."""
    flags = e.info.flags
    if flags & EF_WRITES_TO_FD:
        return "write"
    if flags & EF_READS_FROM_FD:
        return "read"
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
    "evt.rawtime.ns": fixed(lambda e: Padded9(e.ts % NS)),
    "evt.reltime": fixed(_reltime),
    "evt.reltime.s": fixed(_split(_reltime, "s")),
    "evt.reltime.ns": fixed(_split(_reltime, "ns")),
    "evt.hostname": fixed(_hostname),
    "evt.source": fixed(lambda e: "syscall"),
    "evt.is_async": fixed(lambda e: e.info.kind == "metaevent"),
    "evt.asynctype": fixed(_asynctype),
    "evt.latency": fixed(_latency),
    "evt.wait_latency": fixed(_wait_latency),
    "evt.latency.s": fixed(_split(_latency, "s")),
    "evt.latency.ns": fixed(_split(_latency, "ns")),
    "evt.latency.human": fixed(lambda e: human_duration(_latency(e))),
    "evt.deltatime": _deltatime_factory,
    "evt.deltatime.s": _split_factory(_deltatime_factory, "s"),
    "evt.deltatime.ns": _split_factory(_deltatime_factory, "ns"),
    "evt.dir": fixed(lambda e: e.direction),
    "evt.type": fixed(lambda e: e.type_name),
    "evt.type.is": _type_is_factory,
    "syscall.type": fixed(_syscall_type),
    "evt.category": fixed(_category_value),
    "evt.cpu": fixed(lambda e: e.cpu),
    "evt.args": fixed(render_args),
    "evt.info": fixed(render_args),
    "evt.arg": arg_factory,
    "evt.rawarg": rawarg_factory,
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
