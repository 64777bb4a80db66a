"""Socket parsers: socket/bind/connect/accept, and the socket tuple inference read/write
events allow (UDP).

Tuples are kept by role: `cip:cport` the client end, `sip:sport` the server end. An event's
socket tuple is (source -> destination); which end is the client depends on the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lanner.events.values import AF_INET, AF_INET6, AF_NETLINK, AF_UNIX
from lanner.state.fdparsers import FdParsers
from lanner.state.fds import FDTYPE, L4, ROLE, FdInfo, FdRole, L4Proto
from lanner.state.procparsers import own, pget, ret
from lanner.state.values import (
    as_int,
    as_str,
    counts_as_ipv4,
    endpoint_text,
    is_unspecified,
    to_ipv4,
)

if TYPE_CHECKING:
    from lanner.state.threads import ThreadInfo

EINPROGRESS = 115
IPPROTO_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_RAW = 0, 1, 6, 17, 255
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW = 1, 2, 3
_IP_SOCKS = (FDTYPE.IPV4_SOCK, FDTYPE.IPV6_SOCK)
_SERVER_SOCKS = (FDTYPE.IPV4_SERVSOCK, FDTYPE.IPV6_SERVSOCK)


def _l4proto(sock_type: int, protocol: int) -> int:
    raw = sock_type == SOCK_RAW
    if protocol == IPPROTO_TCP:
        return L4Proto.RAW if raw else L4Proto.TCP
    if protocol == IPPROTO_UDP:
        return L4Proto.RAW if raw else L4Proto.UDP
    if protocol == IPPROTO_IP:
        if sock_type & 0xFF == SOCK_STREAM:
            return L4Proto.TCP
        if sock_type & 0xFF == SOCK_DGRAM:
            return L4Proto.UDP
        return L4Proto.UNKNOWN
    if protocol == IPPROTO_ICMP:
        return L4Proto.RAW if raw else L4Proto.ICMP
    if protocol == IPPROTO_RAW:
        return L4Proto.RAW
    return L4Proto.UNKNOWN


def socket_name(info: FdInfo) -> str:
    """fd.name of an IP socket: "cip:cport->sip:sport"."""
    return f"{endpoint_text(info.cip, info.cport)}->{endpoint_text(info.sip, info.sport)}"


def unix_tuple_text(src: int, dst: int, path: str) -> str:
    return f"{src:x}->{dst:x} {path}"


def _sockaddr_text(addr: Any) -> str:
    """A SOCKADDR parameter as sysdig prints it ("ip:port", or the unix path)."""
    family = getattr(addr, "family", None)
    if family in (AF_INET, AF_INET6):
        return endpoint_text(getattr(addr, "addr", None), getattr(addr, "port", None))
    if family == AF_UNIX:
        return as_str(getattr(addr, "path", ""))
    return ""


def _tuple_text(tup: Any) -> str:
    family = getattr(tup, "family", None)
    if family in (AF_INET, AF_INET6):
        src = endpoint_text(getattr(tup, "sip", None), getattr(tup, "sport", None))
        dst = endpoint_text(getattr(tup, "dip", None), getattr(tup, "dport", None))
        return f"{src}->{dst}"
    if family == AF_UNIX:
        src_ptr, dst_ptr = _unix_pointers(tup)
        return unix_tuple_text(src_ptr, dst_ptr, as_str(getattr(tup, "path", "")))
    return ""


def _unix_pointers(tup: Any) -> tuple[int, int]:
    for src_name, dst_name in (("src_ptr", "dst_ptr"), ("src", "dst")):
        src = getattr(tup, src_name, None)
        if src is not None:
            return as_int(src), as_int(getattr(tup, dst_name, 0))
    return 0, 0


def _ipv4_address(family: Any, ip: Any) -> tuple[bool, Any]:
    """Whether an address is IPv4 to libsinsp (an AF_INET one, or an IPv6 one that counts as
    IPv4: mapped, or the all-zero wildcard), and its text as such."""
    if family == AF_INET or counts_as_ipv4(ip):
        return True, to_ipv4(ip)
    return False, ip


def _ipv4_tuple(family: Any, sip: Any, dip: Any) -> tuple[Any, Any, Any]:
    """A tuple's family and ends, an IPv6 tuple both of whose ends count as IPv4 made IPv4."""
    if family == AF_INET6 and counts_as_ipv4(sip) and counts_as_ipv4(dip):
        return AF_INET, to_ipv4(sip), to_ipv4(dip)
    return family, sip, dip


