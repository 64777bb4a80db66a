"""Live ground truth: real clients against real nginx and MariaDB while the eBPF probe feeds
the state layer and the metrics engine, as `lanner run` does. The clients' own counts are the
truth: lanner's must equal them, error replies must count as errors, queries come normalised,
and latency percentiles agree with the client's within the tolerance below.

Both ends are compared: the clients' (curl, wrk, the mariadb client, a Python client) and the
servers' own (nginx reads requests with recv and answers with writev, MariaDB with read/write).
Syscall latency (a probe with the sys_enter hook) and per-file I/O (reads and writes on regular
files, off by default) are checked against workloads whose durations and sizes are known.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.capture.ebpf.source import ProbeSource
from lanner.metrics.histogram import merged
from lanner.metrics.spread import backend_spread
from tests.capture.bpf_support import require_bpf
from tests.metrics.live import LiveMetrics, open_probe
from tests.metrics.servers import require

pytestmark = [pytest.mark.bpf, pytest.mark.slow]

# Lanner times a client exchange from the request's write to the reply's first read; the
# client from its send to its full read (and its own bookkeeping). On loopback on a shared
# 2-core machine (the client's scheduling delays land in its figure only): within 2 ms plus
# 50 % of the client's value.
LATENCY_SLACK_S = 0.002
LATENCY_SLACK_RATIO = 0.50
RING = 128 << 20  # room for a burst of wrk without drops while Python catches up


@pytest.fixture(scope="module")
def probe() -> Iterator[ProbeSource]:
    source = open_probe(ring_bytes=RING)
    yield source
    source.close()


def _close_enough(ours_ns: float | None, theirs_s: float) -> bool:
    assert ours_ns is not None
    return abs(ours_ns / 1e9 - theirs_s) <= LATENCY_SLACK_S + LATENCY_SLACK_RATIO * theirs_s


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_curl_against_nginx_counts_statuses_errors_and_latency(
    probe: ProbeSource, nginx_port: int
) -> None:
    curl = require("curl")
    plan = ["/ok"] * 40 + [f"/items/{i}" for i in range(30)] + ["/missing"] * 12 + ["/boom"] * 8
    urls = [f"http://127.0.0.1:{nginx_port}{path}" for path in plan]
    with LiveMetrics(probe) as live:
        output = subprocess.run(
            [curl, "-s", "-w", "CODE:%{http_code} T:%{time_total}\\n", *urls],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    replies = re.findall(r"CODE:(\d{3}) T:([0-9.]+)", output)
    assert len(replies) == len(plan)
    client_statuses = Counter(int(code) for code, _t in replies)
    series = {k[4]: s for k, s in live.engine.http.items() if k[1] == "curl" and k[2] == "client"}
    assert {path: s.requests for path, s in series.items()} == {
        "/ok": 40,
        "/items/{num}": 30,
        "/missing": 12,
        "/boom": 8,
    }
    ours: Counter[int] = Counter()
    for stats in series.values():
        ours.update(stats.statuses)
    assert ours == client_statuses == Counter({200: 70, 404: 12, 500: 8})
    assert sum(s.errors for s in series.values()) == 20
    # nginx's own view of the same requests, from its recv and writev calls
    server = {k[4]: s for k, s in live.engine.http.items() if k[1] == "nginx" and k[2] == "server"}
    assert {path: s.requests for path, s in server.items()} == {
        path: s.requests for path, s in series.items()
    }
    served: Counter[int] = Counter()
    for stats in server.values():
        served.update(stats.statuses)
    assert served == client_statuses
    assert sum(s.errors for s in server.values()) == 20
    hist = merged(s.latency for s in series.values())
    times = [float(t) for _code, t in replies]
    for q in (0.5, 0.9):
        assert _close_enough(hist.quantile(q), _quantile(times, q)), (q, hist.quantile(q))


def _wrk_summary(output: str) -> tuple[int, dict[str, float]]:
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    percentiles = {
        pct: float(value) * units[unit]
        for pct, value, unit in re.findall(r"^\s+(50|90)%\s+([0-9.]+)(us|ms|s)\s*$", output, re.M)
    }
    return total, percentiles


def test_wrk_load_on_nginx_is_counted_exactly(probe: ProbeSource, nginx_port: int) -> None:
    wrk = require("wrk")
    with LiveMetrics(probe) as live:
        output = subprocess.run(
            [wrk, "-t1", "-c2", "-d1s", "--latency", f"http://127.0.0.1:{nginx_port}/ok"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    total, percentiles = _wrk_summary(output)
    assert total > 1000, output
    stats = live.engine.http[("host", "wrk", "client", "GET", "/ok")]
    assert stats.requests == total
    assert dict(stats.statuses) == {200: total} and stats.errors == 0
    # nginx also answers the requests in flight when wrk stops (one per connection), which
    # wrk never reads nor counts
    served = live.engine.http[("host", "nginx", "server", "GET", "/ok")]
    assert total <= served.requests <= total + 2
    assert dict(served.statuses) == {200: served.requests} and served.errors == 0
    assert _close_enough(stats.latency.quantile(0.5), percentiles["50"]), (
        stats.latency.quantile(0.5),
        output,
    )


def test_mariadb_client_queries_errors_rows_and_normalisation(
    probe: ProbeSource, mariadb_port: int
) -> None:
    client = require("mariadb")
    statements = ["CREATE DATABASE IF NOT EXISTS live;", "USE live;"]
    statements.append("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, name VARCHAR(20));")
    statements.append("DELETE FROM t;")
    statements += [f"INSERT INTO t VALUES ({i}, 'name {i}');" for i in range(25)]
    statements += [f"SELECT name FROM t WHERE id = {i};" for i in range(15)]
    statements += [f"SELEC broken {i};" for i in range(4)]
    statements += ["SELECT id, name FROM t WHERE id < 9;", "SELECT * FROM missing_table;"]
    command = [client, "--protocol=TCP", "-h", "127.0.0.1", "-P", str(mariadb_port)]
    command += ["-u", "root", "--skip-ssl", "--force", "--batch"]
    with LiveMetrics(probe) as live:
        result = subprocess.run(
            command,
            input="\n".join(statements),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,  # the bad statements make the client exit non-zero
        )
    client_errors = result.stderr.count("ERROR ")
    assert client_errors == 5, result.stderr
    for proc, role in (("mariadb", "client"), ("mariadbd", "server")):
        series = {(k[3], k[4]): s for k, s in live.engine.mysql.items() if k[1:3] == (proc, role)}
        inserts = series[("query", "INSERT INTO t VALUES (?+)")]
        assert (inserts.queries, inserts.rows, inserts.error_count) == (25, 25, 0), proc
        point = series[("query", "SELECT name FROM t WHERE id = ?")]
        assert (point.queries, point.rows, point.latency.count) == (15, 15, 15), proc
        bad = series[("query", "SELEC broken ?")]
        assert (bad.queries, dict(bad.errors)) == (4, {"1064": 4}), proc
        assert series[("query", "SELECT id, name FROM t WHERE id < ?")].rows == 9, proc
        assert dict(series[("query", "SELECT * FROM missing_table")].errors) == {"1146": 1}
        assert sum(s.error_count for s in series.values()) == client_errors, proc


# ---- failing backends versus a skewed spread --------------------------------------------


def _serve(listener: socket.socket, reset: bool, stop: threading.Event) -> None:
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _addr = listener.accept()
        except TimeoutError:
            continue
        except OSError:  # the listener closed at teardown
            return
        with conn:
            if reset:  # SO_LINGER 0: close sends a RST instead of a FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                continue
            conn.recv(64)
            conn.sendall(b"pong")


@pytest.fixture
def backends() -> Iterator[int]:
    """One service port on three loopback addresses: .2 answers, .3 refuses (nothing
    listens there), .4 resets every connection; and a second port answered on .5, .6, .7."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    listeners = []
    threads: list[threading.Thread] = []
    plan = [("127.0.0.2", port, False), ("127.0.0.4", port, True)]
    plan += [(f"127.0.0.{n}", port + 1, False) for n in (5, 6, 7)]
    for host, p, reset in plan:
        listener = socket.socket()
        listener.bind((host, p))
        listener.listen(64)
        listeners.append(listener)
        threads.append(threading.Thread(target=_serve, args=(listener, reset, stop), daemon=True))
        threads[-1].start()
    yield port
    stop.set()
    for thread in threads:
        thread.join(5)
    for listener in listeners:
        listener.close()


