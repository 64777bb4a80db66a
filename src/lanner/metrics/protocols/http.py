"""HTTP/1.x request/response pairing from the bytes of a connection's reads and writes.

Each direction of a connection is a stream of messages: a head (start line and headers, up to
the blank line) and a body whose length the head announces (Content-Length), marks as chunked,
or leaves open (until the next message or the close). Each read or write brings the first
`len(data)` bytes of an I/O of `size` bytes; a live probe captures only a prefix, so the parser
skips body bytes it cannot see by count and, when a head itself was cut, falls back to finding
the next message at the start of a later I/O (the heuristic sysdig's httplog chisel relies on).

Responses answer requests in order (HTTP/1.1 pipelining), so pending requests wait in a FIFO;
an exchange is reported when its response ends. Memory per connection is bounded: at most
`MAX_PENDING` pending requests and `MAX_HEAD` bytes of an incomplete head.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from lanner.metrics.protocols.detect import HTTP_METHODS, Side, http_message_kind

MAX_PENDING = 32
MAX_HEAD = 16384
_UNTIL_NEXT = -1  # body length unknown: the message lasts until the next one (or the close)
_CHUNKED = -2  # chunked body: ends at the zero-length chunk
_CHUNK_END = b"\r\n0\r\n\r\n"  # the last chunk, after the previous chunk's CRLF

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]{16,}")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{20,}")
_MAX_SEGMENTS = 12


def normalise_path(target: str) -> str:
    """The request target without query, host or ids: "/users/42?x=1" -> "/users/{num}".

    Numbers, UUIDs, long hex strings and long mixed tokens become placeholders, so that one
    endpoint is one metric series however many objects it serves.
    """
    if target.startswith(("http://", "https://")):
        slash = target.find("/", target.find("//") + 2)
        target = target[slash:] if slash >= 0 else "/"
    for stop in ("?", "#"):
        cut = target.find(stop)
        if cut >= 0:
            target = target[:cut]
    if not target.startswith("/"):
        return target[:64] or "/"
    segments = target.split("/")[1:]
    out: list[str] = []
    for segment in segments[:_MAX_SEGMENTS]:
        out.append(_segment_placeholder(segment))
    if len(segments) > _MAX_SEGMENTS:
        out.append("{more}")
    return "/" + "/".join(out)


def _segment_placeholder(segment: str) -> str:
    if not segment:
        return segment
    if segment.isdigit():
        return "{num}"
    if _UUID.fullmatch(segment):
        return "{uuid}"
    if _HEX.fullmatch(segment) and any(c.isdigit() for c in segment):
        return "{hex}"
    if _TOKEN.fullmatch(segment) and any(c.isdigit() for c in segment):
        return "{id}"
    return segment


@dataclass(slots=True)
class HttpExchange:
    """One request and its response (status None: the connection ended unanswered)."""

    method: str
    path: str
    status: int | None
    request_bytes: int
    response_bytes: int
    request_ts: int
    response_ts: int | None
    keep_alive: bool

    @property
    def latency_ns(self) -> int | None:
        """Request start to response start (time to first byte), as sysdig's httplog measures."""
        if self.response_ts is None:
            return None
        return self.response_ts - self.request_ts

    @property
    def is_error(self) -> bool:
        return self.status is None or self.status >= 400


@dataclass(slots=True)
class _Head:
    side: Side
    ts: int
    start_line: str
    headers: dict[str, str]
    http10: bool


def parse_head(raw: bytes, side: Side, ts: int) -> _Head:
    """Start line and headers (names lower-cased; repeated ones keep the last value)."""
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    start = lines[0]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if side is Side.SERVER:
        http10 = start.startswith("HTTP/1.0")
    else:
        http10 = start.endswith("HTTP/1.0")
    return _Head(side, ts, start, headers, http10)


