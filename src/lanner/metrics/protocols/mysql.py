"""The MySQL/MariaDB client/server protocol, decoded from a connection's reads and writes.

Packets are a 3-byte little-endian payload length, a 1-byte sequence id, then the payload. A
client command starts at sequence 0 (its first payload byte is the COM_* code); the server's
reply continues the sequence: an OK (0x00), an ERR (0xff, 2-byte code, '#', SQLSTATE, text),
or a result set — a column count, that many column definitions, an EOF (0xfe, unless the
client asked for CLIENT_DEPRECATE_EOF), rows, and a closing EOF/OK that may announce more
result sets. COM_STMT_PREPARE is answered by a prepare-OK (statement id, column and parameter
counts) and the definitions; COM_STMT_EXECUTE names the statement id, so the prepared text is
kept per connection to report executions under their SQL.

Only a bounded prefix of each packet is kept (`KEEP` bytes: enough for SQL text and replies);
larger packets are skipped by their announced length. When the capture lost bytes, the framer
resynchronises at the start of the next read or write, which is where clients and servers
start their packets in practice.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from lanner.metrics.protocols.detect import MYSQL_COMMANDS

KEEP = 4096
MAX_STATEMENTS = 256
CLIENT_DEPRECATE_EOF = 1 << 24
SERVER_MORE_RESULTS_EXISTS = 0x0008
_NO_REPLY = frozenset({0x01, 0x18, 0x19})  # quit, stmt_send_long_data, stmt_close
COM_QUERY, COM_STMT_PREPARE, COM_STMT_EXECUTE = 0x03, 0x16, 0x17

_SQL_TOKEN = re.compile(
    r"""
     (?P<comment>/\*.*?\*/|--[^\n]*|\#[^\n]*)
    |(?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    |(?P<hex>0[xX][0-9A-Fa-f]+|[xXbB]'[0-9A-Fa-f]*')
    |(?P<ident>`(?:[^`]|``)*`|[A-Za-z_$@][A-Za-z0-9_$@]*)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.X | re.S,
)
_VALUE_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")
_REPEATED_GROUPS = re.compile(r"(\(\?\+?\))(?:\s*,\s*\(\?\+?\))+")


def normalise_sql(text: str) -> str:
    """The statement with its literals replaced by `?`: strings, numbers, hex and bit values;
    comments dropped, whitespace collapsed, value lists folded to `(?+)`.

    `SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x'` ->
    `SELECT * FROM t WHERE id IN (?+) AND name = ?`.
    """
    out: list[str] = []
    for match in _SQL_TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("string", "number", "hex"):
            out.append("?")
        elif kind in ("space", "comment"):
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(match.group())
    result = "".join(out).strip().rstrip(";").strip()
    result = _VALUE_LIST.sub("(?+)", result)
    return _REPEATED_GROUPS.sub(r"\1", result)


@dataclass(slots=True)
class MysqlExchange:
    """One command and its reply. status: "ok", "error" or "unanswered"."""

    command: str
    query: str
    status: str
    error_code: int | None
    rows: int
    request_ts: int
    response_ts: int | None
    request_bytes: int
    response_bytes: int

    @property
    def latency_ns(self) -> int | None:
        """Command sent to the last reply packet (Pixie's definition)."""
        if self.response_ts is None:
            return None
        return self.response_ts - self.request_ts

    @property
    def is_error(self) -> bool:
        return self.status != "ok"


def lenenc_int(payload: bytes, pos: int) -> tuple[int, int]:
    """A length-encoded integer at pos: (value, next position); (0, len) when cut short."""
    if pos >= len(payload):
        return 0, len(payload)
    first = payload[pos]
    if first < 0xFB:
        return first, pos + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first, 0)
    if width == 0 or pos + 1 + width > len(payload):
        return 0, len(payload)
    return int.from_bytes(payload[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


class PacketFramer:
    """Cuts one direction's byte stream into (sequence id, payload prefix, payload length)."""

    __slots__ = ("lost", "partial", "skip")

    def __init__(self) -> None:
        self.partial = bytearray()  # header + kept payload of the packet being assembled
        self.skip = 0  # payload bytes of the current packet still to discard
        self.lost = 0  # times bytes were lost and the framer resynchronised

    def feed(self, data: bytes, size: int) -> list[tuple[int, bytes, int]]:
        packets: list[tuple[int, bytes, int]] = []
        captured = len(data)
        pos = 0
        partial = self.partial
        while pos < size:
            if self.skip:
                step = min(self.skip, size - pos)
                self.skip -= step
                pos += step
                continue
            if pos >= captured:
                pos = self._cut(packets, pos, size)
                continue
            if len(partial) < 4:
                take = min(4 - len(partial), captured - pos)
                partial += data[pos : pos + take]
                pos += take
                continue
            length = int.from_bytes(partial[:3], "little")
            want = min(length, KEEP)
            have = len(partial) - 4
            if have < want:
                take = min(want - have, captured - pos)
                partial += data[pos : pos + take]
                pos += take
                have += take
            if have >= want:
                packets.append((partial[3], bytes(partial[4:]), length))
                partial.clear()
                self.skip = length - want
        return packets

    def _cut(self, packets: list[tuple[int, bytes, int]], pos: int, size: int) -> int:
        """The rest of this I/O was not captured. A packet whose header we hold is reported
        with the payload prefix we saw; if it runs past this I/O, skipping its length keeps
        the framing, otherwise the following packets are lost and framing restarts at the
        next I/O."""
        partial = self.partial
        if len(partial) >= 5:
            length = int.from_bytes(partial[:3], "little")
            packets.append((partial[3], bytes(partial[4:]), length))
            left_in_packet = length - (len(partial) - 4)
            partial.clear()
            if left_in_packet > size - pos:
                self.skip = left_in_packet
                return pos
        partial.clear()
        self.lost += 1
        return size


@dataclass(slots=True)
class _Request:
    code: int
    query: str
    ts: int
    size: int


class MysqlConnection:
    """Pairs the commands and replies of one connection; `on_exchange` gets each exchange."""

    __slots__ = (
        "_columns",
        "_deprecate_eof",
        "_expect_seq",
        "_phase",
        "_prepare_defs",
        "_request",
        "_response_bytes",
        "_rows",
        "_statements",
        "client",
        "on_exchange",
        "seq_errors",
        "server",
    )

    def __init__(self, on_exchange: Callable[[MysqlExchange], None]) -> None:
        self.on_exchange = on_exchange
        self.client = PacketFramer()
        self.server = PacketFramer()
        self._statements: OrderedDict[int, str] = OrderedDict()
        self._request: _Request | None = None
        self._phase = "idle"
        self._columns = 0
        self._rows = 0
        self._prepare_defs = 0
        self._expect_seq = 0
        self._response_bytes = 0
        self._deprecate_eof: bool | None = None  # unknown until the handshake is seen
        self.seq_errors = 0

    def feed(self, ts: int, data: bytes, size: int, from_client: bool) -> None:
        """One read or write: `data` is the captured prefix of `size` bytes moved."""
        if size <= 0:
            return
        if from_client:
            for seq, payload, length in self.client.feed(data, size):
                self._client_packet(ts, seq, payload, length)
        else:
            for seq, payload, length in self.server.feed(data, size):
                self._server_packet(ts, seq, payload, length)

    def close(self, ts: int, report_unanswered: bool = True) -> None:
        if self._request is not None and report_unanswered:
            self._finish(ts, "unanswered", None)

    # ---- client side ---------------------------------------------------------------------

    def _client_packet(self, ts: int, seq: int, payload: bytes, length: int) -> None:
        if seq != 0:
            if seq == 1 and self._request is None and len(payload) >= 4:
                # The handshake response: the client's capabilities decide the EOF packets.
                caps = int.from_bytes(payload[:4], "little")
                self._deprecate_eof = bool(caps & CLIENT_DEPRECATE_EOF)
            return
        if not payload or payload[0] not in MYSQL_COMMANDS:
            return
        code = payload[0]
        if self._request is not None:
            # A new command while one is open: its reply was lost (or never came).
            self._finish(ts, "unanswered", None)
        query = ""
        if code in (COM_QUERY, COM_STMT_PREPARE):
            query = normalise_sql(payload[1:].decode("utf-8", "replace"))
        elif code == COM_STMT_EXECUTE and len(payload) >= 5:
            stmt = int.from_bytes(payload[1:5], "little")
            query = self._statements.get(stmt, f"<statement {stmt}>")
        elif code == 0x19 and len(payload) >= 5:
            self._statements.pop(int.from_bytes(payload[1:5], "little"), None)
        if code in _NO_REPLY:
            return
        self._request = _Request(code, query, ts, length + 4)
        self._phase = "first"
        self._rows = 0
        self._columns = 0
        self._expect_seq = 1
        self._response_bytes = 0

    # ---- server side ---------------------------------------------------------------------

    def _server_packet(self, ts: int, seq: int, payload: bytes, length: int) -> None:
        if self._request is None:
            return  # greeting, authentication, or a reply whose command we missed
        if seq != self._expect_seq & 0xFF:
            self.seq_errors += 1
        self._expect_seq = seq + 1
        self._response_bytes += length + 4
        first = payload[0] if payload else -1
        if first == 0xFF:
            code = int.from_bytes(payload[1:3], "little") if len(payload) >= 3 else 0
            self._finish(ts, "error", code)
            return
        eof = first == 0xFE and length < 9
        phase = self._phase
        if phase == "first":
            self._first_reply(ts, payload, first, eof)
        elif phase == "columns":
            self._columns -= 1
            if self._columns <= 0:
                self._phase = "columns_end"
        elif phase == "columns_end" and eof:
            self._phase = "rows"  # the EOF closing the column definitions
        elif phase in ("rows", "columns_end"):
            self._phase = "rows"
            if eof:
                if self._end_status(payload) & SERVER_MORE_RESULTS_EXISTS:
                    self._phase = "first"
                else:
                    self._finish(ts, "ok", None)
            else:
                self._rows += 1
        elif phase == "defs":
            if eof:
                return
            self._prepare_defs -= 1
            if self._prepare_defs <= 0:
                if self._deprecate_eof is False:
                    self._phase = "defs_eof"
                else:
                    self._finish(ts, "ok", None)
        elif phase == "defs_eof":
            self._finish(ts, "ok", None)

    def _first_reply(self, ts: int, payload: bytes, first: int, eof: bool) -> None:
        request = self._request
        assert request is not None
        if first == 0x00:
            if request.code == COM_STMT_PREPARE:
                self._prepared(ts, payload)
                return
            affected, pos = lenenc_int(payload, 1)
            _, pos = lenenc_int(payload, pos)
            status = int.from_bytes(payload[pos : pos + 2], "little")
            self._rows += affected
            if not status & SERVER_MORE_RESULTS_EXISTS:
                self._finish(ts, "ok", None)
            return
        if eof or first == 0xFB:
            self._finish(ts, "ok", None)
            return
        self._columns, _ = lenenc_int(payload, 0)
        self._phase = "columns" if self._columns > 0 else "rows"

    def _end_status(self, payload: bytes) -> int:
        if len(payload) == 5 and self._deprecate_eof is not True:
            return int.from_bytes(payload[3:5], "little")  # EOF: warnings, status
        _, pos = lenenc_int(payload, 1)  # OK in EOF's clothes: affected rows, insert id
        _, pos = lenenc_int(payload, pos)
        return int.from_bytes(payload[pos : pos + 2], "little")

    def _prepared(self, ts: int, payload: bytes) -> None:
        request = self._request
        assert request is not None
        if len(payload) >= 9:
            stmt = int.from_bytes(payload[1:5], "little")
            self._statements[stmt] = request.query
            while len(self._statements) > MAX_STATEMENTS:
                self._statements.popitem(last=False)
            columns = int.from_bytes(payload[5:7], "little")
            params = int.from_bytes(payload[7:9], "little")
            self._prepare_defs = columns + params
        if self._prepare_defs > 0:
            self._phase = "defs"
        else:
            self._finish(ts, "ok", None)

    def _finish(self, ts: int, status: str, error_code: int | None) -> None:
        request = self._request
        assert request is not None
        self._request = None
        self._phase = "idle"
        self._prepare_defs = 0
        self.on_exchange(
            MysqlExchange(
                MYSQL_COMMANDS.get(request.code, str(request.code)),
                request.query,
                status,
                error_code,
                self._rows,
                request.ts,
                None if status == "unanswered" else ts,
                request.size,
                self._response_bytes,
            )
        )