CLIENT = """
import socket, sys
port, rounds = int(sys.argv[1]), int(sys.argv[2])
targets = [("127.0.0.2", port), ("127.0.0.3", port), ("127.0.0.4", port)]
targets += [("127.0.0.5", port + 1)] * 10 + [("127.0.0.6", port + 1), ("127.0.0.7", port + 1)]
outcomes = {}
for _ in range(rounds):
    for target in targets:
        try:
            with socket.create_connection(target) as sock:  # blocking: connect reports
                sock.sendall(b"ping")
                data = sock.recv(64)
                outcome = "ok" if data == b"pong" else "closed"
        except ConnectionRefusedError:
            outcome = "refused"
        except (ConnectionResetError, BrokenPipeError):
            outcome = "reset"
        key = f"{target[0]} {outcome}"
        outcomes[key] = outcomes.get(key, 0) + 1
print(outcomes)
"""


def _run_client(
    probe: ProbeSource, script: str, port: int, rounds: int
) -> tuple[LiveMetrics, dict[str, int]]:
    """Run a client script under the probe; its own printed dict of outcome counts."""
    with LiveMetrics(probe) as live:
        output = subprocess.run(
            [sys.executable, "-c", script, str(port), str(rounds)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return live, eval(output)


def test_refusing_and_resetting_backends_are_failures_not_skew(
    probe: ProbeSource, backends: int
) -> None:
    port, rounds = backends, 6
    live, outcomes = _run_client(probe, CLIENT, port, rounds)
    assert outcomes == {
        "127.0.0.2 ok": rounds,
        "127.0.0.3 refused": rounds,
        "127.0.0.4 reset": rounds,
        "127.0.0.5 ok": 10 * rounds,
        "127.0.0.6 ok": rounds,
        "127.0.0.7 ok": rounds,
    }
    peers = {
        (ip, p): peer
        for (_c, proc, role, ip, p), peer in live.engine.peers.items()
        if role == "client" and proc.startswith("python")
    }
    refused = peers[("127.0.0.3", port)]
    assert (refused.connect_attempts, dict(refused.connect_failed)) == (
        rounds,
        {"ECONNREFUSED": rounds},
    )
    reset = peers[("127.0.0.4", port)]
    assert (reset.connect_ok, reset.resets) == (rounds, rounds)
    healthy = peers[("127.0.0.2", port)]
    assert (healthy.connect_ok, healthy.resets, dict(healthy.connect_failed)) == (rounds, 0, {})
    spreads = {s.port: s for s in backend_spread(live.engine) if s.proc.startswith("python")}
    assert spreads[port].verdict == "failing"
    assert {b.ip for b in spreads[port].failing} == {"127.0.0.3", "127.0.0.4"}
    assert spreads[port + 1].verdict == "skewed"
    assert not spreads[port + 1].failing


NONBLOCKING_CLIENT = """
import select, socket, sys
port, rounds = int(sys.argv[1]), int(sys.argv[2])
outcomes = {}
for _ in range(rounds):
    for host in ("127.0.0.2", "127.0.0.3"):
        sock = socket.socket()
        sock.setblocking(False)
        code = sock.connect_ex((host, port))  # EINPROGRESS, or at once on loopback
        if code == 115:
            select.select([], [sock], [], 5)
            code = sock.connect_ex((host, port))  # asks how it ended, as haproxy does
        if code == 0:
            sock.setblocking(True)
            sock.sendall(b"ping")
            sock.recv(64)
        key = f"{host} {code}"
        outcomes[key] = outcomes.get(key, 0) + 1
        sock.close()
print(outcomes)
"""


def test_nonblocking_connects_completed_by_a_second_connect(
    probe: ProbeSource, backends: int
) -> None:
    """A second connect on an in-progress socket reports the outcome of the first: one attempt,
    counted ok or failed, never two."""
    port, rounds = backends, 5
    live, outcomes = _run_client(probe, NONBLOCKING_CLIENT, port, rounds)
    assert outcomes == {"127.0.0.2 0": rounds, "127.0.0.3 111": rounds}
    peers = {
        ip: peer
        for (_c, proc, role, ip, p), peer in live.engine.peers.items()
        if role == "client" and proc.startswith("python") and p == port
    }
    healthy, refused = peers["127.0.0.2"], peers["127.0.0.3"]
    assert (healthy.connect_attempts, healthy.connect_ok, dict(healthy.connect_failed)) == (
        rounds,
        rounds,
        {},
    )
    assert (refused.connect_attempts, refused.connect_ok, dict(refused.connect_failed)) == (
        rounds,
        0,
        {"ECONNREFUSED": rounds},
    )


# ---- syscall latency and file I/O ----------------------------------------------------------

SLOW_READS = r"""
import os, socket, threading
a, b = socket.socketpair()
for _ in range(3):  # three reads that wait 0.2 s for their data
    threading.Timer(0.2, lambda: a.send(b"late")).start()
    os.read(b.fileno(), 64)
for _ in range(40):  # forty that find it there
    a.send(b"now")
    os.read(b.fileno(), 64)
"""


def test_syscall_latency_live_matches_known_waits() -> None:
    probe = open_probe(latency=True)
    try:
        with LiveMetrics(probe) as live:
            subprocess.run([sys.executable, "-c", SLOW_READS], check=True)
    finally:
        probe.close()
    reads = [
        s
        for (_c, proc, name), s in live.engine.syscalls.items()
        if proc.startswith("python") and name == "read"
    ]
    hist = merged(s.latency for s in reads)
    assert sum(s.count for s in reads) == hist.count == 43  # every exit had its enter
    slow = hist.quantile(0.99)
    fast = hist.quantile(0.5)
    assert slow is not None and fast is not None
    assert 0.15e9 <= slow <= 1e9
    assert fast < 0.01e9


def test_top_files_live_counts_dd_bytes(tmp_path: Path) -> None:
    require_bpf()
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)) * 1200)  # 307200 bytes
    target = tmp_path / "out.bin"
    command = [sys.executable, "-m", "lanner", "top", "files", "--once", "--json", "-n", "500"]
    proc = subprocess.Popen(
        [*command, "--duration", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # printed once the probe is attached
    assert "capture started" in first, first + proc.stderr.read()
    subprocess.run(["dd", f"if={source}", f"of={target}", "bs=65536", "status=none"], check=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    rows = {r["file"]: r for r in json.loads(out)["rows"]}
    written, read = rows[str(target)], rows[str(source)]
    assert (written["writes"], written["write_bytes"]) == (5, 307200)
    assert read["read_bytes"] == 307200 and read["reads"] >= 5
    assert written["p99_ms"] is not None


UDP_EXCHANGE = """
import socket, sys
rounds = int(sys.argv[2])
servers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for server in servers:
    server.bind(("127.0.0.1", 0))
ports = [server.getsockname()[1] for server in servers]
clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]  # unbound
for _ in range(rounds):
    for client in clients:
        for server, port in zip(servers, ports):  # each client asks both, like a resolver list
            client.sendto(b"q" * 10, ("127.0.0.1", port))
            data, sender = server.recvfrom(64)      # who sent it: from src_addr
            server.sendto(b"a" * 20, sender)
            client.recv(64)                          # no address asked: the tuple has no peer
print({"ports": ports})
"""


def test_udp_servers_and_unbound_clients_are_counted_per_peer(probe: ProbeSource) -> None:
    """Two datagram servers and three unbound clients that ask both, in one process: each
    datagram counts for its own peer -- on the client side the server it went to (role
    client), on the server side its service port (role server) -- and the replies the clients
    read without asking who sent them do not erase the peer they know."""
    rounds = 5
    live, printed = _run_client(probe, UDP_EXCHANGE, 0, rounds)
    ports = printed["ports"]
    peers = {
        (role, ip, p): peer
        for (_c, proc, role, ip, p), peer in live.engine.peers.items()
        if proc.startswith("python")
    }
    assert {p for (_role, _ip, p) in peers} == set(ports), peers.keys()
    for port in ports:
        client_side = peers[("client", "127.0.0.1", port)]
        assert (client_side.bytes_out, client_side.bytes_in) == (3 * rounds * 10, 3 * rounds * 20)
        server_side = [
            peer for (role, _ip, p), peer in peers.items() if p == port and role != "client"
        ]
        assert sum(peer.bytes_in for peer in server_side) == 3 * rounds * 10
        assert sum(peer.bytes_out for peer in server_side) == 3 * rounds * 20


UDP_SERVER = """
import socket, sys
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
for _ in range(int(sys.argv[1])):
    data, sender = server.recvfrom(64)
    server.sendto(b"a" * 20, sender)
"""
UDP_CLIENT = """
import socket, sys
port, rounds = int(sys.argv[1]), int(sys.argv[2])
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(rounds):
    client.sendto(b"q" * 10, ("127.0.0.1", port))
    client.recv(64)
print({})
"""


def test_udp_server_bound_before_the_agent_started_is_the_server(probe: ProbeSource) -> None:
    """A datagram server already running when the agent starts is known from /proc as a
    socket bound to its port: when it receives, it is that port's server (its traffic is the
    service port's, role server), not a client of whoever sent."""
    rounds = 6
    server = subprocess.Popen(
        [sys.executable, "-c", UDP_SERVER, str(rounds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        live, _ = _run_client(probe, UDP_CLIENT, port, rounds)
        assert server.wait(10) == 0
    finally:
        if server.poll() is None:
            server.kill()
    peers = {
        (role, p): peer
        for (_c, proc, role, _ip, p), peer in live.engine.peers.items()
        if proc.startswith("python")
    }
    assert (peers[("server", port)].bytes_in, peers[("server", port)].bytes_out) == (
        rounds * 10,
        rounds * 20,
    )
    assert (peers[("client", port)].bytes_out, peers[("client", port)].bytes_in) == (
        rounds * 10,
        rounds * 20,
    )
    assert {p for (_role, p) in peers} == {port}, peers.keys()
