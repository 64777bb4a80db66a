"""Build real Events from readable parameters, for state-parser tests."""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

from lanner.events.event import Event
from lanner.events.table import ParamType, codes_for_name, event_info
from lanner.events.values import AF_INET, AF_INET6, AF_UNIX, SockAddr, SockTuple

_STRINGS = {ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH}


def _ip(text: str | None, family: int) -> bytes:
    if family == AF_INET:
        return ipaddress.IPv4Address(text or "0.0.0.0").packed
    return ipaddress.IPv6Address(text or "::").packed


def _encode(ptype: ParamType, value: Any) -> bytes:
    if value is None:
        return b""
    if ptype in _STRINGS:
        return str(value).encode() + b"\0"
    if ptype == ParamType.BYTEBUF:
        if isinstance(value, list):
            return b"".join(v.encode() + b"\0" for v in value)
        return value if isinstance(value, bytes) else str(value).encode()
    if ptype == ParamType.SOCKADDR:
        assert isinstance(value, SockAddr)
        if value.family == AF_UNIX:
            return bytes([AF_UNIX]) + (value.path or "").encode() + b"\0"
        return (
            bytes([value.family])
            + _ip(value.addr, value.family)
            + struct.pack("<H", value.port or 0)
        )
    if ptype == ParamType.SOCKTUPLE:
        assert isinstance(value, SockTuple)
        if value.family == AF_UNIX:
            return (
                bytes([AF_UNIX])
                + struct.pack("<QQ", value.src_ptr or 0, value.dst_ptr or 0)
                + (value.path or "").encode()
                + b"\0"
            )
        fam = value.family
        return (
            bytes([fam])
            + _ip(value.sip, fam)
            + struct.pack("<H", value.sport or 0)
            + _ip(value.dip, fam)
            + struct.pack("<H", value.dport or 0)
        )
    return struct.pack("<q", int(value))


def event(name: str, direction: str, tid: int, ts: int = 1, /, **params: Any) -> Event:
    """The newest table entry for name/direction, with the given params (missing = empty)."""
    codes = [
        c
        for c in codes_for_name(name)
        if (info := event_info(c)) is not None and info.direction == direction
    ]
    assert codes, f"no {direction}{name} in the event table"
    code = max(codes)
    if direction == ">":
        # Prefer the enter event paired with the newest exit (exit code = enter code + 1).
        exits = [c for c in codes_for_name(name) if c - 1 in codes]
        if exits:
            code = max(exits) - 1
    info = event_info(code)
    assert info is not None
    unknown = set(params) - {p.name for p in info.params}
    assert not unknown, f"{name}{direction} has no params {unknown}"
    raw = [_encode(p.type, params.get(p.name)) for p in info.params]
    return Event.from_params(info, raw, num=ts, ts=ts, tid=tid)


def tcp4(sip: str, sport: int, dip: str, dport: int) -> SockTuple:
    return SockTuple(AF_INET, sip, sport, dip, dport, None)


def udp6(sip: str, sport: int, dip: str, dport: int) -> SockTuple:
    return SockTuple(AF_INET6, sip, sport, dip, dport, None)


def addr4(ip: str, port: int) -> SockAddr:
    return SockAddr(AF_INET, ip, port, None)


def addr6(ip: str, port: int) -> SockAddr:
    return SockAddr(AF_INET6, ip, port, None)
