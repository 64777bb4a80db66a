"""CRI lookups that the runtime cannot answer yet: retried after short delays, given up in the
end, and an alert that waits (bounded, once per container) for the description.

The runtime here is a scripted stand-in for CriClient (answers None a number of times, or
blocks): the timing cases cannot be produced on demand by a real containerd. The real one is
exercised by test_cri_live.py and the live rules tests."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from lanner.alerts.alert import Alert
from lanner.engine import DetectionEngine
from lanner.enrich.containers import ContainerInfo
from lanner.enrich.cri import CriMetadataSource
from lanner.enrich.enable import ContainerEnrichment
from lanner.enrich.pipeline import ContainerEnricher
from lanner.rules.loader import load_rules_string
from lanner.state.state import State
from tests.enrich.test_pipeline import CID, POD_PATH, plain_event, proc_entry

FAST = (0.01, 0.02, 0.04)


class ScriptedRuntime:
    """Answers `describe` with None `misses` times, then with a description; `gate`, when
    given, holds every answer until it is set."""

    def __init__(self, misses: int, gate: threading.Event | None = None) -> None:
        self.misses = misses
        self.gate = gate
        self.calls: list[float] = []

    def describe(self, container_id: str) -> ContainerInfo | None:
        self.calls.append(time.monotonic())
        if self.gate is not None:
            self.gate.wait(10)
        if len(self.calls) <= self.misses:
            return None
        return ContainerInfo(id=container_id, type="containerd", name="app", complete=True)

    def list_container_ids(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


def _source(runtime: ScriptedRuntime, published: list[ContainerInfo]) -> CriMetadataSource:
    source = CriMetadataSource(runtime, published.append, retry_delays=FAST)  # type: ignore[arg-type]
    return source.start(prefetch=False)


def test_a_container_not_on_record_yet_is_described_on_a_retry() -> None:
    runtime = ScriptedRuntime(misses=2)
    published: list[ContainerInfo] = []
    source = _source(runtime, published)
    try:
        source.request(CID)
        assert source.wait_for(CID, 5)
        assert [info.name for info in published] == ["app"]
        assert (source.described, source.misses, source.retried) == (1, 0, 2)
        assert not source.pending(CID)
        # The retries kept their delays (each at least the scheduled one).
        gaps = [b - a for a, b in zip(runtime.calls, runtime.calls[1:], strict=False)]
        assert len(gaps) == 2 and gaps[0] >= FAST[0] * 0.9 and gaps[1] >= FAST[1] * 0.9
    finally:
        source.stop()


def test_a_container_the_runtime_never_knows_is_given_up() -> None:
    runtime = ScriptedRuntime(misses=100)
    published: list[ContainerInfo] = []
    source = _source(runtime, published)
    try:
        source.request(CID)
        assert source.wait_for(CID, 5)
        assert published == [] and source.misses == 1 and len(runtime.calls) == 1 + len(FAST)
        # Seen again soon after: not asked again (retry_s), so a Docker container costs little.
        source.request(CID)
        assert source.wait_idle(2) and len(runtime.calls) == 1 + len(FAST)
    finally:
        source.stop()


def test_a_request_while_one_is_open_is_not_doubled() -> None:
    gate = threading.Event()
    runtime = ScriptedRuntime(misses=0, gate=gate)
    published: list[ContainerInfo] = []
    source = _source(runtime, published)
    try:
        source.request(CID)
        source.request(CID)
        assert source.pending(CID)
        assert source.wait_for(CID, 0.05) is False  # still open: the wait is bounded
        gate.set()
        assert source.wait_for(CID, 5) and len(runtime.calls) == 1 and len(published) == 1
    finally:
        gate.set()
        source.stop()


def _pod_thread_state(source: CriMetadataSource | None) -> tuple[State, ContainerEnricher]:
    state = State()
    enricher = ContainerEnricher()
    if source is not None:
        source.publish = enricher.publish
    enricher.attach(state, source)
    state.seed(proc_entry(10, ["cpuset=/", f"memory={POD_PATH}"]))
    state.seed(proc_entry(11, ["cpuset=/", "memory=/user.slice"]))
    return state, enricher


def test_await_metadata_waits_once_per_container_and_never_for_the_host() -> None:
    gate = threading.Event()
    runtime = ScriptedRuntime(misses=0, gate=gate)
    source = CriMetadataSource(runtime, lambda _i: None, retry_delays=FAST)  # type: ignore[arg-type]
    state, enricher = _pod_thread_state(source)
    source.start(prefetch=False)
    try:
        host, pod = state.thread(11), state.thread(10)
        assert enricher.await_metadata(host, 1.0) is False
        started = time.monotonic()
        assert enricher.await_metadata(pod, 0.1) is True  # waited, ran out
        assert 0.08 <= time.monotonic() - started < 2
        # Once per container: a second alert does not wait again.
        started = time.monotonic()
        assert enricher.await_metadata(pod, 1.0) is False
        assert time.monotonic() - started < 0.05
        assert enricher.alert_waits == 1
    finally:
        gate.set()
        source.stop()


RULES = """
- rule: Close in a pod
  desc: t
  condition: evt.type = close and container.id != host
  output: closed (container=%container.name image=%container.image.repository)
  priority: WARNING
