"""Extractors of the ``fd``, ``fdlist`` and ``fs.path`` classes.

They read ``event.fd`` (the FdInfo the state layer attached) and ``event.fdnum``. Socket ends
are stored by role (client/server); local/remote follow from which end this process holds.
The filter-only "either end" fields (fd.ip, fd.port, fd.proto, fd.net) return the two ends as a
tuple (a socket not connected yet: the zero address and port); the compiler gives them
libsinsp's semantics (either end for =, in and the orderings, neither end for !=).
"""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from lanner.events.table import EF_CREATES_FD, EF_DESTROYS_FD, EF_USES_FD, ParamType
from lanner.fields._spec import fixed, none_extractor
from lanner.fields.evt_args import render_arg
from lanner.fields.evt_extract import FACTORIES as _EVT
from lanner.fields.registry import Extractor, ExtractorFactory

_NO_ROLE = 0
_FILE_CHARS = frozenset({"f"})
_IP_CHARS = frozenset({"4", "6"})
_L4 = {2: "tcp", 3: "udp", 4: "icmp", 5: "raw"}

FdReader = Callable[[Any], Any]


_FD_EVENT_FLAGS = EF_CREATES_FD | EF_USES_FD | EF_DESTROYS_FD

# Letter sysdig gives an fd it has no entry for, from the kind of event (enter or exit) that
# creates it; 'o' for any other fd event. Sockets are always '4' there, even IPv6 or unix.
_CREATOR_TYPECHAR = {
    "open": "f", "openat": "f", "openat2": "f", "creat": "f",
    "socket": "4", "accept": "4", "accept4": "4",
    "pipe": "p", "pipe2": "p",
    "eventfd": "e", "eventfd2": "e",
    "signalfd": "s", "signalfd4": "s",
    "timerfd_create": "t",
    "inotify_init": "i", "inotify_init1": "i",
}  # fmt: skip
# Exit events whose second parameter names the fd they create (path or connection tuple).
_NAMED_BY_SECOND_PARAM = frozenset({"open", "creat", "accept", "accept4", "connect"})
_AT_FDCWD = -100


def _fd_event(e: Any) -> bool:
    """Whether fd fields apply: an fd event (creates, uses or destroys one) of a known thread."""
    return bool(e.info.flags & _FD_EVENT_FLAGS) and e.thread is not None


def _of_fd(read: FdReader) -> Extractor:
    """Read the event's fd entry; unavailable without one (and outside fd events)."""

    def extract(e: Any) -> Any:
        fd = e.fd
        return None if fd is None or not _fd_event(e) else read(fd)

    return extract


def creator_name(e: Any) -> str | None:
    """The name an fd-creating exit event gives its fd, used when the fd has no entry (the
    call failed, or the fd predates the capture): sysdig reports it all the same. '' for the
    other exit events, None for enter events."""
    if e.direction != "<":
        return None
    name = e.type_name
    if name in _NAMED_BY_SECOND_PARAM:
        if e.nparams < 2:
            return ""
        text, resolved = render_arg(e, 1)
        return resolved or text
    if name in ("openat", "openat2"):
        return _openat_path(e)
    return ""


def _openat_path(e: Any) -> str:
    path = e.param_by_name("name")
    if not isinstance(path, str):
        return ""
    if path.startswith("/"):
        return posixpath.normpath(path)
    dirfd = e.param_by_name("dirfd")
    base: str | None = None
    if dirfd == _AT_FDCWD:
        base = getattr(e.thread, "cwd", None)
    elif isinstance(dirfd, int):
        table = getattr(e.thread, "fdtable", None)
        info = table.get(dirfd) if table is not None else None
        base = None if info is None else info.name
    return posixpath.normpath(posixpath.join(base or "", path)) if base else path


def _fd_name(e: Any) -> str | None:
    if not _fd_event(e):
        return None
    fd = e.fd
    failed_connect = e.type_name == "connect" and e.direction == "<" and _negative_result(e)
    if fd is None or failed_connect:
        return creator_name(e)
    return str(fd.name)


