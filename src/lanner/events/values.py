"""Decoded compound parameter values: socket addresses and socket tuples.

IP addresses are canonical text ("10.0.0.1", "::1"); families are PPM codes.
"""

from __future__ import annotations

from dataclasses import dataclass

AF_UNSPEC = 0
AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_NETLINK = 16


@dataclass(frozen=True, slots=True)
class SockAddr:
    """A socket address: IPv4/IPv6 (addr, port) or a unix socket path."""

    family: int
    addr: str | None
    port: int | None
    path: str | None


@dataclass(frozen=True, slots=True)
class SockTuple:
    """The two ends of a connection.

    For IP families: source ip/port and destination ip/port as the kernel reported them. For
    unix sockets: the kernel pointers of both ends (`src_ptr`, `dst_ptr`) and the path.
    """

    family: int
    sip: str | None
    sport: int | None
    dip: str | None
    dport: int | None
    path: str | None
    src_ptr: int | None = None
    dst_ptr: int | None = None


@dataclass(frozen=True, slots=True)
class FdListEntry:
    """One entry of a poll-style fd list: the fd and its PPM poll flags."""

    fd: int
    flags: int
