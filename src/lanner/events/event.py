"""The Event record: one captured event, its header decoded, its parameters decoded lazily.

An Event keeps a reference to the buffer it came from and the offset of its parameter-length
array. Nothing about the parameters is computed until a parameter is asked for; then the
offsets of all parameters are computed once, and each value is decoded once and cached.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import Any

from lanner.events.decode import fixed_format, param_decoder
from lanner.events.render import render_value
from lanner.events.table import (
    EF_LARGE_PAYLOAD,
    GENERIC_E,
    GENERIC_X,
    EventInfo,
    ParamInfo,
    syscall_name,
)

_MISSING: Any = object()
_GENERIC_CODES = frozenset((GENERIC_E, GENERIC_X))
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

# (event, param index, param info, decoded value, plain text) -> decorated text
ParamDecorator = Callable[["Event", int, ParamInfo, Any, str], str]
_LEN_STRUCTS: dict[tuple[int, bool], struct.Struct] = {}


def _layout(key: int) -> tuple[Callable[[Any, int], tuple[int, ...]], int]:
    """(unpacker, size) of a parameter-length array; key is 2 * nparams + (1 for u16)."""
    lengths = lengths_struct(key >> 1, not key & 1)
    _LAYOUTS[key] = (lengths.unpack_from, lengths.size)
    return _LAYOUTS[key]


_LAYOUTS: dict[int, tuple[Callable[[Any, int], tuple[int, ...]], int]] = {}


FixedLayout = tuple[Callable[[Any, int], tuple[Any, ...]] | None, int]
# event code -> (its EventInfo, whether all its params are integer types)
_INT_ONLY: dict[int, tuple[EventInfo, bool]] = {}
# (event code, raw length array) -> (unpacker of all the params, their total size)
_FIXED_LAYOUTS: dict[tuple[int, bytes], FixedLayout] = {}
_FIXED_LAYOUTS_MAX = 4096


# event code -> (its EventInfo, one decoder per parameter of its table entry)
_DECODERS_BY_CODE: dict[int, tuple[EventInfo, tuple[Callable[[bytes], Any], ...]]] = {}


def _param_decoders(info: EventInfo) -> tuple[Callable[[bytes], Any], ...]:
    known = _DECODERS_BY_CODE.get(info.code)
    if known is None or known[0] is not info:
        known = (info, tuple(param_decoder(param) for param in info.params))
        _DECODERS_BY_CODE[info.code] = known
    return known[1]


def _all_int_params(info: EventInfo) -> bool:
    return bool(info.params) and all(
        fixed_format(param.type, 8) is not None for param in info.params
    )


def _fixed_layout(info: EventInfo, n: int, lens: bytes) -> FixedLayout:
    sizes = lengths_struct(n, info.large_payload).unpack(lens)
    chars = [fixed_format(p.type, size) for p, size in zip(info.params[:n], sizes, strict=True)]
    if None in chars:
        return None, 0
    layout = struct.Struct("<" + "".join(c for c in chars if c is not None))
    return layout.unpack_from, layout.size


def lengths_struct(nparams: int, large: bool) -> struct.Struct:
    """The struct that unpacks an event's parameter-length array (u16 or u32 each)."""
    key = (nparams, large)
    found = _LEN_STRUCTS.get(key)
    if found is None:
        found = struct.Struct(f"<{nparams}{'I' if large else 'H'}")
        _LEN_STRUCTS[key] = found
    return found


class EventBatch(list["Event"]):
    """A list of events from a source, plus `read`: how many events the source read to make
    it, counting the ones a selection skipped (so `read >= len(batch)`)."""

    __slots__ = ("read",)

    def __init__(self, events: Iterable[Event] = ()) -> None:
        super().__init__(events)
        self.read = 0