class SocketParsers(FdParsers):
    """Mixin of StateParser: the handlers that change socket fds."""

    def _new_socket(self, fd: int, domain: int, sock_type: int, protocol: int) -> FdInfo:
        info = FdInfo(fd, FDTYPE.UNKNOWN)
        info.family = domain
        info.transport = L4.UNKNOWN
        if domain == AF_UNIX:
            info.type = FDTYPE.UNIX_SOCK
        elif domain in (AF_INET, AF_INET6):
            info.type = FDTYPE.IPV4_SOCK if domain == AF_INET else FDTYPE.IPV6_SOCK
            info.transport = int(_l4proto(sock_type, protocol))
        elif domain == AF_NETLINK:
            info.type = FDTYPE.NETLINK
        return info

    def on_socket_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        fd = ret(event)
        if fd < 0:
            return
        domain = as_int(pget(event, "domain"))
        info = self._new_socket(
            fd, domain, as_int(pget(event, "type")), as_int(pget(event, "proto"))
        )
        self._add(event, thread, info)

    def on_bind_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        info = event.fd
        if info is None or ret(event) < 0:
            return
        addr = own(event, "addr")
        if addr is None:
            return
        family = getattr(addr, "family", None)
        port = as_int(getattr(addr, "port", 0))
        ip = getattr(addr, "addr", None)
        if family in (AF_INET, AF_INET6) and port > 0:
            ipv4, info.sip = _ipv4_address(family, ip)
            info.type = FDTYPE.IPV4_SERVSOCK if ipv4 else FDTYPE.IPV6_SERVSOCK
            info.sport = port
            info.role = ROLE.SERVER
        info.name = _sockaddr_text(addr)

    def on_connect_enter(self, event: Any, thread: ThreadInfo | None) -> None:
        """The address the caller asks for becomes the socket's peer at once, as in libsinsp:
        an IP socket's server end (so a datagram socket's second connect moves it), a unix
        socket's name (its path, until the exit names both ends). Only enters that carry the
        address (captures made with enter events); older one-parameter enters change nothing."""
        info = event.fd
        if thread is None or info is None or event.nparams < 2:
            return
        addr = own(event, "addr")
        if addr is not None:
            self._connect_from_addr(info, addr)

    def on_connect_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        info = event.fd
        if thread is None or info is None:
            return
        enter = event.enter
        if enter is None and (exit_addr := own(event, "addr")) is not None:
            # No enter event (exit-only capture, the live default): its effect first, from
            # the exit's copy of the address, so both capture modes leave the same state --
            # a failed connect to a unix path still names the socket by it.
            self._connect_from_addr(info, exit_addr)
        res = ret(event)
        if res < 0 and res != -EINPROGRESS:
            return
        info.connected = True
        enter_addr = enter.param_by_name("addr") if enter is not None else None
        tup = own(event, "tuple")
        if tup is None:
            if enter_addr is None:
                return
            self._connect_from_addr(info, enter_addr)
        else:
            # A known peer is kept (a datagram socket's second connect does not move it)
            # unless the enter event is missing and the fd's data may be stale, as libsinsp.
            stale = enter is None
            self._connect_from_tuple(info, tup, own(event, "addr"), enter_addr, stale)
        if info.role == ROLE.NONE:
            info.role = ROLE.CLIENT

    def _connect_from_addr(self, info: FdInfo, addr: Any) -> None:
        family = getattr(addr, "family", None)
        if family in (AF_INET, AF_INET6):
            ipv4, info.sip = _ipv4_address(family, getattr(addr, "addr", None))
            info.type = FDTYPE.IPV4_SOCK if ipv4 else FDTYPE.IPV6_SOCK
            info.sport = as_int(getattr(addr, "port", 0))
        else:
            info.name = _sockaddr_text(addr)

    def _connect_from_tuple(
        self, info: FdInfo, tup: Any, exit_addr: Any, enter_addr: Any, overwrite_dest: bool
    ) -> None:
        family = getattr(tup, "family", None)
        if family in (AF_INET, AF_INET6):
            dip, dport = tup.dip, tup.dport
            # Prefer the address the caller passed unless the kernel reported another peer
            # (defeats a user-space swap of the sockaddr between enter and exit).
            if exit_addr is not None and enter_addr is not None:
                same = getattr(exit_addr, "addr", None) == dip and (
                    getattr(exit_addr, "port", None) == dport
                )
                if same:
                    dip = getattr(enter_addr, "addr", dip)
                    dport = getattr(enter_addr, "port", dport)
            family, sip, dip = _ipv4_tuple(family, tup.sip, dip)
            info.type = FDTYPE.IPV4_SOCK if family == AF_INET else FDTYPE.IPV6_SOCK
            changed = self._set_endpoints(
                info, sip, tup.sport, dip, dport, overwrite_dest=overwrite_dest
            )
            if changed and info.role == ROLE.SERVER and info.transport == L4.UDP:
                self._swap(info)
            info.name = socket_name(info)
        elif family == AF_UNIX:
            if info.type != FDTYPE.UNIX_SOCK:
                return
            path = as_str(getattr(tup, "path", ""))
            same = exit_addr is not None and as_str(getattr(exit_addr, "path", "")) == path
            if same and enter_addr is not None:
                path = as_str(getattr(enter_addr, "path", path))
            info.unix_src, info.unix_dst = _unix_pointers(tup)
            info.name = unix_tuple_text(info.unix_src, info.unix_dst, path)

    @staticmethod
    def _set_endpoints(
        info: FdInfo,
        cip: str | None,
        cport: int | None,
        sip: str | None,
        sport: int | None,
        *,
        overwrite_dest: bool = False,
    ) -> bool:
        """Store (source -> destination) as (client -> server); False if nothing changed
        (the same tuple in either direction counts as unchanged). A known destination is
        only replaced by connect (overwrite_dest), not by a datagram's tuple."""
        current = (info.cip, info.cport, info.sip, info.sport)
        if info.type in _IP_SOCKS and current in {
            (cip, cport, sip, sport),
            (sip, sport, cip, cport),
        }:
            return False
        if not overwrite_dest:
            if not is_unspecified(info.sip):
                sip = info.sip
            if info.sport:
                sport = info.sport
        info.cip, info.cport, info.sip, info.sport = cip, cport, sip, sport
        return (cip, cport, sip, sport) != current

    @staticmethod
    def _swap(info: FdInfo) -> None:
        info.cip, info.cport, info.sip, info.sport = info.sip, info.sport, info.cip, info.cport

    def on_accept_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        fd = ret(event)
        if fd < 0:
            return
        thread.last_fd = fd
        event.fdnum = fd
        tup = own(event, "tuple")
        if tup is None:
            return
        family = getattr(tup, "family", None)
        info = FdInfo(fd, FDTYPE.UNKNOWN)
        info.family = family or 0
        if family in (AF_INET, AF_INET6):
            family, sip, dip = _ipv4_tuple(family, tup.sip, tup.dip)
            info.type = FDTYPE.IPV4_SOCK if family == AF_INET else FDTYPE.IPV6_SOCK
            info.transport = L4.TCP
            info.cip, info.cport, info.sip, info.sport = sip, tup.sport, dip, tup.dport
            info.name = socket_name(info)
        elif family == AF_UNIX:
            info.type = FDTYPE.UNIX_SOCK
            info.unix_src, info.unix_dst = _unix_pointers(tup)
            info.name = _tuple_text(tup)
        else:
            return
        info.role = ROLE.SERVER
        info.connected = True
        self._add(event, thread, info)

    # ---- reads and writes: UDP tuple inference -------------------------------------------

    def on_read_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._rw_exit(event, thread, incoming=True)

    def on_write_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        kind = event.info.name
        if event.fd is None and thread is not None and kind in ("send", "sendto", "sendmsg"):
            self._infer_socket(event, thread)
        self._rw_exit(event, thread, incoming=False)

    def _infer_socket(self, event: Any, thread: ThreadInfo) -> None:
        """A send* on an fd we never saw created: assume a UDP socket (libsinsp does the same),
        but only when the exit event itself carries the tuple."""
        if ret(event) < 0 or event.fdnum is None or event.fdnum < 0:
            return
        tup = own(event, "tuple")
        family = getattr(tup, "family", None)
        if family in (AF_INET, AF_INET6):
            info = self._new_socket(event.fdnum, family, SOCK_DGRAM, IPPROTO_UDP)
            self._add(event, thread, info)

    def _rw_exit(self, event: Any, thread: ThreadInfo | None, incoming: bool) -> None:
        info = event.fd
        if info is None or thread is None or ret(event) < 0:
            return
        if info.type in _IP_SOCKS:
            info.connected = True
            # A named TCP socket keeps its tuple: no need to decode the event's.
            if info.name and info.transport == L4.TCP:
                return
        tup = pget(event, "tuple")
        if tup is None:
            return
        # A socket bound to a port (a listener's record, from bind or /proc) that now moves a
        # datagram is the server of that port: remembered before the tuple replaces it.
        bound_port = info.sport if info.type in _SERVER_SOCKS else None
        if not self._update_from_tuple(info, tup, incoming):
            return
        if info.type in _IP_SOCKS:
            if info.role == ROLE.NONE:
                if bound_port is not None and info.sport == bound_port:
                    info.role = ROLE.SERVER
                else:
                    info.role = int(self._guess_role(thread, info, incoming))
            if (incoming and info.role == ROLE.CLIENT) or (
                not incoming and info.role == ROLE.SERVER
            ):
                self._swap(info)
            info.name = socket_name(info)
        else:
            info.name = _tuple_text(tup)

    def _update_from_tuple(self, info: FdInfo, tup: Any, incoming: bool) -> bool:
        family = getattr(tup, "family", None)
        if family == AF_UNIX:
            info.type = FDTYPE.UNIX_SOCK
            info.unix_src, info.unix_dst = _unix_pointers(tup)
            info.name = as_str(getattr(tup, "path", ""))
            return True
        if family not in (AF_INET, AF_INET6):
            return False
        family, sip, dip = _ipv4_tuple(family, tup.sip, tup.dip)
        sport, dport = tup.sport, tup.dport
        # A datagram read without asking who sent it has no peer in its tuple (one end all
        # zero; a send's zero end is an unbound source, its destination is real): it says
        # nothing new about a socket already named. (libsinsp takes it as it is and loses
        # the peer it knew.)
        no_peer = (is_unspecified(dip) and not dport) or (
            incoming and is_unspecified(sip) and not sport
        )
        if no_peer and (info.name or info.type in _SERVER_SOCKS):
            return False
        if info.type in _SERVER_SOCKS:
            # A listener's own address is not a peer: start the tuple afresh.
            info.cip = info.cport = info.sip = info.sport = None
        info.type = FDTYPE.IPV4_SOCK if family == AF_INET else FDTYPE.IPV6_SOCK
        if not no_peer:
            sip, dip = self._unbound_end(sip, dip, sport == dport, family == AF_INET6)
        # A datagram's tuple replaces the whole pair (libsinsp overwrites the destination
        # too; only connect keeps a known one).
        if not self._set_endpoints(info, sip, sport, dip, dport, overwrite_dest=True):
            return False
        if info.transport in (L4.UNKNOWN, L4.NA):
            info.transport = L4.UDP
        return True

    def _unbound_end(self, sip: Any, dip: Any, same_port: bool, ipv6: bool) -> tuple[Any, Any]:
        """An unbound socket's end is 0.0.0.0 (the source of a send, the receiver of a
        datagram): the interface toward the other end stands for it, as in libsinsp's
        update_fd (not when that is the other end itself on the same port)."""
        if is_unspecified(sip):
            local = self.state.local_address_for(dip, ipv6)
            if local and not (local == dip and same_port):
                sip = local
        elif is_unspecified(dip):
            local = self.state.local_address_for(sip, ipv6)
            if local and not (local == sip and same_port):
                dip = local
        return sip, dip

    @staticmethod
    def _guess_role(thread: ThreadInfo, info: FdInfo, incoming: bool) -> FdRole:
        """libsinsp's guess: a process bound to the tuple's destination port is its server,
        otherwise its client; when that port is also one of its client ports, a read
        suggests a server and a write a client."""
        port = info.sport
        fds = thread.fdtable.fds.values()
        bound = any(f.type in _SERVER_SOCKS and f.sport == port for f in fds)
        if not bound:
            return FdRole.CLIENT
        uses_as_client = any(f.type in _IP_SOCKS and f.cport == info.cport for f in fds)
        if not uses_as_client:
            return FdRole.SERVER
        return FdRole.SERVER if incoming else FdRole.CLIENT