def _negative_result(e: Any) -> bool:
    value = e.param(0) if e.nparams else None
    return isinstance(value, int) and value < 0


def _typechar(e: Any) -> str | None:
    """The fd's letter; without an fd entry, the letter of the kind the event creates."""
    if not _fd_event(e):
        return None
    fd = e.fd
    if fd is not None:
        return str(fd.typechar)
    return _CREATOR_TYPECHAR.get(e.type_name, "o")


def _typestring(fd: Any) -> str | None:
    text = fd.typestring
    return str(text) if text else None


def dirname_like_sysdig(path: str) -> str:
    """The directory part of a path: up to the last '/' (a trailing '/' keeps the path as is),
    '/' when the only '/' is the first character or there is none."""
    cut = path.rfind("/")
    if cut <= 0:
        return "/"
    return path[:cut] if cut < len(path) - 1 else path


def _directory(e: Any) -> str | None:
    if not _fd_event(e):
        return None
    fd = e.fd
    if fd is None:
        name = creator_name(e)
        return None if name is None else dirname_like_sysdig(name)
    char = fd.typechar
    if char == "d":
        return str(fd.name)
    if char not in _FILE_CHARS:
        return None
    return dirname_like_sysdig(str(fd.name))


def _filename(fd: Any) -> str | None:
    """The part after the last '/' of a file's name ('/' when there is no '/'; the whole name
    when it ends with '/'). sysdig gives nothing for an fd without entry."""
    if fd.typechar not in _FILE_CHARS:
        return None
    name = str(fd.name)
    cut = name.rfind("/")
    if cut < 0:
        return "/"
    return name[cut + 1 :] if cut < len(name) - 1 else name


def _ip_only(read: FdReader) -> FdReader:
    def wrapped(fd: Any) -> Any:
        return read(fd) if fd.typechar in _IP_CHARS else None

    return wrapped


_CONNECTED_IP_TYPES = frozenset({3, 4})  # scap IPV4_SOCK, IPV6_SOCK (not listening sockets)
_SERVER_IP_TYPES = frozenset({5, 6})  # scap IPV4_SERVSOCK, IPV6_SERVSOCK
_IPV6_TYPES = frozenset({4, 6})
_AF_INET, _AF_INET6 = 2, 10


@lru_cache(maxsize=4096)
def _ipv6_prefix(text: str) -> bytes | None:
    """First 64 bits of an IPv6 address: libsinsp deems two addresses on one host when those
    match (network + subnet by convention)."""
    try:
        return ipaddress.IPv6Address(text).packed[:8]
    except ValueError:
        return None


def is_local_address(e: Any, addr: str | None, ipv6: bool) -> bool:
    """Whether `addr` belongs to this machine, as libsinsp decides it for fd.lip & co: an exact
    interface address for IPv4 (or the thread's container address), the same /64 as an
    interface for IPv6 (never, inside a container)."""
    if addr is None:
        return False
    state = e.state
    container_id = getattr(e.thread, "container_id", None)
    ipv4_addrs, ipv6_prefixes = _host_addresses(getattr(state, "interfaces", None) or [])
    if ipv6:
        return not container_id and _ipv6_prefix(addr) in ipv6_prefixes
    if container_id:
        containers = getattr(state, "containers", None)
        info = containers.get(container_id) if containers is not None else None
        # libsinsp compares with the container's IP, 0.0.0.0 while unknown (so a socket not
        # connected yet, 0.0.0.0 too, counts as local there).
        if (getattr(info, "ip", None) or "0.0.0.0") == addr:
            return True
    return addr in ipv4_addrs