"""


def _engine(state: State, alerts: list[Alert]) -> DetectionEngine:
    loaded = load_rules_string(RULES, "t.yaml")
    assert loaded.successful, loaded.result
    return DetectionEngine(loaded.ruleset(), alerts.append, state=state, hostname="t")


def test_an_alert_in_a_container_being_described_names_it() -> None:
    runtime = ScriptedRuntime(misses=3)  # answers after ~70 ms of retries
    source = CriMetadataSource(runtime, lambda _i: None, retry_delays=FAST)  # type: ignore[arg-type]
    state, enricher = _pod_thread_state(source)
    enrichment = ContainerEnrichment(enricher, cri=source)
    source.start(prefetch=False)
    alerts: list[Alert] = []
    engine = _engine(state, alerts)
    engine.before_alert = enrichment.alert_hook(2.0)
    try:
        engine.process_batch([plain_event(10, 5)])
        assert len(alerts) == 1
        assert alerts[0].output_fields["container.name"] == "app"
        assert "container=app" in alerts[0].output
    finally:
        source.stop()


def test_without_the_hook_the_same_alert_says_na() -> None:
    # The reference for the test above: the description is not there yet at alert time.
    runtime = ScriptedRuntime(misses=3)
    source = CriMetadataSource(runtime, lambda _i: None, retry_delays=FAST)  # type: ignore[arg-type]
    state, _enricher = _pod_thread_state(source)
    source.start(prefetch=False)
    alerts: list[Alert] = []
    engine = _engine(state, alerts)
    try:
        engine.process_batch([plain_event(10, 5)])
        assert alerts[0].output_fields["container.name"] is None
        assert "container=<NA>" in alerts[0].output
    finally:
        source.stop()


def test_no_hook_without_a_runtime_or_with_a_zero_wait() -> None:
    enricher = ContainerEnricher()
    assert ContainerEnrichment(enricher).alert_hook(1.0) is None
    source = SimpleNamespace(stop=lambda: None)
    assert ContainerEnrichment(enricher, cri=source).alert_hook(0) is None


def test_waits_share_a_budget_so_a_rollout_cannot_stall_the_event_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lanner.enrich import pipeline

    monkeypatch.setattr(pipeline, "WAIT_BUDGET_S", 0.2)
    gate = threading.Event()  # the runtime never answers in time
    source = CriMetadataSource(ScriptedRuntime(0, gate), lambda _i: None, retry_delays=FAST)  # type: ignore[arg-type]
    state = State()
    enricher = ContainerEnricher().attach(state, source)
    ids = [f"{n:x}" * 64 for n in range(1, 5)]
    for tid, cid in enumerate(ids, start=10):
        state.seed(proc_entry(tid, [f"memory=/kubepods/besteffort/podx/{cid[:64]}"]))
    source.start(prefetch=False)
    try:
        started = time.monotonic()
        waited = [enricher.await_metadata(state.thread(tid), 0.15) for tid in range(10, 14)]
        spent = time.monotonic() - started
        # 0.15 s, then the 0.05 s left of the budget, then no more waiting.
        assert waited == [True, True, False, False] and enricher.alert_waits_skipped == 2
        assert 0.18 <= spent < 0.5
    finally:
        gate.set()
        source.stop()


def test_lookup_results_are_counted_on_metrics() -> None:
    """What `lanner run` serves on /metrics: lookups by source and result, and the table size."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from lanner.server.metrics import ContainerCounts, MetricSources, build_registry

    published: list[ContainerInfo] = []
    cri = _source(ScriptedRuntime(misses=2), published)  # described on the third attempt
    docker = _source(ScriptedRuntime(misses=99), published)  # given up after the retries
    enrichment = ContainerEnrichment(ContainerEnricher(), cri=cri, docker=docker)
    try:
        cri.request("a" * 64)
        docker.request("b" * 64)
        assert cri.wait_idle(5) and docker.wait_idle(5)
        for info in published:
            enrichment.enricher.table.add(info)
        registry = build_registry(
            MetricSources(
                containers=lambda: ContainerCounts(
                    known=len(enrichment.enricher.table), lookups=enrichment.lookup_counts()
                )
            )
        )
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for s in family.samples
        }
    finally:
        enrichment.stop()

    def lookups(source: str, result: str) -> float:
        key = (
            "lanner_container_metadata_lookups_total",
            (("result", result), ("source", source)),
        )
        return samples[key]

    assert samples[("lanner_containers", ())] == 1
    assert (lookups("cri", "described"), lookups("cri", "retried")) == (1, 2)
    assert (lookups("cri", "missed"), lookups("cri", "error")) == (0, 0)
    assert (lookups("docker", "described"), lookups("docker", "missed")) == (0, 1)
    assert lookups("docker", "retried") == len(FAST)
