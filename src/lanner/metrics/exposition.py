"""Prometheus text exposition of the metrics engine's aggregates.

Names and labels are documented in docs/metrics.md ("Performance metrics"). Counters end in
`_total`; latencies are histograms in seconds with the bounds of `DEFAULT_BOUNDS_S`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.histogram import DEFAULT_BOUNDS_S, LatencyHistogram

PREFIX = "lanner_"


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Iterable[object]) -> str:
    pairs = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}" if pairs else ""


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._declared: set[str] = set()

    def declare(self, name: str, kind: str, help_text: str) -> None:
        if name not in self._declared:
            self._declared.add(name)
            self.lines.append(f"# HELP {PREFIX}{name} {help_text}")
            self.lines.append(f"# TYPE {PREFIX}{name} {kind}")

    def sample(self, name: str, names: Sequence[str], values: Sequence[object], v: float) -> None:
        self.lines.append(f"{PREFIX}{name}{_labels(names, values)} {_number(v)}")

    def histogram(
        self, name: str, names: Sequence[str], values: Sequence[object], hist: LatencyHistogram
    ) -> None:
        counts = hist.cumulative(DEFAULT_BOUNDS_S)
        names_le = [*names, "le"]
        for bound, count in zip(DEFAULT_BOUNDS_S, counts, strict=True):
            self.sample(f"{name}_bucket", names_le, [*values, _number(bound)], count)
        self.sample(f"{name}_bucket", names_le, [*values, "+Inf"], hist.count)
        self.sample(f"{name}_sum", names, values, hist.sum / 1e9)
        self.sample(f"{name}_count", names, values, hist.count)


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def render(engine: MetricsEngine) -> str:
    """The whole exposition, one metric family after another."""
    out = _Writer()
    _syscalls(out, engine)
    _files(out, engine)
    _network(out, engine)
    _http(out, engine)
    _mysql(out, engine)
    return "\n".join(out.lines) + "\n"


def _syscalls(out: _Writer, engine: MetricsEngine) -> None:
    labels = ("container", "proc", "syscall")
    out.declare("syscalls_total", "counter", "Syscalls completed (exit events).")
    for key, stats in engine.syscalls.items():
        out.sample("syscalls_total", labels, key, stats.count)
    out.declare("syscall_errors_total", "counter", "Syscalls that failed, by errno.")
    for key, stats in engine.syscalls.items():
        for errno, n in stats.errors.items():
            out.sample("syscall_errors_total", (*labels, "errno"), (*key, errno), n)
    out.declare("syscall_latency_seconds", "histogram", "Syscall latency (exit - enter).")
    for key, stats in engine.syscalls.items():
        if stats.latency.count:
            out.histogram("syscall_latency_seconds", labels, key, stats.latency)


def _files(out: _Writer, engine: MetricsEngine) -> None:
    labels = ("container", "dir")
    out.declare("file_io_bytes_total", "counter", "File bytes read/written, per directory.")
    out.declare("file_io_ops_total", "counter", "File read/write calls, per directory.")
    for key, stats in engine.dirs.items():
        for op, n_bytes, ops in (
            ("read", stats.read_bytes, stats.reads),
            ("write", stats.write_bytes, stats.writes),
        ):
            out.sample("file_io_bytes_total", (*labels, "op"), (*key, op), n_bytes)
            out.sample("file_io_ops_total", (*labels, "op"), (*key, op), ops)
    out.declare("file_io_latency_seconds", "histogram", "File read/write latency, per directory.")
    for key, stats in engine.dirs.items():
        if stats.latency.count:
            out.histogram("file_io_latency_seconds", labels, key, stats.latency)


def _network(out: _Writer, engine: MetricsEngine) -> None:
    labels = ("container", "proc", "role", "peer", "port")
    out.declare("tcp_connects_total", "counter", "TCP connect attempts by result (ok or errno).")
    for key, peer in engine.peers.items():
        if peer.connect_attempts:
            out.sample("tcp_connects_total", (*labels, "result"), (*key, "ok"), peer.connect_ok)
            for errno, n in peer.connect_failed.items():
                out.sample("tcp_connects_total", (*labels, "result"), (*key, errno), n)
    out.declare("tcp_connect_latency_seconds", "histogram", "TCP connect latency per peer.")
    for key, peer in engine.peers.items():
        if peer.connect_latency.count:
            out.histogram("tcp_connect_latency_seconds", labels, key, peer.connect_latency)
    out.declare("tcp_accepts_total", "counter", "Connections accepted per listening port.")
    for (container, proc, port), n in engine.listeners.items():
        out.sample("tcp_accepts_total", ("container", "proc", "port"), (container, proc, port), n)
    out.declare("tcp_resets_total", "counter", "I/O failing with ECONNRESET/EPIPE per peer.")
    out.declare("tcp_closes_total", "counter", "Connections closed per peer.")
    out.declare("net_bytes_total", "counter", "Socket bytes per peer and direction.")
    for key, peer in engine.peers.items():
        out.sample("tcp_resets_total", labels, key, peer.resets)
        out.sample("tcp_closes_total", labels, key, peer.closes)
        out.sample("net_bytes_total", (*labels, "direction"), (*key, "in"), peer.bytes_in)
        out.sample("net_bytes_total", (*labels, "direction"), (*key, "out"), peer.bytes_out)


def _http(out: _Writer, engine: MetricsEngine) -> None:
    labels = ("container", "proc", "role", "method", "path")
    out.declare("http_requests_total", "counter", "HTTP exchanges by status (0: unanswered).")
    for key, stats in engine.http.items():
        for status, n in stats.statuses.items():
            out.sample("http_requests_total", (*labels, "status"), (*key, status), n)
    out.declare("http_request_bytes_total", "counter", "HTTP request bytes (head and body).")
    out.declare("http_response_bytes_total", "counter", "HTTP response bytes (head and body).")
    for key, stats in engine.http.items():
        out.sample("http_request_bytes_total", labels, key, stats.request_bytes)
        out.sample("http_response_bytes_total", labels, key, stats.response_bytes)
    out.declare("http_request_duration_seconds", "histogram", "Request start to response start.")
    for key, stats in engine.http.items():
        if stats.latency.count:
            out.histogram("http_request_duration_seconds", labels, key, stats.latency)


def _mysql(out: _Writer, engine: MetricsEngine) -> None:
    labels = ("container", "proc", "role", "command", "query")
    out.declare("mysql_queries_total", "counter", "MySQL commands answered or not.")
    out.declare("mysql_errors_total", "counter", "MySQL ERR replies by code (or unanswered).")
    out.declare("mysql_rows_total", "counter", "Rows returned (result sets) or affected.")
    for key, stats in engine.mysql.items():
        out.sample("mysql_queries_total", labels, key, stats.queries)
        out.sample("mysql_rows_total", labels, key, stats.rows)
        for code, n in stats.errors.items():
            out.sample("mysql_errors_total", (*labels, "code"), (*key, code), n)
    out.declare("mysql_query_duration_seconds", "histogram", "Command sent to last reply packet.")
    for key, stats in engine.mysql.items():
        if stats.latency.count:
            out.histogram("mysql_query_duration_seconds", labels, key, stats.latency)