class _HostAddresses:
    """The host's addresses as sets, rebuilt when the interface list is another list or has
    grown (it is built once per capture or host and only ever appended to). Holding the list
    keeps its identity from being reused by another."""

    __slots__ = ("ipv4", "ipv6_prefixes", "length", "source")

    def __init__(self) -> None:
        self.source: list[Any] | None = None
        self.length = -1
        self.ipv4: frozenset[str] = frozenset()
        self.ipv6_prefixes: frozenset[bytes | None] = frozenset()

    def get(self, interfaces: list[Any]) -> tuple[frozenset[str], frozenset[bytes | None]]:
        if interfaces is not self.source or len(interfaces) != self.length:
            self.source, self.length = interfaces, len(interfaces)
            self.ipv4 = frozenset(i.addr for i in interfaces if i.family == _AF_INET)
            prefixes = {_ipv6_prefix(i.addr) for i in interfaces if i.family == _AF_INET6}
            self.ipv6_prefixes = frozenset(prefixes - {None})
        return self.ipv4, self.ipv6_prefixes


_host_addresses = _HostAddresses().get


def _connected_ip(fd: Any) -> bool:
    return fd.type in _CONNECTED_IP_TYPES and fd.role != _NO_ROLE


def _end(local: bool, ip: bool) -> Extractor:
    """fd.lip/lport (local=True) or fd.rip/rport: the client end is the local one when the
    client address is this machine's, else the server end is."""

    def extract(e: Any) -> Any:
        fd = e.fd
        if fd is None or not _connected_ip(fd) or not _fd_event(e):
            return None
        client_local = is_local_address(e, fd.cip, fd.type in _IPV6_TYPES)
        client_side = client_local == local
        if ip:
            return fd.cip if client_side else fd.sip
        return fd.cport if client_side else fd.sport

    return extract


def _is_server(e: Any) -> bool | None:
    """True for a listening socket, or a connection whose server address is this machine's."""
    fd = e.fd
    if fd is None or not _fd_event(e):
        return None
    if fd.type in _SERVER_IP_TYPES:
        return True
    if fd.type in _CONNECTED_IP_TYPES:
        # A socket not connected yet has the zero server address in libsinsp's table, and
        # that is compared with the interfaces like any other.
        return is_local_address(e, fd.sip or _zero_address(fd.type), fd.type in _IPV6_TYPES)
    return False


def _client_end(read: FdReader) -> FdReader:
    """Client address/port: connected IP sockets with a known role only."""
    return lambda fd: read(fd) if _connected_ip(fd) else None


def _server_end(read: FdReader) -> FdReader:
    """Server address/port: listening sockets, and connected ones with a known role."""
    return lambda fd: read(fd) if fd.type in _SERVER_IP_TYPES or _connected_ip(fd) else None


def _zero_address(kind: int) -> str:
    """The address libsinsp holds for an end not known yet (a socket not connected)."""
    return "::" if kind in _IPV6_TYPES else "0.0.0.0"


def _raw_ends(port: bool) -> FdReader:
    """Both ends of an IP socket as libsinsp's compare_ip/compare_port read them: a connected
    socket's client and server ends, unset ones as 0 / the zero address (a socket not yet
    connected has 0:0 -> 0:0); a listening socket's own address once."""

    def read(fd: Any) -> tuple[Any, ...] | None:
        kind = fd.type
        if kind in _SERVER_IP_TYPES:
            value = fd.sport if port else fd.sip
            return (value,) if value is not None else None
        if kind not in _CONNECTED_IP_TYPES:
            return None
        if port:
            return (fd.cport or 0, fd.sport or 0)
        zero = _zero_address(kind)
        return (fd.cip or zero, fd.sip or zero)

    return read


def _port_text(port_of: Callable[[Any], Any]) -> Callable[[Any], str | None]:
    """fd.*proto: the port as text. libsinsp names the service only with hostname and port
    resolution on, which Falco never turns on (sysdig -r prints the number too)."""

    def wrapped(source: Any) -> str | None:
        port = port_of(source)
        return None if port is None else str(port)

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


def _dns_name(address_of: Extractor) -> Extractor:
    """The watched domain name resolving to an address (lanner.enrich.dns, attached to the
    state as ``dns``); None without a resolver or when no watched name has that address."""

    def extract(e: Any) -> str | None:
        names = getattr(e.state, "dns", None)
        if names is None:
            return None
        address = address_of(e)
        return None if address is None else names.name_of(address)

    return extract


