"""A minimal .scap writer: section header, machine info and V2 event blocks.

Used to build synthetic captures (benchmarks, tests); it writes what `ScapReader` reads.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import BinaryIO

from lanner.events.event import Event

_EV_V2 = 0x216
_EV_V2_LARGE = 0x221
_SHB = 0x0A0D0D0A
_MI = 0x201


def _block(block_type: int, body: bytes) -> bytes:
    padding = -len(body) % 4
    total = 12 + len(body) + padding
    return struct.pack("<II", block_type, total) + body + b"\0" * padding + struct.pack("<I", total)


def section_header_block() -> bytes:
    return _block(_SHB, struct.pack("<IHHq", 0x1A2B3C4D, 1, 2, -1))


def machine_info_block(hostname: str = "lanner", num_cpus: int = 1) -> bytes:
    name = hostname.encode()[:127].ljust(128, b"\0")
    return _block(_MI, struct.pack("<IQQ", num_cpus, 1 << 30, 1 << 22) + name + bytes(32))


def event_block(event: Event) -> bytes:
    """The event re-encoded as an EV_V2 block (u16 or u32 lengths per its table entry)."""
    params = [event.param_raw(i) for i in range(event.nparams)]
    large = event.info.large_payload
    lens = struct.pack(f"<{len(params)}{'I' if large else 'H'}", *(len(p) for p in params))
    data = b"".join(params)
    length = 26 + len(lens) + len(data)
    header = struct.pack("<HQQIHI", event.cpu, event.ts, event.tid, length, event.code, len(params))
    return _block(_EV_V2_LARGE if large else _EV_V2, header + lens + data)


def write_scap(stream: BinaryIO, events: Iterable[Event], hostname: str = "lanner") -> int:
    """Write a plain capture holding `events`; returns the number of events written."""
    stream.write(section_header_block())
    stream.write(machine_info_block(hostname))
    count = 0
    for event in events:
        stream.write(event_block(event))
        count += 1
    return count
