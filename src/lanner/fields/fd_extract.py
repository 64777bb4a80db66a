"""Extractors of the ``fd``, ``fdlist`` and ``fs.path`` classes.

They read ``event.fd`` (the FdInfo the state layer attached) and ``event.fdnum``. Socket ends
are stored by role (client/server); local/remote follow from which end this process holds.
The filter-only "either end" fields (fd.ip, fd.port, fd.proto, fd.net) return a tuple of the
two ends: a comparison holds when any member matches, like the ancestor fields.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from lanner.events.table import ParamType
from lanner.fields._spec import fixed, none_extractor
from lanner.fields.evt_extract import FACTORIES as _EVT
from lanner.fields.registry import Extractor, ExtractorFactory

_CLIENT = 1
_SERVER = 2
_FILE_CHARS = frozenset({"f"})
_IP_CHARS = frozenset({"4", "6"})
_L4 = {2: "tcp", 3: "udp", 4: "icmp", 5: "raw"}

FdReader = Callable[[Any], Any]


def _of_fd(read: FdReader) -> Extractor:
    def extract(e: Any) -> Any:
        fd = e.fd
        return None if fd is None else read(fd)

    return extract


_OPEN_LIKE = frozenset({"open", "openat", "openat2", "creat"})


def _typechar(e: Any) -> str | None:
    """The fd's letter; without an fd entry, sysdig still answers 'f' for the open family
    and 'o' (unknown kind) for a descriptor number it has no entry for."""
    fd = e.fd
    if fd is not None:
        return str(fd.typechar)
    if e.type_name in _OPEN_LIKE:
        return "f"
    num = e.fdnum
    return "o" if num is not None and num >= 0 else None


def _typestring(fd: Any) -> str | None:
    text = fd.typestring
    return str(text) if text else None


def _directory(fd: Any) -> str | None:
    char = fd.typechar
    if char == "d":
        return str(fd.name)
    name = fd.name
    if char not in _FILE_CHARS or not name:
        return None
    head = name.rpartition("/")[0]  # posixpath.dirname minus its generality: 3x faster
    return str(head) if head else "/"


def _filename(fd: Any) -> str | None:
    name = fd.name
    if fd.typechar not in _FILE_CHARS or not name:
        return None
    return str(name.rpartition("/")[2])


def _ip_only(read: FdReader) -> FdReader:
    def wrapped(fd: Any) -> Any:
        return read(fd) if fd.typechar in _IP_CHARS else None

    return wrapped


def _local(fd: Any, ip: bool) -> Any:
    if fd.role == _CLIENT:
        return fd.cip if ip else fd.cport
    if fd.role == _SERVER:
        return fd.sip if ip else fd.sport
    return None


def _remote(fd: Any, ip: bool) -> Any:
    if fd.role == _CLIENT:
        return fd.sip if ip else fd.sport
    if fd.role == _SERVER:
        return fd.cip if ip else fd.cport
    return None


def _both(first: FdReader, second: FdReader) -> FdReader:
    def wrapped(fd: Any) -> tuple[Any, ...] | None:
        values = tuple(v for v in (first(fd), second(fd)) if v is not None)
        return values or None

    return wrapped


@lru_cache(maxsize=4096)
def service_name(port: int, proto: str) -> str:
    """Service name of a port (/etc/services), or the port number as text."""
    try:
        return socket.getservbyport(port, proto)
    except (OSError, OverflowError):
        return str(port)


def _proto(port_of: FdReader) -> FdReader:
    def wrapped(fd: Any) -> str | None:
        port = port_of(fd)
        if port is None:
            return None
        return service_name(port, _L4.get(fd.l4proto, "tcp"))

    return wrapped


def _l4proto(fd: Any) -> str:
    return _L4.get(fd.l4proto, "<NA>")


def _sockfamily(fd: Any) -> str | None:
    char = fd.typechar
    if char in _IP_CHARS:
        return "ip"
    if char == "u" and fd.is_socket:
        return "unix"
    return None


def _container_prefixed(read: FdReader) -> Extractor:
    def extract(e: Any) -> str | None:
        fd = e.fd
        if fd is None:
            return None
        value = read(fd)
        cid = getattr(e.thread, "container_id", None) or ""
        return f"{cid}:{value if value is not None else ''}"

    return extract


def _fd_uid(e: Any) -> str | None:
    if e.fd is None or e.fdnum is None:
        return None
    return f"{e.tid}{e.fdnum}"


# ---- fd.types -----------------------------------------------------------------------------

_FD_PARAM_TYPES = frozenset({ParamType.FD, ParamType.FD32})


def _event_fd_types(e: Any) -> tuple[str, ...]:
    table = getattr(e.thread, "fdtable", None)
    if table is None:
        return ()
    found: list[str] = []
    for i, param in enumerate(e.info.params[: e.nparams]):
        if param.type in _FD_PARAM_TYPES:
            num = e.param(i)
            info = table.get(num) if isinstance(num, int) else None
            if info is not None and info.typestring and info.typestring not in found:
                found.append(str(info.typestring))
    return tuple(found)


def _types_factory(arg: str | None) -> Extractor:
    if arg is None:
        return lambda e: _event_fd_types(e) or None
    index = int(arg)

    def nth(e: Any) -> tuple[str, ...] | None:
        kinds = _event_fd_types(e)
        return (kinds[index],) if index < len(kinds) else None

    return nth


# ---- fdlist -------------------------------------------------------------------------------


def _fdlist(read: FdReader) -> Extractor:
    def extract(e: Any) -> str | None:
        entries = e.param_by_name("fds")
        if not isinstance(entries, list):
            return None
        table = getattr(e.thread, "fdtable", None)
        parts = []
        for entry in entries:
            num = getattr(entry, "fd", entry)
            info = table.get(num) if table is not None else None
            value = read((num, info))
            if value is not None:
                parts.append(str(value))
        return ",".join(parts)

    return extract


def _listed(read: FdReader) -> FdReader:
    return lambda pair: None if pair[1] is None else read(pair[1])


# ---- fs.path ------------------------------------------------------------------------------

_RAW_PATH = {
    "name": ("path", "name", "pathname", "filename"),
    "source": ("oldpath", "linkpath", "source"),
    "target": ("newpath", "target"),
}


def _raw_path(which: str) -> Extractor:
    names = _RAW_PATH[which]

    def extract(e: Any) -> str | None:
        for name in names:
            value = e.param_by_name(name)
            if isinstance(value, str) and value:
                return value
        return None

    return extract


FACTORIES: dict[str, ExtractorFactory] = {
    "fd.num": fixed(lambda e: e.fdnum),
    "fd.type": fixed(_of_fd(_typestring)),
    "fd.typechar": fixed(_typechar),
    "fd.name": fixed(_of_fd(lambda fd: fd.name)),
    "fd.nameraw": fixed(_of_fd(lambda fd: fd.nameraw)),
    "fd.directory": fixed(_of_fd(_directory)),
    "fd.filename": fixed(_of_fd(_filename)),
    "fd.ino": fixed(_of_fd(lambda fd: fd.ino)),
    "fd.dev": fixed(_of_fd(lambda fd: fd.dev)),
    "fd.dev.major": fixed(_of_fd(lambda fd: fd.dev >> 20)),
    "fd.dev.minor": fixed(_of_fd(lambda fd: fd.dev & 0xFFFFF)),
    "fd.uid": fixed(_fd_uid),
    "fd.containername": fixed(_container_prefixed(lambda fd: fd.name)),
    "fd.containerdirectory": fixed(_container_prefixed(_directory)),
    "fd.types": _types_factory,
    "fd.ip": fixed(_of_fd(_ip_only(_both(lambda fd: fd.cip, lambda fd: fd.sip)))),
    "fd.cip": fixed(_of_fd(_ip_only(lambda fd: fd.cip))),
    "fd.sip": fixed(_of_fd(_ip_only(lambda fd: fd.sip))),
    "fd.lip": fixed(_of_fd(_ip_only(lambda fd: _local(fd, True)))),
    "fd.rip": fixed(_of_fd(_ip_only(lambda fd: _remote(fd, True)))),
    "fd.port": fixed(_of_fd(_ip_only(_both(lambda fd: fd.cport, lambda fd: fd.sport)))),
    "fd.cport": fixed(_of_fd(_ip_only(lambda fd: fd.cport))),
    "fd.sport": fixed(_of_fd(_ip_only(lambda fd: fd.sport))),
    "fd.lport": fixed(_of_fd(_ip_only(lambda fd: _local(fd, False)))),
    "fd.rport": fixed(_of_fd(_ip_only(lambda fd: _remote(fd, False)))),
    "fd.proto": fixed(
        _of_fd(_ip_only(_both(_proto(lambda fd: fd.cport), _proto(lambda fd: fd.sport))))
    ),
    "fd.cproto": fixed(_of_fd(_ip_only(_proto(lambda fd: fd.cport)))),
    "fd.sproto": fixed(_of_fd(_ip_only(_proto(lambda fd: fd.sport)))),
    "fd.lproto": fixed(_of_fd(_ip_only(_proto(lambda fd: _local(fd, False))))),
    "fd.rproto": fixed(_of_fd(_ip_only(_proto(lambda fd: _remote(fd, False))))),
    "fd.net": fixed(_of_fd(_ip_only(_both(lambda fd: fd.cip, lambda fd: fd.sip)))),
    "fd.cnet": fixed(_of_fd(_ip_only(lambda fd: fd.cip))),
    "fd.snet": fixed(_of_fd(_ip_only(lambda fd: fd.sip))),
    "fd.lnet": fixed(_of_fd(_ip_only(lambda fd: _local(fd, True)))),
    "fd.rnet": fixed(_of_fd(_ip_only(lambda fd: _remote(fd, True)))),
    "fd.l4proto": fixed(_of_fd(_l4proto)),
    "fd.sockfamily": fixed(_of_fd(_sockfamily)),
    "fd.is_server": fixed(_of_fd(lambda fd: fd.role == _SERVER)),
    "fd.connected": fixed(_of_fd(lambda fd: bool(fd.connected))),
    "fd.name_changed": fixed(_of_fd(lambda fd: bool(fd.name_changed))),
    "fd.cip.name": fixed(none_extractor),
    "fd.sip.name": fixed(none_extractor),
    "fd.lip.name": fixed(none_extractor),
    "fd.rip.name": fixed(none_extractor),
    "fd.is_upper_layer": fixed(none_extractor),
    "fd.is_lower_layer": fixed(none_extractor),
    "fdlist.nums": fixed(_fdlist(lambda pair: pair[0])),
    "fdlist.names": fixed(_fdlist(_listed(lambda fd: fd.name))),
    "fdlist.cips": fixed(_fdlist(_listed(_ip_only(lambda fd: fd.cip)))),
    "fdlist.sips": fixed(_fdlist(_listed(_ip_only(lambda fd: fd.sip)))),
    "fdlist.cports": fixed(_fdlist(_listed(_ip_only(lambda fd: fd.cport)))),
    "fdlist.sports": fixed(_fdlist(_listed(_ip_only(lambda fd: fd.sport)))),
    "fs.path.name": _EVT["evt.abspath"],
    "fs.path.nameraw": fixed(_raw_path("name")),
    "fs.path.source": _EVT["evt.abspath.src"],
    "fs.path.sourceraw": fixed(_raw_path("source")),
    "fs.path.target": _EVT["evt.abspath.dst"],
    "fs.path.targetraw": fixed(_raw_path("target")),
}
