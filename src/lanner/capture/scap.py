"""Reader of sysdig/Falco .scap capture files (gzip-compressed or plain).

A capture is a sequence of pcapng-like blocks: ``u32 type, u32 total length, body, padding,
u32 total length``. `ScapReader` walks them in file order and yields the section header,
machine info, process-list entries, fd-list entries, users/groups, interfaces, and events in
batches (lists of `Event`). Decompression and parsing are streamed in chunks; an Event keeps a
reference to the chunk it came from and decodes its parameters only when asked.

Errors: a corrupt or truncated file raises `ScapFormatError` after everything before the
damage has been yielded.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from lanner.capture.scap_events import (
    EV_BLOCK,
    EV_V2_BLOCK,
    TABLE_SIZE,
    EventRuns,
    EventSelection,
    infer_nparams,
)
from lanner.capture.scap_records import (
    BodyError,
    FdEntry,
    GroupEntry,
    InterfaceEntry,
    MachineInfo,
    ProcEntry,
    ScapStats,
    SectionHeader,
    UserEntry,
    parse_fd_list,
    parse_interface_list,
    parse_machine_info,
    parse_proc_list,
    parse_section_header,
    parse_user_list,
)
from lanner.events.event import Event, EventBatch
from lanner.events.table import EVENT_TABLE

__all__ = [
    "EventSelection",
    "FdEntry",
    "GroupEntry",
    "InterfaceEntry",
    "MachineInfo",
    "ProcEntry",
    "ScapFormatError",
    "ScapItem",
    "ScapReader",
    "ScapStats",
    "SectionHeader",
    "UserEntry",
    "read_events",
]

ScapItem = (
    SectionHeader
    | MachineInfo
    | ProcEntry
    | FdEntry
    | UserEntry
    | GroupEntry
    | InterfaceEntry
    | list[Event]
)

SHB = 0x0A0D0D0A
MI_BLOCKS = {0x201: 1, 0x8002ABCD: 1}
PL_BLOCKS = {
    0x202: 1,
    0x8000ABCD: 1,
    0x207: 2,
    0x8013ABCD: 2,
    0x209: 3,
    0x8014ABCD: 3,
    0x210: 4,
    0x211: 5,
    0x212: 6,
    0x213: 7,
    0x214: 8,
    0x215: 9,
}
FDL_BLOCKS = {0x203: 1, 0x8001ABCD: 1, 0x218: 2}
IL_BLOCKS = {0x205: 1, 0x219: 2}
UL_BLOCKS = {0x206: 1, 0x220: 2}
# Event blocks: type -> (has nparams in the header, has a flags word before the event)
EV_BLOCKS = {
    0x204: (False, False),
    0x8010ABCD: (False, False),
    0x216: (True, False),
    0x221: (True, False),
    0x208: (False, True),
    0x217: (True, True),
    0x222: (True, True),
}
BLOCK_NAMES = {SHB: "SHB"}
BLOCK_NAMES.update(dict.fromkeys(MI_BLOCKS, "MI"))
BLOCK_NAMES.update({k: f"PL_V{v}" for k, v in PL_BLOCKS.items()})
BLOCK_NAMES.update({k: f"FDL_V{v}" for k, v in FDL_BLOCKS.items()})
BLOCK_NAMES.update({k: f"IL_V{v}" for k, v in IL_BLOCKS.items()})
BLOCK_NAMES.update({k: f"UL_V{v}" for k, v in UL_BLOCKS.items()})
BLOCK_NAMES.update({0x204: "EV", 0x8010ABCD: "EV", 0x216: "EV_V2", 0x221: "EV_V2_LARGE"})
BLOCK_NAMES.update({0x208: "EVF", 0x217: "EVF_V2", 0x222: "EVF_V2_LARGE"})

_BLOCK_HEADER = struct.Struct("<II")
# cpuid, ts, tid, len, type[, nparams] -- with and without the EVF flags word.
_EV_V1 = struct.Struct("<HQQIH")
_EV_V2 = struct.Struct("<HQQIHI")
_EVF_V1 = struct.Struct("<HIQQIH")
_EVF_V2 = struct.Struct("<HIQQIHI")
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class ScapFormatError(Exception):
    """A .scap file is corrupt or truncated. Everything before `offset` was delivered."""

    def __init__(self, message: str, offset: int, events_read: int) -> None:
        super().__init__(f"{message} at offset {offset} after {events_read} events")
        self.reason = message
        self.offset = offset
        self.events_read = events_read


class _Source:
    """Decompressed bytes of a capture, read in chunks (gzip members handled by zlib)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        head = stream.read(2)
        self._pending = head
        self._inflater: zlib._Decompress | None = None
        if head == _GZIP_MAGIC:
            self._inflater = zlib.decompressobj(wbits=31)
        self.corrupt: str | None = None

    def read(self) -> bytes:
        """The next decompressed chunk; b"" at the end (or at the first corrupt byte)."""
        while True:
            raw = self._pending or self._stream.read(_CHUNK)
            self._pending = b""
            inflater = self._inflater
            if inflater is None:
                return raw
            if not raw:
                return inflater.flush() if not inflater.eof else b""
            try:
                out = inflater.decompress(raw)
                if inflater.eof and inflater.unused_data:
                    # Concatenated gzip members form one stream.
                    self._pending = inflater.unused_data
                    self._inflater = zlib.decompressobj(wbits=31)
            except zlib.error as exc:
                self.corrupt = f"corrupt compressed data ({exc})"
                return b""
            if out:
                return out