def _container_prefixed(read: Extractor) -> Extractor:
    def extract(e: Any) -> str | None:
        value = read(e)
        if value is None:
            return None
        cid = getattr(e.thread, "container_id", None) or ""
        return f"{cid[:12]}:{value}"  # the short id, as libsinsp keeps it

    return extract


def _fd_uid(e: Any) -> str | None:
    # Whenever the event names an fd number (fd.num), known to the table or not: libsinsp
    # chains the thread's last fd, -1 on an open's enter included.
    if e.fdnum is None:
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
    "fd.num": fixed(lambda e: e.fdnum if _fd_event(e) else None),
    "fd.type": fixed(_of_fd(_typestring)),
    "fd.typechar": fixed(_typechar),
    "fd.name": fixed(_fd_name),
    "fd.nameraw": fixed(_of_fd(lambda fd: fd.nameraw)),
    "fd.directory": fixed(_directory),
    "fd.filename": fixed(_of_fd(_filename)),
    "fd.ino": fixed(_of_fd(lambda fd: fd.ino)),
    "fd.dev": fixed(_of_fd(lambda fd: fd.dev)),
    "fd.dev.major": fixed(_of_fd(lambda fd: fd.dev >> 20)),
    "fd.dev.minor": fixed(_of_fd(lambda fd: fd.dev & 0xFFFFF)),
    "fd.uid": fixed(_fd_uid),
    "fd.containername": fixed(_container_prefixed(_fd_name)),
    "fd.containerdirectory": fixed(_container_prefixed(_directory)),
    "fd.types": _types_factory,
    "fd.ip": fixed(_of_fd(_raw_ends(port=False))),
    "fd.cip": fixed(_of_fd(_client_end(lambda fd: fd.cip))),
    "fd.sip": fixed(_of_fd(_server_end(lambda fd: fd.sip))),
    "fd.lip": fixed(_end(local=True, ip=True)),
    "fd.rip": fixed(_end(local=False, ip=True)),
    "fd.port": fixed(_of_fd(_raw_ends(port=True))),
    "fd.cport": fixed(_of_fd(_client_end(lambda fd: fd.cport))),
    "fd.sport": fixed(_of_fd(_server_end(lambda fd: fd.sport))),
    "fd.lport": fixed(_end(local=True, ip=False)),
    "fd.rport": fixed(_end(local=False, ip=False)),
    # Compared as ports, service names converted at compile time (libsinsp does the same).
    "fd.proto": fixed(_of_fd(_raw_ends(port=True))),
    "fd.cproto": fixed(_of_fd(_client_end(_port_text(lambda fd: fd.cport)))),
    "fd.sproto": fixed(_of_fd(_server_end(_port_text(lambda fd: fd.sport)))),
    "fd.lproto": fixed(_port_text(_end(local=True, ip=False))),
    "fd.rproto": fixed(_port_text(_end(local=False, ip=False))),
    "fd.net": fixed(_of_fd(_raw_ends(port=False))),
    "fd.cnet": fixed(_of_fd(_client_end(lambda fd: fd.cip))),
    "fd.snet": fixed(_of_fd(_server_end(lambda fd: fd.sip))),
    "fd.lnet": fixed(_end(local=True, ip=True)),
    "fd.rnet": fixed(_end(local=False, ip=True)),
    "fd.l4proto": fixed(_of_fd(_l4proto)),
    "fd.sockfamily": fixed(_of_fd(_sockfamily)),
    "fd.is_server": fixed(_is_server),
    "fd.connected": fixed(_of_fd(lambda fd: bool(fd.connected))),
    "fd.name_changed": fixed(_of_fd(lambda fd: bool(fd.name_changed))),
    "fd.cip.name": fixed(_dns_name(_of_fd(_client_end(lambda fd: fd.cip)))),
    "fd.sip.name": fixed(_dns_name(_of_fd(_server_end(lambda fd: fd.sip)))),
    "fd.lip.name": fixed(_dns_name(_end(local=True, ip=True))),
    "fd.rip.name": fixed(_dns_name(_end(local=False, ip=True))),
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
