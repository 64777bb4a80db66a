"""Ground truth from real servers: nginx answering a real HTTP client, MariaDB answering the
real `mariadb` client. Until the live probe feeds these tests, a recording loopback proxy
sees the exchange and its bytes become the server's read/write events; lanner's counts must
equal the client's, errors must be counted, queries normalised, and latency percentiles must
agree with the client's within the stated tolerance."""

from __future__ import annotations

import http.client
import random
import re
import subprocess
import time
from collections import Counter

from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.histogram import merged
from lanner.state.state import State
from lanner.state.threads import ThreadInfo
from tests.metrics.proxy import RecordingProxy
from tests.metrics.servers import require

# Lanner measures request-start to response-start on the server side; the client measures
# send to full read across the proxy. Loopback on a shared 2-core machine, where the client's
# own scheduling delays land in its figure only: within 2 ms plus 50% of the client's value.
LATENCY_SLACK_NS = 2_000_000
LATENCY_SLACK_RATIO = 0.50


def replay(proxy: RecordingProxy, comm: str) -> MetricsEngine:
    events = proxy.server_events()
    state = State()
    for tid in {e.tid for e in events}:
        thread = ThreadInfo(tid, tid)
        thread.comm = comm
        state.threads.add(thread)
    for event in events:
        state.process(event)
    engine = MetricsEngine()
    engine.process_batch(events)
    return engine


def quantile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def test_nginx_requests_statuses_and_latency_match_the_client(nginx_port: int) -> None:
    plan = ["/ok"] * 120 + [f"/items/{i}" for i in range(60)] + ["/missing"] * 25
    plan += ["/boom"] * 15
    random.Random(7).shuffle(plan)
    proxy = RecordingProxy(nginx_port)
    latencies: list[int] = []
    statuses: Counter[int] = Counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        for path in plan:  # one keep-alive connection
            start = time.perf_counter_ns()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter_ns() - start)
            statuses[response.status] += 1
        conn.close()
        curl = require("curl")
        urls = [f"http://127.0.0.1:{proxy.port}/items/{i}" for i in range(10)]
        output = subprocess.run(
            [curl, "-s", "-w", "CODE:%{http_code}\\n", *urls],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        codes = re.findall(r"CODE:(\d{3})", output)
        statuses.update(int(c) for c in codes)
    finally:
        time.sleep(0.2)
        proxy.close()
    # nginx closes the connection after some error replies; the client reconnects.
    assert len(proxy.connections) >= 2
    engine = replay(proxy, "nginx")
    by_path = {key[4]: stats for key, stats in engine.http.items() if key[2] == "server"}
    assert {path: s.requests for path, s in by_path.items()} == {
        "/ok": 120,
        "/items/{num}": 70,
        "/missing": 25,
        "/boom": 15,
    }
    lanner_statuses: Counter[int] = Counter()
    for stats in by_path.values():
        lanner_statuses.update(stats.statuses)
    assert lanner_statuses == statuses == Counter({200: 190, 404: 25, 500: 15})
    assert sum(s.errors for s in by_path.values()) == 40
    python_paths = {"/ok", "/missing", "/boom"}
    hist = merged(s.latency for p, s in by_path.items() if p in python_paths)
    client = [lat for path, lat in zip(plan, latencies, strict=True) if path in python_paths]
    for q in (0.5, 0.9):
        ours, theirs = hist.quantile(q), quantile(client, q)
        assert ours is not None
        assert abs(ours - theirs) <= LATENCY_SLACK_NS + LATENCY_SLACK_RATIO * theirs, (
            q,
            ours,
            theirs,
        )


def test_mariadb_queries_errors_rows_and_normalisation(mariadb_port: int) -> None:
    client = require("mariadb")
    statements = ["CREATE DATABASE IF NOT EXISTS lt;", "USE lt;"]
    statements.append("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20));")
    statements += [f"INSERT INTO t VALUES ({i}, 'name {i}');" for i in range(30)]
    statements += [f"SELECT name FROM t WHERE id = {i};" for i in range(20)]
    statements += [f"SELEC broken {i};" for i in range(5)]
    statements += ["SELECT id, name FROM t WHERE id < 12;", "SELECT * FROM missing_table;"]
    proxy = RecordingProxy(mariadb_port)
    try:
        result = subprocess.run(
            [
                client,
                "--protocol=TCP",
                "-h",
                "127.0.0.1",
                "-P",
                str(proxy.port),
                "-u",
                "root",
                "--skip-ssl",
                "--force",
                "--batch",
            ],
            input="\n".join(statements),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,  # the bad statements make the client exit non-zero
        )
    finally:
        time.sleep(0.2)
        proxy.close()
    client_errors = result.stderr.count("ERROR ")
    assert client_errors == 6, result.stderr
    engine = replay(proxy, "mariadbd")
    series = {(k[3], k[4]): s for k, s in engine.mysql.items() if k[2] == "server"}
    inserts = series[("query", "INSERT INTO t VALUES (?+)")]
    assert (inserts.queries, inserts.rows, inserts.error_count) == (30, 30, 0)
    point = series[("query", "SELECT name FROM t WHERE id = ?")]
    assert (point.queries, point.rows, point.error_count) == (20, 20, 0)
    assert point.latency.count == 20
    bad = series[("query", "SELEC broken ?")]
    assert (bad.queries, dict(bad.errors)) == (5, {"1064": 5})
    assert series[("query", "SELECT id, name FROM t WHERE id < ?")].rows == 12
    assert dict(series[("query", "SELECT * FROM missing_table")].errors) == {"1146": 1}
    assert sum(s.error_count for s in series.values()) == client_errors
    assert series[("init_db", "")].queries == 1