class Event:
    """One event record. See the Event contract in docs/architecture.md."""

    __slots__ = (
        "_buf",
        "_end",
        "_lens_at",
        "_starts",
        "_values",
        "after_skip",
        "code",
        "cpu",
        "direction",
        "enter",
        "fd",
        "fdnum",
        "flags",
        "info",
        "nparams",
        "num",
        "state",
        "thread",
        "tid",
        "ts",
        "type_name",
    )

    num: int
    ts: int
    tid: int
    cpu: int
    code: int
    info: EventInfo
    type_name: str
    direction: str
    nparams: int
    flags: int
    enter: Event | None
    after_skip: bool
    """A selective source skipped events of this thread just before this one."""
    thread: Any
    fd: Any
    fdnum: int | None
    state: Any

    def __init__(  # noqa: PLR0917  (hot path: positional args are the cheapest call)
        self,
        num: int,
        ts: int,
        tid: int,
        cpu: int,
        info: EventInfo,
        nparams: int,
        buf: bytes | memoryview,
        lens_at: int,
        end: int,
        flags: int = 0,
    ) -> None:
        self.num = num
        self.ts = ts
        self.tid = tid
        self.cpu = cpu
        self.code = code = info.code
        self.info = info
        self.direction = info.direction
        self.nparams = nparams
        self.flags = flags
        self._buf = buf
        self._lens_at = lens_at
        self._end = end
        self._starts: list[int] | None = None
        self._values: list[Any] | None = None
        self.enter = None
        self.after_skip = False
        self.thread = None
        self.fd = None
        self.fdnum = None
        self.state = None
        if code in _GENERIC_CODES:
            self.type_name = self._generic_name()
        else:
            self.type_name = info.name

    @classmethod
    def from_params(
        cls,
        info: EventInfo,
        params: list[bytes],
        *,
        num: int = 0,
        ts: int = 0,
        tid: int = 0,
        cpu: int = 0,
    ) -> Event:
        """Build an event from raw parameter values (for tests, fixtures and live sources)."""
        lens = lengths_struct(len(params), info.large_payload).pack(*(len(p) for p in params))
        buf = lens + b"".join(params)
        return cls(num, ts, tid, cpu, info, len(params), buf, 0, len(buf))

    def _generic_name(self) -> str:
        # Generic events carry the PPM syscall code; unknown codes show as sysdig does.
        if self.nparams == 0:
            return "<unknown>"
        sc = self.param(0)
        name = syscall_name(sc) if isinstance(sc, int) else None
        return name or "<unknown>"

    def _compute_starts(self) -> list[int]:
        n = self.nparams
        key = n + n if self.info.flags & EF_LARGE_PAYLOAD else n + n + 1
        layout = _LAYOUTS.get(key)
        if layout is None:
            layout = _layout(key)
        unpack, size = layout
        lens_at = self._lens_at
        starts = list(accumulate(unpack(self._buf, lens_at), initial=lens_at + size))
        end = self._end
        if starts[-1] > end:
            # A corrupt length never reads past the event's own bytes.
            starts[1:] = [pos if pos < end else end for pos in starts[1:]]
        self._starts = starts
        return starts

    def _first_raw(self) -> bytes | memoryview:
        lens_at = self._lens_at
        if self.info.flags & EF_LARGE_PAYLOAD:
            first = lens_at + (self.nparams << 2)
            stop = first + _U32.unpack_from(self._buf, lens_at)[0]
        else:
            first = lens_at + (self.nparams << 1)
            stop = first + _U16.unpack_from(self._buf, lens_at)[0]
        # As in _compute_starts: a corrupt length never reads past the event's own bytes.
        end = self._end
        return self._buf[first : stop if stop < end else end]

    def param_raw(self, i: int) -> bytes:
        """The raw bytes of parameter `i` (empty for an index past the stored params)."""
        if i < 0 or i >= self.nparams:
            return b""
        starts = self._starts or self._compute_starts()
        return bytes(self._buf[starts[i] : starts[i + 1]])

    def _decode_fixed(self) -> list[Any] | None:
        """All parameters at once, when they are all integers of the usual sizes (one
        struct call instead of one decode each); None for any other event."""
        info = self.info
        code = info.code
        known = _INT_ONLY.get(code)
        if known is None or known[0] is not info:
            known = _INT_ONLY[code] = (info, _all_int_params(info))
        n = self.nparams
        if not known[1] or n > len(info.params):
            return None
        lens_at = self._lens_at
        data_at = lens_at + (n << 2 if info.flags & EF_LARGE_PAYLOAD else n << 1)
        lens = self._buf[lens_at:data_at]
        if type(lens) is not bytes:
            lens = bytes(lens)
        key = (code, lens)
        layout = _FIXED_LAYOUTS.get(key)
        if layout is None:
            layout = _fixed_layout(info, n, lens)
            if len(_FIXED_LAYOUTS) < _FIXED_LAYOUTS_MAX:
                _FIXED_LAYOUTS[key] = layout
        unpack, size = layout
        if unpack is None or data_at + size > self._end:
            return None
        values: list[Any] = list(unpack(self._buf, data_at))
        self._values = values
        return values

    def param(self, i: int) -> Any:
        """The decoded value of parameter `i`, or None when absent."""
        if i < 0 or i >= self.nparams:
            return None
        values = self._values
        if values is None:
            if i == 0:
                # The first value (often the only one read: res, fd), straight from the bytes.
                return self._decode_first()
            values = self._decode_fixed()
            if values is not None:
                return values[i]
            values = self._values = [_MISSING] * self.nparams
        value = values[i]
        if value is _MISSING:
            starts = self._starts
            if starts is not None:
                raw = self._buf[starts[i] : starts[i + 1]]
            elif i == 0:
                # The first value (often the only one read: res, fd) needs no offset list.
                raw = self._first_raw()
            else:
                starts = self._compute_starts()
                raw = self._buf[starts[i] : starts[i + 1]]
            if type(raw) is not bytes:
                raw = bytes(raw)
            decoders = _param_decoders(self.info)
            value = decoders[i](raw) if i < len(decoders) else raw
            values[i] = value
        return value

    def _decode_first(self) -> Any:
        """Parameter 0 of an event none of whose parameters is decoded yet."""
        info = self.info
        code = info.code
        n = self.nparams
        buf = self._buf
        lens_at = self._lens_at
        if info.flags & EF_LARGE_PAYLOAD:
            first = lens_at + (n << 2)
            stop = first + _U32.unpack_from(buf, lens_at)[0]
        else:
            first = lens_at + (n << 1)
            stop = first + _U16.unpack_from(buf, lens_at)[0]
        # As in _compute_starts: a corrupt length never reads past the event's own bytes.
        end = self._end
        raw = buf[first : stop if stop < end else end]
        if type(raw) is not bytes:
            raw = bytes(raw)
        known = _DECODERS_BY_CODE.get(code)
        if known is None or known[0] is not info:
            decoders = _param_decoders(info)
        else:
            decoders = known[1]
        value = decoders[0](raw) if decoders else raw
        values = self._values = [_MISSING] * n
        values[0] = value
        return value

    def decode_all(self) -> None:
        """Decode every parameter now (cached as `param` would): cheaper than one by one
        for a handler about to read most of them (clone, execve, open...)."""
        values = self._values
        if values is None:
            if self._decode_fixed() is not None:
                return
            values = self._values = [_MISSING] * self.nparams
        starts = self._starts or self._compute_starts()
        buf = self._buf
        decoders = _param_decoders(self.info)
        known = len(decoders)
        for i, value in enumerate(values):
            if value is _MISSING:
                raw = buf[starts[i] : starts[i + 1]]
                if type(raw) is not bytes:
                    raw = bytes(raw)
                values[i] = decoders[i](raw) if i < known else raw

    def param_index(self, name: str) -> int | None:
        """The index of the parameter called `name` in this event, or None."""
        index = self.info.param_names.get(name)
        if index is None or index >= self.nparams:
            return None
        return index

    def param_by_name(self, name: str) -> Any:
        """The value of parameter `name`; an exit event falls back to its enter event."""
        index = self.param_index(name)
        if index is not None:
            return self.param(index)
        enter = self.enter
        if enter is not None and enter is not self:
            return enter.param_by_name(name)
        return None

    def param_name(self, i: int) -> str:
        params = self.info.params
        return params[i].name if i < len(params) else f"arg{i}"

    def render_param(self, i: int, decorate: ParamDecorator | None = None) -> str:
        """sysdig-style text of parameter `i`.

        The event alone cannot name fds, threads or users; `decorate`, when given, receives
        (event, index, param info, decoded value, plain text) and returns the final text
        (e.g. "3" -> "3(<f>/etc/passwd)").
        """
        if i < 0 or i >= self.nparams:
            return ""
        params = self.info.params
        if i >= len(params):
            return self.param_raw(i).hex()
        info = params[i]
        value = self.param(i)
        text = render_value(info, value, self.param_raw(i))
        if decorate is not None:
            text = decorate(self, i, info, value, text)
        return text

    def render_args(self, decorate: ParamDecorator | None = None) -> str:
        """All parameters as sysdig's evt.args text: ``name=value `` for each one.

        Generic syscall events show no arguments (their params only name the syscall).
        """
        if self.code in (GENERIC_E, GENERIC_X):
            return ""
        return "".join(
            f"{self.param_name(i)}={self.render_param(i, decorate)} " for i in range(self.nparams)
        )

    def __repr__(self) -> str:
        return (
            f"Event(num={self.num}, ts={self.ts}, tid={self.tid}, "
            f"{self.direction} {self.type_name})"
        )
