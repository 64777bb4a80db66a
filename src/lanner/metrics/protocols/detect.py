"""Protocol detection from the first payload bytes seen on a connection.

A connection is classified once, from whichever side speaks first; the verdict sticks for the
rest of the connection (as Pixie does) so that body bytes are never re-classified. The tests
are deliberately strict: a wrong "HTTP" or "MySQL" on an unrelated stream costs more (bogus
requests in the metrics) than a missed connection.
"""

from __future__ import annotations

import enum

HTTP_METHODS = frozenset(
    {b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE"}
)
# MySQL command bytes that open a client exchange (COM_*), with a readable name each.
MYSQL_COMMANDS: dict[int, str] = {
    0x01: "quit",
    0x02: "init_db",
    0x03: "query",
    0x04: "field_list",
    0x0E: "ping",
    0x11: "change_user",
    0x16: "stmt_prepare",
    0x17: "stmt_execute",
    0x18: "stmt_send_long_data",
    0x19: "stmt_close",
    0x1A: "stmt_reset",
    0x1F: "reset_connection",
}
# Commands confident enough to classify a connection seen mid-stream (no greeting seen).
_MYSQL_CONFIDENT = frozenset({0x02, 0x03, 0x16, 0x17})
_MAX_MYSQL_COMMAND_LEN = 1 << 20


class Protocol(enum.Enum):
    UNKNOWN = "unknown"
    HTTP = "http"
    MYSQL = "mysql"


class Side(enum.Enum):
    """Who wrote the classified bytes."""

    CLIENT = "client"
    SERVER = "server"


def http_message_kind(data: bytes) -> Side | None:
    """CLIENT for a request line start ("GET /x HTTP/1.1"), SERVER for a status line
    ("HTTP/1.1 200"), None otherwise."""
    if data.startswith(b"HTTP/1.") and len(data) >= 12 and data[9:12].isdigit():
        return Side.SERVER
    space = data.find(b" ", 0, 8)
    if space <= 0 or data[:space] not in HTTP_METHODS:
        return None
    # The request target must start like a path, an absolute URL or "*" (OPTIONS *).
    target = data[space + 1 : space + 2]
    if target in (b"/", b"*", b"h", b"H") or (data[:space] == b"CONNECT" and target):
        return Side.CLIENT
    return None


def is_mysql_greeting(data: bytes) -> bool:
    """A server handshake packet: seq 0, protocol version 10, a NUL-ended printable version."""
    if len(data) < 6 or data[3] != 0 or data[4] != 0x0A:
        return False
    length = int.from_bytes(data[:3], "little")
    if not 20 <= length <= 512:
        return False
    end = data.find(b"\0", 5, 5 + 64)
    if end <= 5:
        return False
    version = data[5:end]
    return version[:1].isdigit() and all(32 <= c < 127 for c in version)


def is_mysql_command(data: bytes, confident_only: bool = True) -> bool:
    """A client command packet: seq 0, plausible length, a known command byte."""
    if len(data) < 5 or data[3] != 0:
        return False
    length = int.from_bytes(data[:3], "little")
    command = data[4]
    if not 0 < length <= _MAX_MYSQL_COMMAND_LEN:
        return False
    if confident_only and command not in _MYSQL_CONFIDENT:
        return False
    if command not in MYSQL_COMMANDS:
        return False
    # Packets captured whole must have exactly the announced length.
    return len(data) < 4 + length or len(data) == 4 + length or _fits_more_packets(data, length)


def _fits_more_packets(data: bytes, length: int) -> bool:
    # Several packets in one write (pipelined commands) are fine; garbage after is not.
    rest = data[4 + length :]
    return len(rest) >= 4 and rest[3] == 0


def detect(data: bytes) -> tuple[Protocol, Side | None]:
    """The protocol of a connection from its first payload, and which side wrote it."""
    if not data:
        return Protocol.UNKNOWN, None
    side = http_message_kind(data)
    if side is not None:
        return Protocol.HTTP, side
    if is_mysql_greeting(data):
        return Protocol.MYSQL, Side.SERVER
    if is_mysql_command(data):
        return Protocol.MYSQL, Side.CLIENT
    return Protocol.UNKNOWN, None
