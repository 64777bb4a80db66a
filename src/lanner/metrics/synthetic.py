"""Real Event records for socket conversations built from bytes observed another way.

Used by tests (a loopback proxy records a real client/server exchange, these turn it into the
read/write events a capture would hold) and by benchmarks (many synthetic connections).
Events are encoded with the wire sizes of the event table, so they decode exactly as captured
ones do.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

from lanner.events.event import Event
from lanner.events.table import ParamType, codes_for_name, event_info
from lanner.events.values import SockAddr, SockTuple

AF_INET = 2
_SIZES = {
    ParamType.INT8: 1,
    ParamType.UINT8: 1,
    ParamType.INT16: 2,
    ParamType.UINT16: 2,
    ParamType.INT32: 4,
    ParamType.UINT32: 4,
    ParamType.FLAGS32: 4,
    ParamType.ENUMFLAGS32: 4,
}
_SIGNED = {ParamType.INT8, ParamType.INT16, ParamType.INT32}
_STRINGS = {ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH}


def _ip4(text: str | None) -> bytes:
    return ipaddress.IPv4Address(text or "0.0.0.0").packed


def encode(ptype: ParamType, value: Any) -> bytes:
    """One parameter's wire bytes (IPv4 socket values only)."""
    if value is None:
        return b""
    if ptype in _STRINGS:
        return str(value).encode() + b"\0"
    if ptype == ParamType.BYTEBUF:
        return bytes(value)
    if isinstance(value, SockAddr):
        return bytes([AF_INET]) + _ip4(value.addr) + struct.pack("<H", value.port or 0)
    if isinstance(value, SockTuple):
        return (
            bytes([AF_INET])
            + _ip4(value.sip)
            + struct.pack("<H", value.sport or 0)
            + _ip4(value.dip)
            + struct.pack("<H", value.dport or 0)
        )
    size = _SIZES.get(ptype, 8)
    return int(value).to_bytes(size, "little", signed=ptype in _SIGNED or int(value) < 0)


def _code(name: str, direction: str) -> int:
    codes = [
        c
        for c in codes_for_name(name)
        if (info := event_info(c)) is not None
        and info.direction == direction
        and not info.old_version
    ]
    return max(codes)


def make(event_name: str, direction: str, ts: int, tid: int, /, **params: Any) -> Event:
    """The current table entry for name/direction with the given parameters."""
    info = event_info(_code(event_name, direction))
    assert info is not None
    raw = [encode(p.type, params.get(p.name)) for p in info.params]
    return Event.from_params(info, raw, num=ts, ts=ts, tid=tid)


def tcp4(sip: str, sport: int, dip: str, dport: int) -> SockTuple:
    return SockTuple(AF_INET, sip, sport, dip, dport, None)


class Conversation:
    """Events of one process's side of one TCP connection, in time order."""

    def __init__(self, tid: int, fd: int, snaplen: int = 0) -> None:
        self.tid = tid
        self.fd = fd
        self.snaplen = snaplen  # 0: whole payloads, as a proxy sees them
        self.events: list[Event] = []

    def _pair(self, name: str, start: int, end: int, enter: dict[str, Any], **exit_: Any) -> None:
        self.events.append(make(name, ">", start, self.tid, **enter))
        self.events.append(make(name, "<", end, self.tid, **exit_))

    def accept(self, ts: int, client: tuple[str, int], server: tuple[str, int]) -> None:
        tup = tcp4(client[0], client[1], server[0], server[1])
        self._pair("accept4", ts, ts, {"flags": 0}, fd=self.fd, tuple=tup)

    def connect(
        self, start: int, end: int, local: tuple[str, int], remote: tuple[str, int], res: int = 0
    ) -> None:
        self._pair("socket", start, start, {"domain": AF_INET, "type": 1, "proto": 0}, fd=self.fd)
        tup = tcp4(local[0], local[1], remote[0], remote[1]) if res == 0 else None
        self._pair(
            "connect",
            start,
            end,
            {"fd": self.fd, "addr": SockAddr(AF_INET, *remote, None)},
            res=res,
            tuple=tup,
            fd=self.fd,
        )

    def io(self, name: str, start: int, end: int, data: bytes, res: int | None = None) -> None:
        """A read-family or write-family call moving `data` (or failing with `res` < 0)."""
        size = len(data) if res is None else res
        kept = data[: self.snaplen] if self.snaplen else data
        self._pair(name, start, end, {"fd": self.fd, "size": len(data)}, res=size, data=kept)

    def close(self, ts: int) -> None:
        self._pair("close", ts, ts, {"fd": self.fd}, res=0)
