"""The engine's batch loop: every event reaches the state (and whatever wraps it), the
rules see the delivered ones, and counts cover the events a selective reader skipped."""

from __future__ import annotations

from typing import Any

from lanner.capture.scap import ScapReader
from lanner.engine import DetectionEngine
from lanner.events.event import EventBatch
from lanner.rules.loader import load_rules_files
from tests.conftest import compat_path


def _engine(legacy: bool) -> DetectionEngine:
    return DetectionEngine(
        load_rules_files([]).ruleset(), lambda _a: None, legacy_events=legacy, hostname="t"
    )


def test_a_wrapper_over_state_process_sees_every_event() -> None:
    path = compat_path("scap", "falco-0.34.1", "cat_write.scap")
    for legacy in (True, False):
        engine = _engine(legacy)
        seen: list[int] = []
        original = engine.state.process

        def wrapped(event: Any, original: Any = original, seen: list[int] = seen) -> None:
            original(event)
            seen.append(event.num)

        engine.state.process = wrapped  # type: ignore[method-assign]
        for _ in engine.feed(ScapReader(path)):
            pass
        assert seen == list(range(1, engine.stats.events + 1))
        assert all(num > 0 for num in seen)


def test_events_count_the_skipped_ones_and_delivery_follows_the_model() -> None:
    path = compat_path("scap", "falco-0.34.1", "cat_write.scap")
    every = [e for b in ScapReader(path).events() for e in b]
    enters = sum(1 for e in every if e.direction == ">")
    legacy, modern = _engine(True), _engine(False)
    for engine in (legacy, modern):
        for _ in engine.feed(ScapReader(path)):
            pass
    assert legacy.stats.delivered == len(every)
    assert len(every) - enters <= modern.stats.delivered < len(every)
    batch = EventBatch(every[:3])
    batch.read = 10
    engine = _engine(True)
    engine.process_batch(batch)
    assert engine.stats.events == 10
    assert engine.stats.delivered == 3