class _Direction:
    """The message stream one side writes: finds heads, skips bodies by their length."""

    __slots__ = (
        "carry",
        "chunk_tail",
        "head",
        "head_ts",
        "message_size",
        "on_end",
        "on_head",
        "remaining",
        "side",
    )

    def __init__(
        self,
        side: Side,
        on_head: Callable[[_Head], int],
        on_end: Callable[[int, int], None],
    ) -> None:
        self.side = side
        self.on_head = on_head  # returns the body length mode (bytes, _UNTIL_NEXT, _CHUNKED)
        self.on_end = on_end  # (ts, message size)
        self.head: bytearray | None = None
        self.head_ts = 0
        self.remaining: int | None = None  # None: between messages
        self.message_size = 0
        self.carry = b""  # a few bytes that may begin a message split over two I/Os
        self.chunk_tail = b""  # last bytes of a chunked body, to find an end split over I/Os

    def feed(self, ts: int, data: bytes, size: int) -> None:
        if self.carry:
            data = self.carry + data
            size += len(self.carry)
            self.carry = b""
        offset = 0
        captured = len(data)
        while offset < size:
            if self.head is not None:
                offset = self._grow_head(ts, data, offset, size)
                continue
            remaining = self.remaining
            if remaining is not None and remaining > 0:
                step = min(remaining, size - offset)
                self.remaining = remaining - step
                self.message_size += step
                offset += step
                if self.remaining == 0:
                    self._end(ts)
                continue
            if offset >= captured:
                # Bytes we cannot see: part of an open-ended body, or lost.
                if remaining is not None:
                    self.message_size += size - offset
                return
            if remaining == _CHUNKED:
                offset = self._chunked(ts, data, offset, size)
                continue
            if http_message_kind(data[offset : offset + 16]) is self.side:
                if remaining is not None:
                    self._end(ts)
                self.head = bytearray()
                self.head_ts = ts
                continue
            if remaining is None:
                piece = data[offset:]
                if len(piece) < 16 and captured == size and _could_start(piece, self.side):
                    self.carry = piece
                return  # not a message start and no message open: resynchronise later
            nxt = self._find_next_start(data, offset)
            if nxt < 0:
                self.message_size += size - offset
                return
            self.message_size += nxt - offset
            offset = nxt

    def _find_next_start(self, data: bytes, offset: int) -> int:
        marker = b"HTTP/1." if self.side is Side.SERVER else b" HTTP/1."
        at = data.find(marker, offset + 1)
        while at >= 0:
            if self.side is Side.SERVER:
                if http_message_kind(data[at : at + 16]) is Side.SERVER:
                    return at
            else:
                line_start = data.rfind(b"\n", offset, at) + 1
                candidate = data[line_start : line_start + 16]
                if line_start > offset and http_message_kind(candidate) is Side.CLIENT:
                    return line_start
            at = data.find(marker, at + 1)
        return -1

    def _grow_head(self, ts: int, data: bytes, offset: int, size: int) -> int:
        head = self.head
        assert head is not None
        captured = len(data)
        if offset < captured:
            before = len(head)
            head += data[offset:captured]
            end = head.find(b"\r\n\r\n", max(0, before - 3))
            if end >= 0:
                used = end + 4 - before
                self.message_size += used
                self._finish_head(bytes(head[: end + 4]), False, ts)
                return offset + used
            if len(head) <= MAX_HEAD and captured >= size:
                self.message_size += size - offset
                return size  # the head goes on in the next I/O
        # The head was cut by the capture (or is absurdly long): keep what we saw.
        self.message_size += size - offset
        self._finish_head(bytes(head), True, ts)
        return size

    def _finish_head(self, raw: bytes, truncated: bool, ts: int) -> None:
        self.head = None
        mode = self.on_head(parse_head(raw, self.side, self.head_ts))
        if truncated and mode > 0:
            # A known length counts from the head's end, which we did not see.
            mode = _UNTIL_NEXT
        self.remaining = mode
        # A chunked body starts as if after a CRLF, so an empty one ends at its first bytes.
        self.chunk_tail = b"\r\n"
        if mode == 0:
            self._end(ts)

    def _chunked(self, ts: int, data: bytes, offset: int, size: int) -> int:
        tail = self.chunk_tail
        window = tail + data[offset:]
        at = window.find(_CHUNK_END)
        if at >= 0:
            used = at + len(_CHUNK_END) - len(tail)
            self.message_size += used
            self._end(ts)
            return offset + used
        self.chunk_tail = window[-(len(_CHUNK_END) - 1) :]
        self.message_size += size - offset
        return size

    def _end(self, ts: int) -> None:
        size = self.message_size
        self.remaining = None
        self.message_size = 0
        self.on_end(ts, size)

    def close(self, ts: int) -> None:
        if self.head is not None:
            self._finish_head(bytes(self.head), True, ts)
        if self.remaining is not None:
            self._end(ts)


