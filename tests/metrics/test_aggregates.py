"""The metrics engine on real Event records through the state layer: per-peer TCP outcomes,
backend spread, syscall errors and latency, file I/O, protocol series, exposition."""

from __future__ import annotations

import re

from lanner.events.event import Event
from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.exposition import render
from lanner.metrics.spread import backend_spread
from lanner.metrics.synthetic import Conversation, make
from lanner.state.state import State
from lanner.state.threads import ThreadInfo

ECONNREFUSED, ECONNRESET, ENOENT = 111, 104, 2


def run(events: list[Event], comms: dict[int, tuple[str, str]]) -> MetricsEngine:
    state = State()
    for tid, (comm, container) in comms.items():
        thread = ThreadInfo(tid, tid)
        thread.comm = comm
        thread.container_id = container
        state.threads.add(thread)
    engine = MetricsEngine()
    events.sort(key=lambda e: e.ts)
    for event in events:
        state.process(event)
    engine.process_batch(events)
    return engine


def client_calls(ts: int, backend: str, fd: int, outcome: str) -> list[Event]:
    conv = Conversation(100, fd)
    res = -ECONNREFUSED if outcome == "refused" else 0
    conv.connect(ts, ts + 50_000, ("10.0.0.1", 40000 + fd), (backend, 8080), res=res)
    if outcome == "reset":
        conv.io("read", ts + 60_000, ts + 70_000, b"", res=-ECONNRESET)
    elif outcome == "ok":
        conv.io("write", ts + 60_000, ts + 61_000, b"GET /x HTTP/1.1\r\n\r\n")
        conv.io("read", ts + 62_000, ts + 900_000, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conv.close(ts + 1_000_000)
    return conv.events


def scenario(plan: dict[str, list[str]]) -> MetricsEngine:
    events: list[Event] = []
    ts, fd = 1_000_000_000, 10
    for backend, outcomes in plan.items():
        for outcome in outcomes:
            events += client_calls(ts, backend, fd, outcome)
            ts += 2_000_000
            fd += 1
    return run(events, {100: ("nginx", "c0ffee")})


def test_refusing_backend_is_failing_not_skewed() -> None:
    engine = scenario(
        {
            "10.0.1.1": ["ok"] * 10,
            "10.0.1.2": ["ok"] * 10,
            "10.0.1.3": ["refused"] * 8 + ["ok"] * 2,
        }
    )
    peer = engine.peers[("c0ffee", "nginx", "client", "10.0.1.3", 8080)]
    assert (peer.connect_attempts, peer.connect_ok, dict(peer.connect_failed)) == (
        10,
        2,
        {"ECONNREFUSED": 8},
    )
    healthy = engine.peers[("c0ffee", "nginx", "client", "10.0.1.1", 8080)]
    assert healthy.failures == 0 and healthy.connect_latency.count == 10
    (spread,) = backend_spread(engine)
    assert spread.verdict == "failing"
    assert [b.ip for b in spread.failing] == ["10.0.1.3"]


def test_resetting_backend_is_failing() -> None:
    engine = scenario({"10.0.1.1": ["ok"] * 5, "10.0.1.2": ["reset"] * 5})
    assert engine.peers[("c0ffee", "nginx", "client", "10.0.1.2", 8080)].resets == 5
    (spread,) = backend_spread(engine)
    assert spread.verdict == "failing" and [b.ip for b in spread.failing] == ["10.0.1.2"]


def test_skewed_spread_over_healthy_backends() -> None:
    engine = scenario({"10.0.1.1": ["ok"] * 16, "10.0.1.2": ["ok"] * 2, "10.0.1.3": ["ok"] * 2})
    (spread,) = backend_spread(engine)
    assert spread.verdict == "skewed" and spread.failing == ()
    assert abs(spread.skew - 16 * 3 / 20) < 1e-9
    even = backend_spread(scenario({"10.0.1.1": ["ok"] * 5, "10.0.1.2": ["ok"] * 6}))
    assert even[0].verdict == "balanced"


def test_http_over_synthetic_connections_counts_client_side() -> None:
    engine = scenario({"10.0.1.1": ["ok"] * 4, "10.0.1.2": ["refused"]})
    stats = engine.http[("c0ffee", "nginx", "client", "GET", "/x")]
    assert stats.requests == 4 and dict(stats.statuses) == {200: 4}
    assert stats.latency.quantile(0.5) is not None
    assert abs(stats.latency.quantile(0.5) - 838_000) / 838_000 < 0.05  # type: ignore[operator]


def test_syscall_errors_latency_and_file_io_per_directory() -> None:
    tid = 7
    events = [
        make("openat", ">", 10, tid, dirfd=-100, name="/etc/missing", flags=0, mode=0),
        make("openat", "<", 30, tid, fd=-ENOENT, dirfd=-100, name="/etc/missing", flags=0),
        make("openat", ">", 40, tid, dirfd=-100, name="/var/log/app.log", flags=1, mode=0),
        make("openat", "<", 50, tid, fd=3, dirfd=-100, name="/var/log/app.log", flags=1),
        make("write", ">", 60, tid, fd=3, size=100),
        make("write", "<", 560, tid, res=100, data=b"x" * 100),
        make("write", ">", 600, tid, fd=3, size=20),
        make("write", "<", 700, tid, res=20, data=b"y" * 20),
    ]
    engine = run(events, {tid: ("app", "")})
    opens = engine.syscalls[("host", "app", "openat")]
    assert opens.count == 2 and dict(opens.errors) == {"ENOENT": 1}
    assert (opens.latency.min, opens.latency.max) == (10, 20)
    log = engine.dirs[("host", "/var/log/")]
    assert (log.writes, log.write_bytes, log.reads) == (2, 120, 0)
    assert engine.files[("host", "/var/log/app.log")].latency.max == 500


def test_server_side_accepts_and_exposition() -> None:
    conv = Conversation(200, 5)
    conv.accept(100, ("10.0.0.9", 5555), ("10.0.0.2", 80))
    conv.io("read", 200, 300, b"GET /a/1 HTTP/1.1\r\n\r\n")
    conv.io("write", 400, 2_000_300, b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno")
    conv.close(3_000_000)
    engine = run(conv.events, {200: ('web "1"', "abc")})
    assert engine.listeners == {("abc", 'web "1"', 80): 1}
    stats = engine.http[("abc", 'web "1"', "server", "GET", "/a/{num}")]
    assert stats.errors == 1 and dict(stats.statuses) == {500: 1}
    text = render(engine)
    sample = re.compile(r'^lanner_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line
    assert 'lanner_http_requests_total{container="abc",proc="web \\"1\\"",role="server"' in text
    assert 'status="500"} 1' in text
    buckets = [ln for ln in text.splitlines() if ln.startswith("lanner_http_request_duration")]
    le_001 = next(ln for ln in buckets if 'le="0.001"' in ln)
    le_0025 = next(ln for ln in buckets if 'le="0.0025"' in ln)
    assert le_001.endswith(" 0") and le_0025.endswith(" 1")  # 2 ms response
    assert 'lanner_tcp_accepts_total{container="abc",proc="web \\"1\\"",port="80"} 1' in text


def test_nonblocking_connect_closed_before_any_io_is_a_failure() -> None:
    einprogress = -115
    never = Conversation(100, 7)
    never.connect(1_000, 1_100, ("10.0.0.1", 40007), ("10.0.0.5", 8080), res=einprogress)
    never.close(5_000)
    worked = Conversation(101, 8)
    worked.connect(1_000, 1_100, ("10.0.0.1", 40008), ("10.0.0.5", 8080), res=einprogress)
    worked.io("sendto", 3_000, 3_100, b"GET / HTTP/1.1\r\n\r\n")
    worked.close(6_000)
    engine = run(never.events + worked.events, {100: ("curl", "host"), 101: ("curl", "host")})
    peer = engine.peers[("host", "curl", "client", "10.0.0.5", 8080)]
    assert (peer.connect_attempts, peer.connect_ok) == (2, 1)
    assert dict(peer.connect_failed) == {"closed_before_connected": 1}
    assert peer.closes == 2
