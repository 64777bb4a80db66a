"""The hot part of .scap reading: runs of plain event blocks, and in-reader event selection.

`EventRuns` turns consecutive EV (0x204) or EV_V2 (0x216) blocks into Events in a tight loop;
anything unusual stops the run and is left to the reader's general path.

With an `EventSelection`, events nobody needs are counted and numbered but never decoded: the
loop reads the u16 event code in place and looks it up in a 64K byte table. Skipping must not
change what the state parser would have done, so:
  * an event of a code the parser ignores altogether (`neutral_codes`) is simply dropped;
  * any other skipped event would have broken its thread's pending enter/exit pair: the next
    event of that thread that is delivered carries `after_skip` and the parser does it then;
  * events that take no part in pairing (`quiet_codes`) are skipped without a note;
  * a skipped event would also have made an unknown thread known, so an event whose thread is
    not in `known_tids` (a live view of the state's table) is delivered instead of skipped --
    and then its thread counts as known, since processing that event will make it so;
  * events that may remove threads (`barrier_codes`) end their batch, so `known_tids` is up
    to date (the consumer processes the batch) before the reader looks at what follows.
Not covered: a thread table that reaches its size limit purges threads at any event, and the
skipped events' `lastevent_ts` is not recorded (it only orders such purges).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Container
from dataclasses import dataclass, field

from lanner.events._syscalls import SYSCALL_NAMES
from lanner.events.event import Event, lengths_struct
from lanner.events.table import EVENT_TABLE, GENERIC_E, GENERIC_X, EventInfo

__all__ = ["EV_BLOCK", "EV_V2_BLOCK", "EventRuns", "EventSelection", "infer_nparams"]

EV_BLOCK = 0x204
EV_V2_BLOCK = 0x216
TABLE_SIZE = len(EVENT_TABLE)

# cpuid, ts, tid, len, type[, nparams]
_EV_V1 = struct.Struct("<HQQIH")
_EV_V2 = struct.Struct("<HQQIHI")
_U16 = struct.Struct("<H")
# Of an EV or EV_V2 block: block type, total length, tid, event code (skipping cpuid, ts, len).
_EV_HEAD = struct.Struct("<II10xQ4xH")
_V1_MIN_BLOCK = 36  # block header, event header, trailing length
_V2_MIN_BLOCK = 40

# Selection marks, one byte per u16 code: below _KEEP means skip.
_SKIP, _SKIP_NOTED, _SKIP_IF_KNOWN, _KEEP, _KEEP_IF_NAMED, _KEEP_THEN_CUT = 0, 1, 2, 3, 4, 5
_KEEP_ALL = bytes([_KEEP]) * 65536


@dataclass(frozen=True)
class EventSelection:
    """Which events a reader builds. See the module docstring for how skipping stays exact."""

    wanted_codes: Collection[int]
    wanted_generic: Collection[str] | None = None
    """Syscall names of the generic events (codes 0/1) to keep when those codes are wanted;
    None keeps them all."""
    neutral_codes: Collection[int] = ()
    quiet_codes: Collection[int] = ()
    """Codes whose events may be skipped without a note, once their thread is known."""
    known_tids: Container[int] | None = None
    """Threads the consumer already knows (read live); None: assume all are known."""
    barrier_codes: Collection[int] = field(default=())

    def marks(self) -> bytes:
        # Codes past the event table go to the general path, which counts and drops them.
        marks = bytearray([_SKIP_NOTED]) * TABLE_SIZE + bytes([_KEEP]) * (65536 - TABLE_SIZE)
        for code in self.neutral_codes:
            if 0 <= code < TABLE_SIZE:
                marks[code] = _SKIP
        for code in self.quiet_codes:
            if 0 <= code < TABLE_SIZE:
                marks[code] = _SKIP_IF_KNOWN
        for code in self.wanted_codes:
            if 0 <= code < TABLE_SIZE:
                marks[code] = _KEEP
        for code in self.barrier_codes:
            if 0 <= code < TABLE_SIZE and marks[code] == _KEEP:
                marks[code] = _KEEP_THEN_CUT
        if self.wanted_generic is not None:
            for code in (GENERIC_E, GENERIC_X):
                if marks[code] >= _KEEP:
                    marks[code] = _KEEP_IF_NAMED
        return bytes(marks)


def _syscall_marks(names: Collection[str]) -> bytes:
    """One byte per u16 syscall id: 1 when a generic event with that id is wanted (by the
    name its type_name would have)."""
    wanted = frozenset(names)
    # Ids without a name show as "<unknown>": start from that, then set the named ones.
    marks = bytearray([1 if "<unknown>" in wanted else 0]) * 65536
    for sc, name in enumerate(SYSCALL_NAMES):
        if name:
            marks[sc] = name in wanted
    return bytes(marks)


class _AllKnown:
    def __contains__(self, _tid: object) -> bool:
        return True


LengthsUnpacker = Callable[[bytes, int], tuple[int, ...]]


def _v1_layout(info: EventInfo) -> tuple[int, LengthsUnpacker, int]:
    """(full param count, unpacker of its length array, size of that array) of a code."""
    lengths = lengths_struct(info.nparams, info.large_payload)
    return info.nparams, lengths.unpack_from, lengths.size


_V1_LAYOUTS = [_v1_layout(info) for info in EVENT_TABLE]


def infer_nparams(info: EventInfo, buf: bytes, lens_at: int, evt_end: int) -> int:
    """Old event blocks lack nparams: take the largest count whose lengths fill the event."""
    size = 4 if info.large_payload else 2
    for count in range(info.nparams, -1, -1):
        data_at = lens_at + count * size
        if data_at > evt_end:
            continue
        lens = lengths_struct(count, info.large_payload).unpack_from(buf, lens_at)
        if data_at + sum(lens) == evt_end:
            return count
    return -1


class EventRuns:
    """Event-block runs of one read, and the selection state that spans its batches."""

    def __init__(self, counts: list[int], selection: EventSelection | None) -> None:
        self.counts = counts  # events per code (the reader's stats)
        self.selection = selection
        self.marks: bytes | None = None if selection is None else selection.marks()
        self.generic_names = frozenset(
            selection.wanted_generic if selection and selection.wanted_generic else ()
        )
        self.syscall_marks = _syscall_marks(self.generic_names)
        self.layouts = list(_V1_LAYOUTS)  # the parameter count last seen for each code
        known = selection.known_tids if selection is not None else None
        self.known: Container[int] = _AllKnown() if known is None else known
        self.noted: dict[int, bool] = {}  # tids with skipped events since their last delivery
        # Unknown threads whose delivered events will make them known once processed (valid
        # until a barrier event, which may remove threads, is processed).
        self.coming: set[int] = set()
        self.skipped = 0  # events skipped since the reader last handed out a batch
        self.cut = False  # the batch must end here (a barrier event was kept)

    def selected(self, event: Event) -> bool:
        """Whether to keep `event` (built by the general path); keeps the notes up to date."""
        marks = self.marks
        if marks is None:
            return True
        mark = marks[event.code]
        tid = event.tid
        if mark == _KEEP_IF_NAMED:
            keep = event.type_name in self.generic_names or not self._known(tid)
        else:
            keep = mark >= _KEEP or (mark != _SKIP and not self._known(tid))
        if not keep:
            if mark == _SKIP_NOTED:
                self.noted[tid] = True
            self.skipped += 1
            return False
        if self.noted.pop(tid, False):
            event.after_skip = True
        if mark == _KEEP_THEN_CUT:
            self.cut = True
            self.coming.clear()
        return True

    def _known(self, tid: int) -> bool:
        if tid in self.known or tid in self.coming:
            return True
        self.coming.add(tid)  # the caller delivers this event, which makes the thread known
        return False

    def run_v2(
        self, buf: bytes, pos: int, num: int, batch: list[Event], room: int
    ) -> tuple[int, int]:
        """Parse consecutive complete EV_V2 blocks from `pos` until `room` events are kept.

        Returns where it stopped (the next block is anything else, incomplete, or unusual)
        and the updated event number.
        """
        head = _EV_HEAD.unpack_from
        unpack_event = _EV_V2.unpack_from
        unpack_u16 = _U16.unpack_from
        table = EVENT_TABLE
        counts = self.counts
        marks = self.marks or _KEEP_ALL
        syscall_marks = self.syscall_marks
        noted = self.noted
        known = self.known
        coming = self.coming
        limit = len(buf)
        append = batch.append
        first_num = num
        kept = 0
        # Loop invariants as locals: this loop runs once per event of the capture.
        block_kind, min_block, keep, skip_noted = EV_V2_BLOCK, _V2_MIN_BLOCK, _KEEP, _SKIP_NOTED
        last = limit - min_block
        while pos <= last and kept < room:
            block_type, total, tid, code = head(buf, pos)
            if block_type != block_kind or pos + total > limit or total < min_block:
                break
            mark = marks[code]
            if mark < keep:
                # Unwanted: count it, number it, note its thread, move on without decoding it
                # -- unless its thread is unknown (see the module docstring).
                if not mark or tid in known or tid in coming:
                    if mark == skip_noted:
                        noted[tid] = True
                    num += 1
                    counts[code] += 1
                    pos += total
                    continue
                coming.add(tid)
            cpu, ts, tid, evlen, code, nparams = unpack_event(buf, pos + 8)
            end = pos + 10 + evlen
            if code >= TABLE_SIZE or end > pos + total - 4 or evlen < 26:
                break
            info = table[code]
            if pos + 36 + nparams * (4 if info.large_payload else 2) > end:
                break
            num += 1
            counts[code] += 1
            # A generic event: its syscall's u16 id, read in place, says if it is wanted.
            if (
                mark == _KEEP_IF_NAMED
                and nparams
                and unpack_u16(buf, pos + 36)[0] == 2
                and not syscall_marks[unpack_u16(buf, pos + 36 + 2 * nparams)[0]]
                and (tid in known or tid in coming)
            ):
                noted[tid] = True
                pos += total
                continue
            event = Event(num, ts, tid, cpu, info, nparams, buf, pos + 36, end, 0)
            pos += total
            if mark != _KEEP and self._unusual(event, mark):
                continue
            if noted and noted.pop(tid, False):
                event.after_skip = True
            append(event)
            kept += 1
            if self.cut:
                break
        self.skipped += num - first_num - kept
        return pos, num

    def run_v1(
        self, buf: bytes, pos: int, num: int, batch: list[Event], room: int
    ) -> tuple[int, int]:
        """`run_v2` for EV blocks (no nparams in the header: inferred from the lengths)."""
        head = _EV_HEAD.unpack_from
        unpack_event = _EV_V1.unpack_from
        unpack_u16 = _U16.unpack_from
        table = EVENT_TABLE
        layouts = self.layouts
        counts = self.counts
        marks = self.marks or _KEEP_ALL
        syscall_marks = self.syscall_marks
        noted = self.noted
        known = self.known
        coming = self.coming
        limit = len(buf)
        append = batch.append
        first_num = num
        kept = 0
        # Loop invariants as locals: this loop runs once per event of the capture.
        block_kind, min_block, keep, skip_noted = EV_BLOCK, _V1_MIN_BLOCK, _KEEP, _SKIP_NOTED
        last = limit - min_block
        while pos <= last and kept < room:
            block_type, total, tid, code = head(buf, pos)
            if block_type != block_kind or pos + total > limit or total < min_block:
                break
            mark = marks[code]
            if mark < keep:
                # Unwanted: count it, number it, note its thread, move on without decoding it
                # -- unless its thread is unknown (see the module docstring).
                if not mark or tid in known or tid in coming:
                    if mark == skip_noted:
                        noted[tid] = True
                    num += 1
                    counts[code] += 1
                    pos += total
                    continue
                coming.add(tid)
            cpu, ts, tid, evlen, code = unpack_event(buf, pos + 8)
            end = pos + 10 + evlen
            if code >= TABLE_SIZE or end > pos + total - 4 or evlen < 22:
                break
            nparams, unpack_lens, lens_size = layouts[code]
            lens_at = pos + 32
            data_at = lens_at + lens_size
            # Usually the event has as many parameters as the last one of its code; else
            # infer the count (old captures have fewer than the table) and remember it.
            if data_at > end or data_at + sum(unpack_lens(buf, lens_at)) != end:
                info = table[code]
                nparams = infer_nparams(info, buf, lens_at, end)
                if nparams < 0:
                    break
                lengths = lengths_struct(nparams, info.large_payload)
                layouts[code] = (nparams, lengths.unpack_from, lengths.size)
            num += 1
            counts[code] += 1
            if (
                mark == _KEEP_IF_NAMED
                and nparams
                and unpack_u16(buf, lens_at)[0] == 2
                and not syscall_marks[unpack_u16(buf, lens_at + 2 * nparams)[0]]
                and (tid in known or tid in coming)
            ):
                noted[tid] = True
                pos += total
                continue
            event = Event(num, ts, tid, cpu, table[code], nparams, buf, lens_at, end, 0)
            pos += total
            if mark != _KEEP and self._unusual(event, mark):
                continue
            if noted and noted.pop(tid, False):
                event.after_skip = True
            append(event)
            kept += 1
            if self.cut:
                break
        self.skipped += num - first_num - kept
        return pos, num

    def _unusual(self, event: Event, mark: int) -> bool:
        """The rare marks, for an event about to be kept: True when it must be skipped after
        all (a generic event whose syscall id was not plain; its thread is known)."""
        tid = event.tid
        if mark == _KEEP_IF_NAMED and event.type_name not in self.generic_names:
            if tid in self.known or tid in self.coming:
                self.noted[tid] = True
                return True
            self.coming.add(tid)
        elif mark == _KEEP_THEN_CUT:
            self.cut = True
            self.coming.clear()
        return False
