"""Engine self-metrics for Prometheus, under Falco's names where Falco has one.

Nothing is counted twice: the collector reads the counters the engine, the capture and the
alert dispatcher already keep, when Prometheus scrapes, so the hot path pays nothing for
metrics. docs/metrics.md lists every series.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lanner.alerts.delivery import AlertDispatcher

_LABEL_BAD = re.compile(r"[^a-zA-Z0-9_]")


def tag_label(tag: str) -> str:
    """Falco's ``tag_<tag>`` label name, with characters Prometheus refuses made ``_``."""
    return "tag_" + _LABEL_BAD.sub("_", tag)


@dataclass
class MetricSources:
    """Where the numbers come from; any may be missing (e.g. no capture in a replay)."""

    capture_counters: Callable[[], tuple[int, int]] | None = None
    """Cumulative (events, drops) of the capture."""
    dispatcher: AlertDispatcher | None = None
    engine_stats: Callable[[], Any] | None = None
    """Returns the engine's EngineStats (events, delivered)."""
    containers: Callable[[], ContainerCounts] | None = None
    """Container table size and runtime metadata lookups (`lanner run`)."""


@dataclass
class ContainerCounts:
    known: int
    """Containers in the table (the host excluded)."""
    lookups: dict[str, dict[str, int]]
    """Per metadata source (cri, docker): result -> count. Results: described, missed (given
    up after the retries), retried, error (the runtime call failed)."""


class LannerCollector(Collector):
    """A Prometheus collector over lanner's own counters."""

    def __init__(self, sources: MetricSources) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        src = self.sources
        if src.capture_counters is not None:
            events, drops = src.capture_counters()
            yield _counter("falcosecurity_scap_n_evts", "Events read from the capture.", events)
            yield _counter("falcosecurity_scap_n_drops", "Events the capture dropped.", drops)
        if src.engine_stats is not None:
            stats = src.engine_stats()
            yield _counter(
                "lanner_engine_events", "Events processed by the detection engine.", stats.events
            )
            yield _counter(
                "lanner_engine_events_delivered",
                "Events the rules were run on (after the event-model filter).",
                stats.delivered,
            )
        if src.containers is not None:
            yield from _container_metrics(src.containers())
        if src.dispatcher is not None:
            yield from _dispatcher_metrics(src.dispatcher)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _container_metrics(counts: ContainerCounts) -> Iterable[Metric]:
    yield GaugeMetricFamily(
        "lanner_containers", "Containers in the container table.", value=counts.known
    )
    lookups = CounterMetricFamily(
        "lanner_container_metadata_lookups",
        "Container runtime metadata lookups, by source (cri, docker) and result.",
        labels=["source", "result"],
    )
    for name, results in sorted(counts.lookups.items()):
        for result, count in sorted(results.items()):
            lookups.add_metric([name, result], count)
    yield lookups


def _dispatcher_metrics(dispatcher: AlertDispatcher) -> Iterable[Metric]:
    matches = Metric(
        "falcosecurity_falco_rules_matches",
        "Alerts raised, by rule, priority, source and tag (Falco's labels).",
        "counter",
    )
    for (rule, priority, source, tags), count in sorted(dispatcher.stats.matches.items()):
        labels = {"rule_name": rule, "priority": priority, "source": source}
        for tag in tags:
            labels[tag_label(tag)] = "true"
        matches.add_sample("falcosecurity_falco_rules_matches_total", labels, count)
    yield matches

    delivered = CounterMetricFamily(
        "lanner_alerts_deliveries", "Alerts delivered, by sink.", labels=["sink"]
    )
    failures = CounterMetricFamily(
        "lanner_alerts_delivery_failures", "Failed delivery attempts, by sink.", labels=["sink"]
    )
    rejected = CounterMetricFamily(
        "lanner_alerts_rejected",
        "Alerts a receiver refused for good (HTTP 4xx other than 408/429), by sink.",
        labels=["sink"],
    )
    filtered = CounterMetricFamily(
        "lanner_alerts_filtered", "Alerts below a sink's minimum priority.", labels=["sink"]
    )
    depth = GaugeMetricFamily(
        "lanner_alerts_spool_depth",
        "Alerts spooled and not yet delivered, by sink.",
        labels=["sink"],
    )
    overflow = CounterMetricFamily(
        "lanner_alerts_spool_overflow",
        "Alerts a sink lost to the spool's bound (oldest dropped first).",
        labels=["sink"],
    )
    up = GaugeMetricFamily(
        "lanner_alerts_sink_up", "1 when the sink's last delivery worked, else 0.", labels=["sink"]
    )
    total_overflow = 0
    for sink in dispatcher.inline:
        delivered.add_metric([sink.name], dispatcher.stats.inline_delivered[sink.name])
        failures.add_metric([sink.name], dispatcher.stats.inline_failures[sink.name])
        up.add_metric([sink.name], 0 if dispatcher.stats.inline_failures[sink.name] else 1)
    for worker in dispatcher.workers:
        name = worker.sink.name
        stats = worker.stats
        delivered.add_metric([name], stats.delivered)
        failures.add_metric([name], stats.failures)
        filtered.add_metric([name], stats.filtered)
        rejected_counter = getattr(worker.sink, "rejected", None)
        if rejected_counter is not None:
            rejected.add_metric([name], rejected_counter[0])
        depth.add_metric([name], dispatcher.depth(name))
        lost = dispatcher.overflow(name)
        total_overflow += lost
        overflow.add_metric([name], lost)
        up.add_metric([name], 0 if stats.failing else 1)
    yield from (delivered, failures, rejected, filtered, depth, overflow, up)
    yield _counter(
        "falcosecurity_falco_outputs_queue_num_drops",
        "Alerts lost to the spool's bound, all sinks together.",
        total_overflow,
    )
    limiter = dispatcher.limiter
    suppressed: Counter[str] = Counter()
    folded: Counter[str] = Counter()
    if limiter is not None:
        if limiter.rate is not None:
            suppressed = limiter.rate.suppressed
        if limiter.folder is not None:
            folded = limiter.folder.folded
    limited = CounterMetricFamily(
        "lanner_alerts_rate_limited",
        "Alerts dropped by per-rule rate limiting.",
        labels=["rule_name"],
    )
    for rule, count in sorted(suppressed.items()):
        limited.add_metric([rule], count)
    folds = CounterMetricFamily(
        "lanner_alerts_folded", "Repeats absorbed into fold summaries.", labels=["rule_name"]
    )
    for rule, count in sorted(folded.items()):
        folds.add_metric([rule], count)
    yield limited
    yield folds


def build_registry(sources: MetricSources) -> CollectorRegistry:
    """A registry holding only lanner's collector (no process/platform defaults)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LannerCollector(sources))
    return registry


def serve_metrics(registry: CollectorRegistry, port: int, address: str = "127.0.0.1") -> Any:
    """Serve ``/metrics`` on a background thread; returns the server (``shutdown()`` stops it)."""
    server, _thread = start_http_server(port, addr=address, registry=registry)
    return server
