"""Decoding of raw parameter bytes into Python values, by PPM parameter type.

Lengths on the wire are trusted only as far as they go: a value shorter than its nominal
type (old captures stored some 64-bit values in 32 bits) decodes from the bytes present, and
an empty or malformed value decodes to None rather than raising.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from typing import Any

from lanner.events.table import ParamInfo, ParamType
from lanner.events.values import AF_INET, AF_INET6, AF_UNIX, FdListEntry, SockAddr, SockTuple

_SIGNED = {1: "<b", 2: "<h", 4: "<i", 8: "<q"}
_UNSIGNED = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}
_SIGNED_S = {n: struct.Struct(f) for n, f in _SIGNED.items()}
_UNSIGNED_S = {n: struct.Struct(f) for n, f in _UNSIGNED.items()}
_U16 = struct.Struct("<H")
_U64 = struct.Struct("<Q")
_FDLIST_ITEM = struct.Struct("<qH")
_DOUBLE = struct.Struct("<d")

SIGNED_TYPES = frozenset(
    {
        ParamType.INT8,
        ParamType.INT16,
        ParamType.INT32,
        ParamType.INT64,
        ParamType.ERRNO,
        ParamType.FD,
        ParamType.PID,
        ParamType.FD32,
        ParamType.PID32,
    }
)
UNSIGNED_TYPES = frozenset(
    {
        ParamType.UINT8,
        ParamType.UINT16,
        ParamType.UINT32,
        ParamType.UINT64,
        ParamType.SYSCALLID,
        ParamType.SIGTYPE,
        ParamType.RELTIME,
        ParamType.ABSTIME,
        ParamType.PORT,
        ParamType.L4PROTO,
        ParamType.SOCKFAMILY,
        ParamType.BOOL,
        ParamType.FLAGS8,
        ParamType.FLAGS16,
        ParamType.FLAGS32,
        ParamType.UID,
        ParamType.GID,
        ParamType.SIGSET,
        ParamType.MODE,
        ParamType.ENUMFLAGS8,
        ParamType.ENUMFLAGS16,
        ParamType.ENUMFLAGS32,
    }
)
STRING_TYPES = frozenset({ParamType.CHARBUF, ParamType.FSPATH, ParamType.FSRELPATH})

# Dynamic (DYN) parameters: a u8 index selects the real type of the value that follows.
DYNAMIC_TABLES: dict[str, tuple[ParamType, ...]] = {
    # unknown (raw bytes), errno, uint32, uint64, timeval (u64 microseconds)
    "sockopt_dynamic_param": (
        ParamType.BYTEBUF,
        ParamType.ERRNO,
        ParamType.UINT32,
        ParamType.UINT64,
        ParamType.RELTIME,
    ),
    "ptrace_dynamic_param": (ParamType.UINT64, ParamType.SIGTYPE),
    "bpf_dynamic_param": (ParamType.FD, ParamType.ERRNO),
}


def decode_int(raw: bytes, signed: bool) -> int | None:
    size = len(raw)
    table = _SIGNED_S if signed else _UNSIGNED_S
    unpacker = table.get(size)
    if unpacker is not None:
        value: int = unpacker.unpack(raw)[0]
        return value
    if size == 0:
        return None
    return int.from_bytes(raw[:8], "little", signed=signed)


def decode_string(raw: bytes) -> str:
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode("utf-8", "replace")


def _ipv4(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def _ipv6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def decode_sockaddr(raw: bytes) -> SockAddr | None:
    if not raw:
        return None
    family = raw[0]
    if family == AF_INET and len(raw) >= 7:
        return SockAddr(family, _ipv4(raw[1:5]), _U16.unpack_from(raw, 5)[0], None)
    if family == AF_INET6 and len(raw) >= 19:
        return SockAddr(family, _ipv6(raw[1:17]), _U16.unpack_from(raw, 17)[0], None)
    if family == AF_UNIX:
        return SockAddr(family, None, None, decode_string(raw[1:]))
    return SockAddr(family, None, None, None)


def decode_socktuple(raw: bytes) -> SockTuple | None:
    if not raw:
        return None
    family = raw[0]
    if family == AF_INET and len(raw) >= 13:
        return SockTuple(
            family,
            _ipv4(raw[1:5]),
            _U16.unpack_from(raw, 5)[0],
            _ipv4(raw[7:11]),
            _U16.unpack_from(raw, 11)[0],
            None,
        )
    if family == AF_INET6 and len(raw) >= 37:
        return SockTuple(
            family,
            _ipv6(raw[1:17]),
            _U16.unpack_from(raw, 17)[0],
            _ipv6(raw[19:35]),
            _U16.unpack_from(raw, 35)[0],
            None,
        )
    if family == AF_UNIX and len(raw) >= 17:
        src, dst = struct.unpack_from("<QQ", raw, 1)
        return SockTuple(family, None, None, None, None, decode_string(raw[17:]), src, dst)
    return SockTuple(family, None, None, None, None, None)


def decode_fdlist(raw: bytes) -> list[FdListEntry] | None:
    if len(raw) < 2:
        return None
    count = _U16.unpack_from(raw, 0)[0]
    count = min(count, (len(raw) - 2) // _FDLIST_ITEM.size)
    return [
        FdListEntry(*_FDLIST_ITEM.unpack_from(raw, 2 + i * _FDLIST_ITEM.size)) for i in range(count)
    ]


def decode_dyn(raw: bytes, table: str | None) -> Any:
    if not raw:
        return None
    types = DYNAMIC_TABLES.get(table or "")
    index = raw[0]
    if types is None or index >= len(types):
        return raw[1:]
    return decode_typed(types[index], raw[1:], None)


def _decode_ip(raw: bytes) -> str | None:
    if len(raw) == 4:
        return _ipv4(raw)
    if len(raw) == 16:
        return _ipv6(raw)
    return None


def decode_typed(ptype: ParamType, raw: bytes, table: str | None) -> Any:
    """Decode `raw` as a value of wire type `ptype` (`table` only matters for DYN)."""
    decoder = _DECODERS.get(ptype)
    return raw if decoder is None else decoder(raw, table)


Decoder = Callable[[bytes, str | None], Any]
OneDecoder = Callable[[bytes], Any]


def _int_decoder(signed: bool, fd32_unsigned: bool = False) -> OneDecoder:
    """A decoder of one integer type: the common sizes by one struct call, others (odd
    sizes, empty) by `decode_int`."""
    by_size = {n: s.unpack for n, s in (_SIGNED_S if signed else _UNSIGNED_S).items()}
    if fd32_unsigned:
        # Old drivers stored some fds in 32 bits; sysdig reads those unsigned (-1 shows
        # as 4294967295), and so do we, to keep values identical.
        by_size[4] = _UNSIGNED_S[4].unpack
    get = by_size.get

    def decode(raw: bytes) -> int | None:
        unpack = get(len(raw))
        if unpack is not None:
            value: int = unpack(raw)[0]
            return value
        return decode_int(raw, signed)

    return decode


def _one_arg_decoders() -> dict[ParamType, OneDecoder]:
    """Decoders of the types whose decoding needs nothing but the bytes."""
    found: dict[ParamType, OneDecoder] = {}
    signed = _int_decoder(True)
    unsigned = _int_decoder(False)
    for ptype in SIGNED_TYPES:
        found[ptype] = signed
    found[ParamType.FD] = _int_decoder(True, fd32_unsigned=True)
    for ptype in UNSIGNED_TYPES:
        found[ptype] = unsigned
    for ptype in STRING_TYPES:
        found[ptype] = decode_string
    found.update(
        {
            ParamType.SOCKADDR: decode_sockaddr,
            ParamType.SOCKTUPLE: decode_socktuple,
            ParamType.FDLIST: decode_fdlist,
            ParamType.IPV4ADDR: lambda raw: _ipv4(raw) if len(raw) == 4 else None,
            ParamType.IPV6ADDR: lambda raw: _ipv6(raw) if len(raw) == 16 else None,
            ParamType.IPADDR: _decode_ip,
            ParamType.DOUBLE: lambda raw: _DOUBLE.unpack(raw)[0] if len(raw) == 8 else None,
        }
    )
    return found


_ONE_ARG = _one_arg_decoders()


def _with_table(decoder: OneDecoder) -> Decoder:
    return lambda raw, _table: decoder(raw)


_DECODERS: dict[ParamType, Decoder] = {
    ptype: _with_table(decoder) for ptype, decoder in _ONE_ARG.items()
}
_DECODERS[ParamType.DYN] = decode_dyn


_SIGNED_FORMATS = {1: "b", 2: "h", 4: "i", 8: "q"}
_UNSIGNED_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}


def fixed_format(ptype: ParamType, size: int) -> str | None:
    """The struct format character that decodes a `size`-byte value of `ptype` exactly as
    `decode_typed` does, for integer types at their usual sizes; None otherwise."""
    if ptype in SIGNED_TYPES:
        if ptype == ParamType.FD and size == 4:
            return "I"  # old drivers' 32-bit fds read unsigned, as in decode_typed
        return _SIGNED_FORMATS.get(size)
    if ptype in UNSIGNED_TYPES:
        return _UNSIGNED_FORMATS.get(size)
    return None


def decode_param(info: ParamInfo, raw: bytes) -> Any:
    """Decode one parameter's bytes according to its table entry."""
    return decode_typed(info.type, raw, info.flag_table)


def param_decoder(info: ParamInfo) -> OneDecoder:
    """`decode_param` bound to one parameter: raw bytes -> value in a single call (events
    keep a tuple of these per code: the per-parameter cost of their lazy decoding)."""
    decoder = _ONE_ARG.get(info.type)
    if decoder is not None:
        return decoder
    if info.type == ParamType.DYN:
        table = info.flag_table
        return lambda raw: decode_dyn(raw, table)
    return bytes