def _could_start(piece: bytes, side: Side) -> bool:
    if side is Side.SERVER:
        return b"HTTP/1.0 200 "[: len(piece)][:7] == piece[:7]
    word = piece.split(b" ", 1)[0]
    return any(method.startswith(word) for method in HTTP_METHODS)


@dataclass(slots=True)
class _Pending:
    method: str
    path: str
    ts: int
    size: int = 0
    keep_alive: bool = True


class HttpConnection:
    """Pairs requests and responses of one connection; `on_exchange` gets each exchange."""

    __slots__ = (
        "_current",
        "_pending",
        "_requests",
        "_response",
        "_responses",
        "dropped",
        "on_exchange",
    )

    def __init__(self, on_exchange: Callable[[HttpExchange], None]) -> None:
        self.on_exchange = on_exchange
        self._pending: deque[_Pending] = deque()
        self._current: _Pending | None = None  # the request whose body is being read
        self._response: tuple[_Pending | None, int, int] | None = None  # (req, status, ts)
        self._requests = _Direction(Side.CLIENT, self._request_head, self._request_end)
        self._responses = _Direction(Side.SERVER, self._response_head, self._response_end)
        self.dropped = 0  # requests forgotten because too many were pending

    def feed(self, ts: int, data: bytes, size: int, from_client: bool) -> None:
        """One read or write: `data` is the captured prefix of `size` bytes moved."""
        if size <= 0:
            return
        if from_client:
            self._requests.feed(ts, data, size)
        else:
            self._responses.feed(ts, data, size)

    def close(self, ts: int, report_unanswered: bool = True) -> None:
        """The connection ended: finish open messages, report unanswered requests (unless the
        input ended rather than the connection)."""
        self._requests.close(ts)
        self._responses.close(ts)
        while self._pending and report_unanswered:
            req = self._pending.popleft()
            self.on_exchange(
                HttpExchange(req.method, req.path, None, req.size, 0, req.ts, None, False)
            )

    def _request_head(self, head: _Head) -> int:
        method, _, rest = head.start_line.partition(" ")
        target = rest.rsplit(" ", 1)[0] if " " in rest else rest
        connection = head.headers.get("connection", "").lower()
        keep_alive = connection != "close" and (not head.http10 or connection == "keep-alive")
        req = _Pending(method, normalise_path(target), head.ts, keep_alive=keep_alive)
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(req)
        self._current = req
        return _body_mode(head, request=True)

    def _request_end(self, ts: int, size: int) -> None:
        if self._current is not None:
            self._current.size = size
            self._current = None

    def _response_head(self, head: _Head) -> int:
        parts = head.start_line.split(" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            status = 0
        if 100 <= status < 200 and status != 101:
            return 0  # interim response: the final one follows for the same request
        req = self._pending.popleft() if self._pending else None
        self._response = (req, status, head.ts)
        if req is not None and req.method == "HEAD":
            return 0
        if status in (204, 304) or 100 <= status < 200:
            return 0
        return _body_mode(head, request=False)

    def _response_end(self, ts: int, size: int) -> None:
        response = self._response
        if response is None:
            return  # an interim response
        self._response = None
        req, status, resp_ts = response
        if req is None:
            return  # a response to a request we never saw (capture started mid-exchange)
        exchange = HttpExchange(
            req.method, req.path, status, req.size, size, req.ts, resp_ts, req.keep_alive
        )
        self.on_exchange(exchange)


def _body_mode(head: _Head, request: bool) -> int:
    headers = head.headers
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _CHUNKED
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        return int(length)
    # A request without a length has no body; a response lasts until the close.
    return 0 if request else _UNTIL_NEXT
