"""Engine self-metrics: Falco's names and labels, sink counters, served over HTTP."""

from __future__ import annotations

import io
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lanner.alerts.delivery import AlertDispatcher, RetryPolicy
from lanner.alerts.http_sinks import HttpSink
from lanner.alerts.limits import AlertLimiter, RateSpec, RuleRateLimiter
from lanner.alerts.local_sinks import StdoutSink
from lanner.alerts.sink import LineFormat
from lanner.server.metrics import MetricSources, build_registry, serve_metrics, tag_label
from lanner.store.spool import AlertSpool
from tests.alerts.receivers import HttpReceiver, free_port, make_alert


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def test_metrics_from_engine_capture_and_sinks(tmp_path: Path) -> None:
    receiver = HttpReceiver()  # never started: the http sink fails and spools
    spool = AlertSpool(tmp_path / "spool.db", ["http"])
    dispatcher = AlertDispatcher(
        [StdoutSink(LineFormat(), io.StringIO()), HttpSink(receiver.url)],
        spool=spool,
        retry=RetryPolicy(initial=0.01, maximum=0.02),
        limiter=AlertLimiter(rate=RuleRateLimiter(None, {"Noisy": RateSpec(0.001, 1)})),
    )
    for i in range(3):
        dispatcher(make_alert(i))
    for i in range(4):
        dispatcher(make_alert(10 + i, rule="Noisy", priority="Critical"))
    stats = SimpleNamespace(events=1234, delivered=1000)
    registry = build_registry(
        MetricSources(
            capture_counters=lambda: (1500, 7),
            dispatcher=dispatcher,
            engine_stats=lambda: stats,
        )
    )
    deadline = time.monotonic() + 5
    while dispatcher.workers[0].stats.failures == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    samples = _samples(generate_latest(registry).decode())
    dispatcher.close(timeout=0.1)

    def value(name: str, **labels: str) -> float:
        return samples[(name, frozenset(labels.items()))]

    assert value("falcosecurity_scap_n_evts_total") == 1500
    assert value("falcosecurity_scap_n_drops_total") == 7
    assert value("lanner_engine_events_total") == 1234
    tags = {tag_label("test"): "true", tag_label("mitre_credential_access"): "true"}
    assert (
        value(
            "falcosecurity_falco_rules_matches_total",
            rule_name="Test rule",
            priority="Warning",
            source="syscall",
            **tags,
        )
        == 3
    )
    # Matches count what the rules raised, before rate limiting.
    assert (
        value(
            "falcosecurity_falco_rules_matches_total",
            rule_name="Noisy",
            priority="Critical",
            source="syscall",
            **tags,
        )
        == 4
    )
    assert value("lanner_alerts_rate_limited_total", rule_name="Noisy") == 3
    assert value("lanner_alerts_deliveries_total", sink="stdout") == 4
    assert value("lanner_alerts_deliveries_total", sink="http") == 0
    assert value("lanner_alerts_delivery_failures_total", sink="http") >= 1
    assert value("lanner_alerts_spool_depth", sink="http") == 4
    assert value("lanner_alerts_sink_up", sink="http") == 0
    assert value("lanner_alerts_sink_up", sink="stdout") == 1
    assert value("falcosecurity_falco_outputs_queue_num_drops_total") == 0


def test_tag_labels_are_valid_prometheus_names() -> None:
    assert tag_label("container-drift") == "tag_container_drift"
    assert tag_label("T1059.004") == "tag_T1059_004"


def test_metrics_served_over_http() -> None:
    registry = build_registry(MetricSources(capture_counters=lambda: (42, 0)))
    port = free_port()
    server = serve_metrics(registry, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
    assert "falcosecurity_scap_n_evts_total 42.0" in body
