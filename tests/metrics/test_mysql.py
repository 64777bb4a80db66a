"""MySQL wire decoding: framing, replies, result sets, prepared statements, normalisation."""

from __future__ import annotations

import pytest

from lanner.metrics.protocols.detect import Protocol, Side, detect
from lanner.metrics.protocols.mysql import (
    CLIENT_DEPRECATE_EOF,
    MysqlConnection,
    MysqlExchange,
    PacketFramer,
    normalise_sql,
)


def pkt(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def ok(seq: int, affected: int = 0, status: int = 2) -> bytes:
    return pkt(seq, bytes([0, affected, 0]) + status.to_bytes(2, "little") + b"\0\0")


def err(seq: int, code: int) -> bytes:
    return pkt(seq, b"\xff" + code.to_bytes(2, "little") + b"#42000bad things")


def eof(seq: int, status: int = 2) -> bytes:
    return pkt(seq, b"\xfe\0\0" + status.to_bytes(2, "little"))


def result_set(rows: int, columns: int = 2, start: int = 1, deprecate_eof: bool = False) -> bytes:
    seq = start
    out = pkt(seq, bytes([columns]))
    for _ in range(columns):
        seq += 1
        out += pkt(seq, b"\x03def\x00\x01t\x01t\x01c\x01c\x0c" + bytes(13))
    if not deprecate_eof:
        seq += 1
        out += eof(seq)
    for i in range(rows):
        seq += 1
        value = str(i).encode()
        out += pkt(seq, bytes([len(value)]) + value + b"\x01x")
    seq += 1
    out += pkt(seq, b"\xfe\0\0\x02\0\0\0") if deprecate_eof else eof(seq)
    return out


GREETING = pkt(0, b"\x0a" + b"10.11.6-MariaDB\0" + bytes(40))


def handshake(conn: MysqlConnection, caps: int = 0) -> None:
    conn.feed(1, GREETING, len(GREETING), False)
    reply = pkt(1, caps.to_bytes(4, "little") + bytes(28) + b"root\0")
    conn.feed(2, reply, len(reply), True)
    done = ok(2)
    conn.feed(3, done, len(done), False)


def _conn(caps: int = 0) -> tuple[MysqlConnection, list[MysqlExchange]]:
    out: list[MysqlExchange] = []
    conn = MysqlConnection(out.append)
    handshake(conn, caps)
    return conn, out


def send(conn: MysqlConnection, ts: int, data: bytes, from_client: bool) -> None:
    conn.feed(ts, data, len(data), from_client)


def test_query_ok_error_and_result_set() -> None:
    conn, out = _conn()
    send(conn, 10, pkt(0, b"\x03INSERT INTO t VALUES (1, 'a')"), True)
    send(conn, 15, ok(1, affected=1), False)
    send(conn, 20, pkt(0, b"\x03SELEC oops"), True)
    send(conn, 22, err(1, 1064), False)
    send(conn, 30, pkt(0, b"\x03SELECT a, b FROM t WHERE id > 5"), True)
    send(conn, 41, result_set(rows=3), False)
    assert [(e.command, e.status, e.error_code, e.rows, e.latency_ns) for e in out] == [
        ("query", "ok", None, 1, 5),
        ("query", "error", 1064, 0, 2),
        ("query", "ok", None, 3, 11),
    ]
    assert out[0].query == "INSERT INTO t VALUES (?+)"
    assert out[2].query == "SELECT a, b FROM t WHERE id > ?"
    assert conn.seq_errors == 0


def test_deprecate_eof_result_sets_and_replies_split_into_pieces() -> None:
    conn, out = _conn(CLIENT_DEPRECATE_EOF)
    send(conn, 1, pkt(0, b"\x03SELECT 1"), True)
    reply = result_set(rows=5, deprecate_eof=True)
    for i in range(0, len(reply), 3):
        send(conn, 2 + i, reply[i : i + 3], False)
    assert [(e.status, e.rows) for e in out] == [("ok", 5)]


def test_multiple_result_sets_are_one_exchange() -> None:
    conn, out = _conn()
    send(conn, 1, pkt(0, b"\x03CALL p()"), True)
    first = result_set(rows=2)[:-9] + eof(7, status=0x0A)  # more results follow
    second = result_set(rows=1, start=8)
    send(conn, 5, first + second, False)
    assert [(e.status, e.rows) for e in out] == [("ok", 3)]


def test_prepared_statements_report_their_sql() -> None:
    conn, out = _conn()
    send(conn, 1, pkt(0, b"\x16SELECT * FROM t WHERE id = ?"), True)
    prep_ok = pkt(1, b"\x00" + (7).to_bytes(4, "little") + (1).to_bytes(2, "little") * 2 + bytes(3))
    defs = pkt(2, b"\x03def" + bytes(20)) + eof(3) + pkt(4, b"\x03def" + bytes(20)) + eof(5)
    send(conn, 2, prep_ok + defs, False)
    send(conn, 3, pkt(0, b"\x17" + (7).to_bytes(4, "little") + bytes(5)), True)
    rows = (
        pkt(1, b"\x01") + pkt(2, b"\x03def" + bytes(20)) + eof(3) + pkt(4, b"\x00\x00\x01") + eof(5)
    )
    send(conn, 9, rows, False)
    send(conn, 10, pkt(0, b"\x19" + (7).to_bytes(4, "little")), True)
    send(conn, 11, pkt(0, b"\x17" + (7).to_bytes(4, "little") + bytes(5)), True)
    conn.close(12)
    assert [(e.command, e.query, e.status, e.rows) for e in out] == [
        ("stmt_prepare", "SELECT * FROM t WHERE id = ?", "ok", 0),
        ("stmt_execute", "SELECT * FROM t WHERE id = ?", "ok", 1),
        ("stmt_execute", "<statement 7>", "unanswered", 0),
    ]


def test_truncated_capture_resynchronises_at_next_io() -> None:
    conn, out = _conn()
    query = pkt(0, b"\x03SELECT " + b"x" * 500)
    conn.feed(1, query[:40], len(query), True)  # only 40 bytes captured
    big = result_set(rows=50)
    conn.feed(2, big[:40], len(big), False)
    send(conn, 3, pkt(0, b"\x03SELECT 2"), True)
    send(conn, 4, ok(1), False)
    assert [e.status for e in out] == ["unanswered", "ok"]
    assert out[0].query.startswith("SELECT xxxx")
    assert out[1].query == "SELECT ?"


def test_framer_keeps_prefix_of_large_packets() -> None:
    framer = PacketFramer()
    payload = b"\x03" + b"a" * 10000
    data = pkt(0, payload) + pkt(0, b"\x0e")
    packets = framer.feed(data, len(data))
    assert [(seq, len(p), n) for seq, p, n in packets] == [(0, 4096, 10001), (0, 1, 1)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE a = 'x''y' AND b=42", "SELECT * FROM t WHERE a = ? AND b=?"),
        ("select  1.5e3,  0x1F, X'ab'  ;", "select ?, ?, ?"),
        ("SELECT * FROM t2 WHERE id IN (1, 2, 3)", "SELECT * FROM t2 WHERE id IN (?+)"),
        ("INSERT INTO t VALUES (1,'a'),(2,'b'), (3,'c')", "INSERT INTO t VALUES (?+)"),
        ("SELECT /* hint */ `col1` FROM db1.t -- tail", "SELECT `col1` FROM db1.t"),
        ('UPDATE t SET v = "q\\"x" WHERE k = -7', "UPDATE t SET v = ? WHERE k = -?"),
    ],
)
def test_normalise_sql(sql: str, expected: str) -> None:
    assert normalise_sql(sql) == expected


def test_detect_mysql() -> None:
    assert detect(GREETING) == (Protocol.MYSQL, Side.SERVER)
    assert detect(pkt(0, b"\x03SELECT 1")) == (Protocol.MYSQL, Side.CLIENT)
    assert detect(pkt(0, b"\x0e"))[0] is Protocol.UNKNOWN  # ping alone is not confident
    assert detect(pkt(1, b"\x03SELECT 1"))[0] is Protocol.UNKNOWN
    assert detect(pkt(0, b"\x03SELECT 1") + b"junk")[0] is Protocol.UNKNOWN
