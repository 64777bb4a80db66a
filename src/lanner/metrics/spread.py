"""How a client workload's connections spread over the backends of one service.

A service is a destination port seen from one client (container, process); its backends are
the remote addresses connected to on that port. Two different problems look alike in a
request graph and apart here: a *failing* backend (connects refused or timing out, resets) and
a *skewed* spread over healthy backends (one gets most of the connections, none fails).
"""

from __future__ import annotations

from dataclasses import dataclass

from lanner.metrics.aggregates import MetricsEngine

FAILURE_RATIO = 0.2  # a backend failing this share of its attempts is "failing"
SKEW_RATIO = 2.0  # busiest healthy backend above this multiple of the fair share is "skewed"


@dataclass(frozen=True, slots=True)
class Backend:
    ip: str
    attempts: int
    ok: int
    failed: int
    resets: int

    @property
    def failure_ratio(self) -> float:
        return (self.failed + self.resets) / self.attempts if self.attempts else 0.0


@dataclass(frozen=True, slots=True)
class ServiceSpread:
    container: str
    proc: str
    port: int
    backends: tuple[Backend, ...]
    verdict: str  # "failing", "skewed" or "balanced"
    skew: float  # busiest backend's share of successful connects / fair share (1.0 = even)

    @property
    def failing(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.failure_ratio >= FAILURE_RATIO)


def backend_spread(engine: MetricsEngine, min_backends: int = 2) -> list[ServiceSpread]:
    """One entry per (client, port) with at least `min_backends` distinct backends."""
    groups: dict[tuple[str, str, int], list[Backend]] = {}
    for (container, proc, role, ip, port), peer in engine.peers.items():
        if role != "client" or not peer.connect_attempts:
            continue
        backend = Backend(
            ip,
            peer.connect_attempts,
            peer.connect_ok,
            sum(peer.connect_failed.values()),
            peer.resets,
        )
        groups.setdefault((container, proc, port), []).append(backend)
    out: list[ServiceSpread] = []
    for (container, proc, port), backends in sorted(groups.items()):
        if len(backends) < min_backends:
            continue
        backends.sort(key=lambda b: b.ip)
        total_ok = sum(b.ok for b in backends)
        skew = max(b.ok for b in backends) * len(backends) / total_ok if total_ok else 0.0
        if any(b.failure_ratio >= FAILURE_RATIO for b in backends):
            verdict = "failing"
        elif skew >= SKEW_RATIO:
            verdict = "skewed"
        else:
            verdict = "balanced"
        out.append(ServiceSpread(container, proc, port, tuple(backends), verdict, skew))
    return out
