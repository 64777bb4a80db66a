"""The aggregate records the metrics engine keeps, one per label set."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lanner.metrics.histogram import LatencyHistogram

HOST = "host"
"""The container label of processes outside any container."""


@dataclass(slots=True)
class SyscallStats:
    """Per (container, process, syscall): calls, failures by errno name, latency."""

    count: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)


@dataclass(slots=True)
class FileStats:
    """Per (container, file) or (container, directory): I/O volume, operations, latency."""

    read_bytes: int = 0
    write_bytes: int = 0
    reads: int = 0
    writes: int = 0
    errors: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)


@dataclass(slots=True)
class PeerStats:
    """Per (container, process, role, remote ip, service port).

    `role` is "client" when this process connected out, "server" when it accepted; the service
    port is the server's port either way, so a peer is "10.0.0.5:3306" seen from a client and
    "10.0.0.9:3306" (the client's address, our port) seen from the server."""

    connect_attempts: int = 0
    connect_ok: int = 0
    connect_failed: Counter[str] = field(default_factory=Counter)
    connect_latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    accepted: int = 0
    resets: int = 0
    closes: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    @property
    def failures(self) -> int:
        return sum(self.connect_failed.values()) + self.resets


@dataclass(slots=True)
class HttpStats:
    """Per (container, process, role, method, normalised path)."""

    requests: int = 0
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    request_bytes: int = 0
    response_bytes: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)


@dataclass(slots=True)
class MysqlStats:
    """Per (container, process, role, command, normalised query)."""

    queries: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # error code (or "unanswered")
    rows: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(slots=True)
class ConnectionSummary:
    """One connection's totals (kept for open connections and the most recently closed)."""

    container: str
    proc: str
    pid: int
    fd: int
    name: str
    role: str
    protocol: str
    bytes_in: int = 0
    bytes_out: int = 0
    opened_ts: int = 0
    closed_ts: int | None = None