class ScapReader:
    """Iterate a .scap file: ``for item in ScapReader(path): ...``.

    `batch_size` bounds the length of each list of events. `stats` fills as the file is read.

    Selection (`selection`, or `wanted_codes` alone): only the selected events become Event
    objects; the others are counted (stats, `evt.num`) and skipped undecoded -- see
    `EventSelection` for how the state stays exact. A skipped event's parameters are not
    checked, so a corrupt one goes unnoticed. Batches are `EventBatch` lists whose `read` says
    how many events (kept or skipped) the batch stands for.
    """

    def __init__(
        self,
        source: str | Path | bytes | BinaryIO,
        batch_size: int = 4096,
        *,
        selection: EventSelection | None = None,
        wanted_codes: Collection[int] | None = None,
    ) -> None:
        self._source = source
        self.batch_size = max(1, batch_size)
        self.stats = ScapStats()
        self.path = str(source) if isinstance(source, (str, Path)) else "<stream>"
        if selection is None and wanted_codes is not None:
            selection = EventSelection(wanted_codes)
        self.selection = selection

    def __iter__(self) -> Iterator[ScapItem]:
        if isinstance(self._source, (str, Path)):
            with open(self._source, "rb") as stream:
                yield from self._read(stream)
        elif isinstance(self._source, (bytes, bytearray, memoryview)):
            import io

            yield from self._read(io.BytesIO(bytes(self._source)))
        else:
            yield from self._read(self._source)

    def events(self) -> Iterator[list[Event]]:
        """Only the event batches."""
        for item in self:
            if isinstance(item, list):
                yield item

    def _read(self, stream: BinaryIO) -> Iterator[ScapItem]:
        source = _Source(stream)
        stats = self.stats
        stats.code_counts = [0] * TABLE_SIZE
        runs = EventRuns(stats.code_counts, self.selection)
        selecting = self.selection is not None
        buf = b""
        pos = 0
        base = 0  # file offset (in decompressed bytes) of buf[0]
        batch = EventBatch()
        num = 0
        eof = False
        first = True
        while True:
            # Make sure a whole block is in the buffer.
            if len(buf) - pos < 8 and not eof:
                buf, pos, base, eof = self._refill(source, buf, pos, base, 8)
            if len(buf) - pos < 8:
                if batch or runs.skipped:
                    yield _handed_out(batch, runs)
                self._finish(source, len(buf) - pos, base + pos, num)
                return
            block_type, total = _BLOCK_HEADER.unpack_from(buf, pos)
            if first and block_type != SHB:
                raise ScapFormatError("not a scap file (no section header block)", base, 0)
            first = False
            if total < 12:
                raise ScapFormatError(f"bad block length {total}", base + pos, num)
            if len(buf) - pos < total and not eof:
                buf, pos, base, eof = self._refill(source, buf, pos, base, total)
            if len(buf) - pos < total:
                if batch or runs.skipped:
                    yield _handed_out(batch, runs)
                raise ScapFormatError("truncated block", base + pos, num)
            body_start = pos + 8
            body_end = pos + total - 4
            offset = base + pos
            ev = EV_BLOCKS.get(block_type)
            if ev is not None:
                # The common case -- a run of plain event blocks -- goes through a tight loop;
                # a block it does not take (unusual or bad) goes through the general path.
                room = self.batch_size - len(batch)
                run_end = pos
                first_num = num
                if block_type == EV_V2_BLOCK:
                    run_end, num = runs.run_v2(buf, pos, num, batch, room)
                elif block_type == EV_BLOCK:
                    run_end, num = runs.run_v1(buf, pos, num, batch, room)
                if run_end != pos:
                    stats.events += num - first_num
                    name = BLOCK_NAMES[block_type]
                    stats.blocks[name] = stats.blocks.get(name, 0) + num - first_num
                else:
                    stats.count_block(BLOCK_NAMES[block_type])
                    num += 1
                    event = self._event(buf, body_start, body_end, ev, num, offset)
                    if event is not None and (not selecting or runs.selected(event)):
                        batch.append(event)
                    run_end = pos + total
                pos = run_end
                stats.bytes_read = base + pos
                if len(batch) >= self.batch_size or runs.cut:
                    yield _handed_out(batch, runs)
                    batch = EventBatch()
                continue
            stats.count_block(BLOCK_NAMES.get(block_type, f"unknown_{block_type:#x}"))
            if batch or runs.skipped:
                yield _handed_out(batch, runs)
                batch = EventBatch()
            try:
                yield from self._records(block_type, bytes(buf[body_start:body_end]))
            except BodyError as exc:
                raise ScapFormatError(
                    f"malformed {BLOCK_NAMES.get(block_type)} block ({exc})", offset, num
                ) from None
            pos += total
            stats.bytes_read = base + pos

    @staticmethod
    def _refill(
        source: _Source, buf: bytes, pos: int, base: int, need: int
    ) -> tuple[bytes, int, int, bool]:
        """Keep the unread tail and append chunks until `need` bytes are there or EOF."""
        parts = [buf[pos:]]
        have = len(parts[0])
        eof = False
        while have < need:
            chunk = source.read()
            if not chunk:
                eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts), 0, base + pos, eof

    @staticmethod
    def _finish(source: _Source, leftover: int, offset: int, num: int) -> None:
        if source.corrupt:
            raise ScapFormatError(source.corrupt, offset, num)
        if leftover:
            raise ScapFormatError("truncated block header", offset, num)

    def _event(  # noqa: PLR0917  (called once per event: positional is cheapest)
        self,
        buf: bytes,
        start: int,
        end: int,
        kind: tuple[bool, bool],
        num: int,
        offset: int,
    ) -> Event | None:
        has_nparams, has_flags = kind
        if has_flags:
            hdr = _EVF_V2 if has_nparams else _EVF_V1
        else:
            hdr = _EV_V2 if has_nparams else _EV_V1
        if end - start < hdr.size:
            raise ScapFormatError("event block too short", offset, num - 1)
        fields = hdr.unpack_from(buf, start)
        flags = 0
        if has_flags:
            cpu, flags, ts, tid, evlen, code = fields[:6]
        else:
            cpu, ts, tid, evlen, code = fields[:5]
        hdr_start = start + (6 if has_flags else 2)
        evt_end = hdr_start + evlen
        if evlen < hdr.size - (6 if has_flags else 2) or evt_end > end:
            raise ScapFormatError(f"event length {evlen} out of its block", offset, num - 1)
        stats = self.stats
        stats.events += 1
        if code >= TABLE_SIZE:
            # An event type newer than our table: skipped, as libscap does.
            stats.other_code_counts[code] = stats.other_code_counts.get(code, 0) + 1
            stats.unknown_event_codes += 1
            return None
        stats.code_counts[code] += 1
        info = EVENT_TABLE[code]
        lens_at = start + hdr.size
        if has_nparams:
            nparams = fields[-1]
            size = 4 if info.large_payload else 2
            if lens_at + nparams * size > evt_end:
                raise ScapFormatError(f"{nparams} params do not fit the event", offset, num - 1)
        else:
            nparams = infer_nparams(info, buf, lens_at, evt_end)
            if nparams < 0:
                raise ScapFormatError("event params do not fit its length", offset, num - 1)
        return Event(num, ts, tid, cpu, info, nparams, buf, lens_at, evt_end, flags)

    @staticmethod
    def _records(block_type: int, body: bytes) -> Iterator[ScapItem]:
        if block_type == SHB:
            yield parse_section_header(body)
        elif block_type in MI_BLOCKS:
            yield parse_machine_info(body)
        elif block_type in PL_BLOCKS:
            yield from parse_proc_list(body, PL_BLOCKS[block_type])
        elif block_type in FDL_BLOCKS:
            yield from parse_fd_list(body, FDL_BLOCKS[block_type])
        elif block_type in UL_BLOCKS:
            yield from parse_user_list(body, UL_BLOCKS[block_type])
        elif block_type in IL_BLOCKS:
            yield from parse_interface_list(body, IL_BLOCKS[block_type])
        # Unknown block types are skipped (counted in stats).


def _handed_out(batch: EventBatch, runs: EventRuns) -> EventBatch:
    """Close a batch: it stands for its events and for those skipped since the last one."""
    batch.read = len(batch) + runs.skipped
    runs.skipped = 0
    runs.cut = False
    return batch


def read_events(path: str | Path, batch_size: int = 4096) -> Iterator[list[Event]]:
    """The event batches of a capture file."""
    return ScapReader(path, batch_size).events()
