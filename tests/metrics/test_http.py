"""HTTP/1.x decoding: framing, pairing, pipelining, truncated captures, bounded memory."""

from __future__ import annotations

import pytest

from lanner.metrics.protocols.detect import Protocol, Side, detect
from lanner.metrics.protocols.http import MAX_PENDING, HttpConnection, HttpExchange, normalise_path


def _conn() -> tuple[HttpConnection, list[HttpExchange]]:
    out: list[HttpExchange] = []
    return HttpConnection(out.append), out


def _feed(conn: HttpConnection, ts: int, data: bytes, from_client: bool, snap: int = 0) -> None:
    conn.feed(ts, data[:snap] if snap else data, len(data), from_client)


GET = b"GET /items/17?full=1 HTTP/1.1\r\nHost: x\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def test_keep_alive_exchanges_pair_in_order_with_latency() -> None:
    conn, out = _conn()
    _feed(conn, 100, GET, True)
    _feed(conn, 350, OK, False)
    _feed(conn, 400, b"DELETE /items/18 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", True)
    _feed(conn, 900, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", False)
    assert [(e.method, e.path, e.status, e.latency_ns) for e in out] == [
        ("GET", "/items/{num}", 200, 250),
        ("DELETE", "/items/{num}", 404, 500),
    ]
    assert out[0].request_bytes == len(GET) and out[0].response_bytes == len(OK)
    assert not out[0].is_error and out[1].is_error


def test_pipelined_requests_in_one_write_and_responses_split_anywhere() -> None:
    conn, out = _conn()
    post = b"POST /a HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
    _feed(conn, 1, GET + post + GET, True)
    chunked = b"HTTP/1.1 500 E\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    stream = OK + chunked + OK
    for i in range(0, len(stream), 7):  # responses arrive in 7-byte pieces
        _feed(conn, 10 + i, stream[i : i + 7], False)
    assert [(e.method, e.status) for e in out] == [("GET", 200), ("POST", 500), ("GET", 200)]
    assert [e.response_bytes for e in out] == [len(OK), len(chunked), len(OK)]
    assert out[1].request_bytes == len(post)


def test_head_interim_and_no_body_statuses() -> None:
    conn, out = _conn()
    _feed(conn, 1, b"HEAD / HTTP/1.1\r\n\r\n", True)
    _feed(conn, 2, b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n", False)
    _feed(conn, 3, b"PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", True)
    _feed(conn, 4, b"HTTP/1.1 100 Continue\r\n\r\n", False)
    _feed(conn, 5, b"hi", True)
    _feed(conn, 6, b"HTTP/1.1 204 No Content\r\n\r\n", False)
    assert [(e.method, e.status, e.response_ts) for e in out] == [
        ("HEAD", 200, 2),
        ("PUT", 204, 6),
    ]


def test_truncated_capture_resynchronises_on_message_starts() -> None:
    # A probe capturing 20 bytes per call: lengths are unknown, messages start each call.
    conn, out = _conn()
    body = b"x" * 300
    resp = b"HTTP/1.1 503 Busy\r\nContent-Length: 300\r\n\r\n" + body
    for i in range(3):
        _feed(conn, 10 * i, GET, True, snap=20)
        _feed(conn, 10 * i + 5, resp, False, snap=20)
    conn.close(100)
    assert [e.status for e in out] == [503, 503, 503]
    assert [e.latency_ns for e in out] == [5, 5, 5]


def test_http10_response_without_length_ends_at_close() -> None:
    conn, out = _conn()
    _feed(conn, 1, b"GET / HTTP/1.0\r\n\r\n", True)
    _feed(conn, 2, b"HTTP/1.0 200 OK\r\n", False)  # status line alone, as python's server does
    _feed(conn, 3, b"Server: x\r\n\r\n", False)
    _feed(conn, 4, b"body", False)
    assert out == []
    conn.close(9)
    assert len(out) == 1 and out[0].response_bytes == 17 + 13 + 4 and not out[0].keep_alive


def test_unanswered_requests_reported_at_close_and_pending_bounded() -> None:
    conn, out = _conn()
    for i in range(MAX_PENDING + 5):
        _feed(conn, i, GET, True)
    assert conn.dropped == 5
    conn.close(1000)
    assert len(out) == MAX_PENDING and all(e.status is None and e.is_error for e in out)
    quiet, none = _conn()
    _feed(quiet, 1, GET, True)
    quiet.close(2, report_unanswered=False)
    assert none == []


def test_garbage_is_ignored_until_a_message_starts() -> None:
    conn, out = _conn()
    _feed(conn, 1, b"\x16\x03\x01 tls hello", True)
    _feed(conn, 2, GET, True)
    _feed(conn, 3, OK, False)
    assert [e.status for e in out] == [200]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/users/42/orders?page=2", "/users/{num}/orders"),
        ("/o/550e8400-e29b-41d4-a716-446655440000", "/o/{uuid}"),
        ("/blob/9f86d081884c7d659a2feaa0c55ad015", "/blob/{hex}"),
        ("/t/AbC123dEf456GhI789jKl0", "/t/{id}"),
        ("http://example.com/a/1#frag", "/a/{num}"),
        ("/static/app.js", "/static/app.js"),
    ],
)
def test_normalise_path(target: str, expected: str) -> None:
    assert normalise_path(target) == expected


def test_detect_http_sides_and_rejects_lookalikes() -> None:
    assert detect(GET) == (Protocol.HTTP, Side.CLIENT)
    assert detect(OK) == (Protocol.HTTP, Side.SERVER)
    assert detect(b"GETTING started")[0] is Protocol.UNKNOWN
    assert detect(b"HTTP/1.1 abc")[0] is Protocol.UNKNOWN
    assert detect(b"")[0] is Protocol.UNKNOWN
