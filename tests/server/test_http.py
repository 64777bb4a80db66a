"""The agent's HTTP endpoint: /metrics carries the engine self-metrics and the performance
metrics in one Prometheus document, /healthz answers, settings errors name their key."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lanner.config import ConfigError
from lanner.engine import EngineStats
from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.exposition import render
from lanner.metrics.synthetic import Conversation
from lanner.server.http import MetricsServer, WebserverSettings
from lanner.server.metrics import MetricSources, build_registry
from lanner.state.state import State
from lanner.state.threads import ThreadInfo


def _http_engine(requests: int) -> MetricsEngine:
    conv = Conversation(10, 5)
    conv.accept(1_000, ("10.0.0.9", 50000), ("10.0.0.1", 80))
    ts = 2_000
    for i in range(requests):
        path = b"/missing" if i % 4 == 0 else b"/ok"
        conv.io("recvfrom", ts, ts + 10, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status = b"404 Not Found" if i % 4 == 0 else b"200 OK"
        conv.io(
            "writev",
            ts + 5_000,
            ts + 5_010,
            b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n",
        )
        ts += 10_000
    state = State()
    thread = ThreadInfo(10, 10)
    thread.comm = "nginx"
    state.threads.add(thread)
    for event in conv.events:
        state.process(event)
    engine = MetricsEngine()
    engine.process_batch(conv.events)
    return engine


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def test_metrics_serves_self_metrics_and_performance_metrics_together() -> None:
    engine = _http_engine(8)
    stats = EngineStats(events=1234, delivered=600)
    registry = build_registry(
        MetricSources(capture_counters=lambda: (5000, 7), engine_stats=lambda: stats)
    )
    server = MetricsServer("127.0.0.1", 0, registry=registry, performance=lambda: render(engine))
    try:
        status, text = _get(server.url + "/metrics")
        assert status == 200
        samples = _samples(text)  # the whole document parses as one exposition
        assert samples[("falcosecurity_scap_n_drops_total", frozenset())] == 7
        assert samples[("lanner_engine_events_total", frozenset())] == 1234
        base = {"container": "host", "proc": "nginx", "role": "server", "method": "GET"}
        ok = frozenset({**base, "path": "/ok", "status": "200"}.items())
        missing = frozenset({**base, "path": "/missing", "status": "404"}.items())
        assert samples[("lanner_http_requests_total", ok)] == 6
        assert samples[("lanner_http_requests_total", missing)] == 2
        assert server.scrapes == 1
        health_status, health = _get(server.url + "/healthz")
        assert (health_status, health.strip()) == (200, '{"status": "ok"}')
        assert _get(server.url + "/nope")[0] == 404
    finally:
        server.close()


def test_unhealthy_is_503_and_scrapes_wait_for_the_feeding_lock() -> None:
    healthy = [False]
    server = MetricsServer(
        "127.0.0.1", 0, performance=lambda: "lanner_x 1\n", healthy=lambda: healthy[0]
    )
    try:
        assert _get(server.url + "/healthz")[0] == 503
        healthy[0] = True
        assert _get(server.url + "/healthz")[0] == 200
        result: list[tuple[int, str]] = []
        with server.lock:  # a batch being fed: the scrape must not read half-updated tables
            scrape = threading.Thread(target=lambda: result.append(_get(server.url + "/metrics")))
            scrape.start()
            scrape.join(0.3)
            assert scrape.is_alive() and not result
        scrape.join(5)
        assert result == [(200, "lanner_x 1\n")]
    finally:
        server.close()


def test_port_in_use_raises_oserror() -> None:
    first = MetricsServer("127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            MetricsServer("127.0.0.1", first.port)
    finally:
        first.close()


def test_webserver_settings_defaults_and_errors() -> None:
    assert WebserverSettings.from_config({}) == WebserverSettings(True, "127.0.0.1", 8765)
    cfg = {"webserver": {"enabled": False, "listen_port": "9000", "listen_address": "::1"}}
    assert WebserverSettings.from_config(cfg) == WebserverSettings(False, "::1", 9000)
    for bad, key in (
        ({"listen_port": 70000}, "webserver.listen_port"),
        ({"listen_port": "http"}, "webserver.listen_port"),
        ({"listen_address": ""}, "webserver.listen_address"),
        ({"enabled": "maybe"}, "webserver.enabled"),
    ):
        with pytest.raises(ConfigError, match=key):
            WebserverSettings.from_config({"webserver": bad})
