"""The ``evt.arg`` / ``evt.args`` / ``evt.rawarg`` extractors: event parameters as text,
decorated like sysdig from the state (fd names, thread and user names, resolved paths), or
as raw values typed by their parameter.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from lanner.events.table import EVENT_TABLE, GENERIC_E, GENERIC_X, ParamType
from lanner.fields._spec import none_extractor
from lanner.fields.registry import Extractor, FieldType

_GENERIC_CODES = frozenset({GENERIC_E, GENERIC_X})
_FD_TYPES = frozenset({ParamType.FD, ParamType.FD32})
_ID_TABLES = {ParamType.UID: "users", ParamType.GID: "groups"}
_NUMBER_WITH_NAMES = re.compile(r"^(-?(?:0x)?[0-9A-Fa-f]+)\((.*)\)$")
_PID_TYPES = frozenset({ParamType.PID, ParamType.PID32})
_NUMBER_TYPES = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.RELTIME, FieldType.ABSTIME})
_L4_LETTERS = {2: "t", 3: "u", 4: "i", 5: "r"}  # scap L4 codes: tcp, udp, icmp, raw


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


def arg_factory(arg: str | None) -> Extractor:
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


def rawarg_factory(arg: str | None) -> Extractor:
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


# Fields whose type follows their argument (see FieldInfo.arg_type).
ARG_TYPES: dict[str, Callable[[str], FieldType | None]] = {"evt.rawarg": rawarg_type}
