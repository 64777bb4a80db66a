"""Table views of the metrics engine (what `lanner top` shows): rows as plain dicts, sorted
busiest first, latencies in milliseconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.histogram import LatencyHistogram, merged

Row = dict[str, Any]


def _ms(hist: LatencyHistogram, q: float) -> float | None:
    value = hist.quantile(q)
    return None if value is None else round(value / 1e6, 3)


def procs(engine: MetricsEngine) -> list[Row]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for (container, proc, _name), stats in engine.syscalls.items():
        groups.setdefault((container, proc), []).append(stats)
    rows = []
    for (container, proc), members in groups.items():
        hist = merged(s.latency for s in members)
        rows.append(
            {
                "container": container,
                "proc": proc,
                "syscalls": sum(s.count for s in members),
                "errors": sum(sum(s.errors.values()) for s in members),
                "p50_ms": _ms(hist, 0.5),
                "p99_ms": _ms(hist, 0.99),
            }
        )
    return sorted(rows, key=lambda r: (-r["syscalls"], r["container"], r["proc"]))


def files(engine: MetricsEngine) -> list[Row]:
    rows = [
        {
            "container": container,
            "file": path,
            "reads": s.reads,
            "writes": s.writes,
            "read_bytes": s.read_bytes,
            "write_bytes": s.write_bytes,
            "errors": s.errors,
            "p99_ms": _ms(s.latency, 0.99),
        }
        for (container, path), s in engine.files.items()
    ]
    return sorted(rows, key=lambda r: (-(r["read_bytes"] + r["write_bytes"]), r["file"]))


def conns(engine: MetricsEngine) -> list[Row]:
    rows = [
        {
            "container": container,
            "proc": proc,
            "role": role,
            "peer": f"{ip}:{port}",
            "connects": p.connect_attempts,
            "connect_ok": p.connect_ok,
            "connect_failed": dict(p.connect_failed),
            "accepted": p.accepted,
            "resets": p.resets,
            "closes": p.closes,
            "bytes_in": p.bytes_in,
            "bytes_out": p.bytes_out,
            "connect_p99_ms": _ms(p.connect_latency, 0.99),
        }
        for (container, proc, role, ip, port), p in engine.peers.items()
    ]
    return sorted(rows, key=lambda r: (-(r["connects"] + r["accepted"]), r["peer"]))


def http(engine: MetricsEngine) -> list[Row]:
    rows = [
        {
            "container": container,
            "proc": proc,
            "role": role,
            "method": method,
            "path": path,
            "requests": s.requests,
            "errors": s.errors,
            "statuses": {str(k): v for k, v in sorted(s.statuses.items())},
            "p50_ms": _ms(s.latency, 0.5),
            "p90_ms": _ms(s.latency, 0.9),
            "p99_ms": _ms(s.latency, 0.99),
            "request_bytes": s.request_bytes,
            "response_bytes": s.response_bytes,
        }
        for (container, proc, role, method, path), s in engine.http.items()
    ]
    return sorted(rows, key=lambda r: (-r["requests"], r["path"], r["role"]))


def queries(engine: MetricsEngine) -> list[Row]:
    rows = [
        {
            "container": container,
            "proc": proc,
            "role": role,
            "command": command,
            "query": query,
            "count": s.queries,
            "errors": dict(s.errors),
            "rows": s.rows,
            "p50_ms": _ms(s.latency, 0.5),
            "p99_ms": _ms(s.latency, 0.99),
        }
        for (container, proc, role, command, query), s in engine.mysql.items()
    ]
    return sorted(rows, key=lambda r: (-r["count"], r["query"]))


VIEWS: dict[str, Callable[[MetricsEngine], list[Row]]] = {
    "procs": procs,
    "files": files,
    "conns": conns,
    "http": http,
    "queries": queries,
}
