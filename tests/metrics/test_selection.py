"""An attached metrics engine widens in-reader event selection to the I/O and connection
events it reads: the same trace gives the same HTTP and peer aggregates with or without
selection, while rules alone would let a reader skip those events."""

from __future__ import annotations

from lanner.engine import DetectionEngine
from lanner.events.table import codes_for_name
from lanner.metrics.aggregates import METRICS_EVENT_TYPES, MetricsEngine
from lanner.rules.loader import load_rules_string
from lanner.rules.ruleset import Ruleset
from lanner.state.state import State
from tests.conftest import compat_path

EXEC_ONLY = """
- rule: exec seen
  desc: rules that need execve only
  condition: evt.type = execve and evt.dir = <
  output: "%proc.name"
  priority: INFO
"""
TRACE = ("scap", "gpl-sysdig-inspect", "502Error.scap")


def _ruleset() -> Ruleset:
    loaded = load_rules_string(EXEC_ONLY, "exec.yaml")
    assert loaded.successful, loaded.result
    return loaded.ruleset()


def _metrics(select: bool) -> MetricsEngine:
    metrics = MetricsEngine()
    engine = DetectionEngine(
        _ruleset(), lambda _a: None, state=State(), hostname="t", consumers=[metrics]
    )
    trace = compat_path(*TRACE)
    if select:
        assert engine.selection() is not None
        reader = engine.scap_reader(trace)
    else:
        from lanner.capture.scap import ScapReader

        reader = ScapReader(trace)
    for _ in engine.feed(reader):
        pass
    metrics.flush()
    return metrics


def test_rules_alone_would_skip_io_types_but_the_consumer_keeps_them() -> None:
    alone = DetectionEngine(_ruleset(), lambda _a: None, hostname="t")
    alone_types = alone.needed_event_types()
    assert alone_types is not None and not {"recvfrom", "sendto", "write"} & alone_types
    listen = set(codes_for_name("listen"))
    wanted_alone = alone.wanted_codes()
    assert wanted_alone is not None and not listen & wanted_alone
    with_metrics = DetectionEngine(
        _ruleset(), lambda _a: None, hostname="t", consumers=[MetricsEngine()]
    )
    types = with_metrics.needed_event_types()
    assert types is not None and METRICS_EVENT_TYPES | {"execve"} <= types
    wanted = with_metrics.wanted_codes()
    assert wanted is not None and listen <= wanted
    generic = with_metrics.wanted_generic()
    assert generic is not None and generic >= METRICS_EVENT_TYPES


def test_selection_keeps_the_metrics_unchanged() -> None:
    full, selected = _metrics(select=False), _metrics(select=True)
    assert sum(s.requests for s in full.http.values()) > 30
    assert {k: (s.requests, dict(s.statuses)) for k, s in selected.http.items()} == {
        k: (s.requests, dict(s.statuses)) for k, s in full.http.items()
    }
    assert selected.listeners == full.listeners
    assert {k: (p.accepted, p.bytes_in, p.bytes_out) for k, p in selected.peers.items()} == {
        k: (p.accepted, p.bytes_in, p.bytes_out) for k, p in full.peers.items()
    }
