"""Metrics engine cost: ns per event on a replayed capture (on top of the state layer), and
memory per 10k open HTTP connections (synthetic events).

    .venv/bin/python bench/metrics_overhead.py [capture.scap]
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from lanner.capture.scap import ScapReader
from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.synthetic import Conversation
from lanner.state.state import State

DEFAULT_TRACE = (
    Path(__file__).resolve().parents[2] / "shared/compat/scap/gpl-sysdig-inspect/502Error.scap"
)


def load(path: Path) -> tuple[list[Any], list[list[Any]]]:
    records: list[Any] = []
    batches: list[list[Any]] = []
    with open(path, "rb") as stream:
        for item in ScapReader(stream):
            (batches if isinstance(item, list) else records).append(item)
    return records, batches


def replay(records: list[Any], batches: list[list[Any]], metrics: bool) -> float:
    state = State()
    for record in records:
        state.seed(record)
    engine = MetricsEngine()
    start = time.perf_counter()
    for batch in batches:
        for event in batch:
            state.process(event)
        if metrics:
            engine.process_batch(batch)
    return time.perf_counter() - start


def per_event_cost(path: Path, rounds: int = 5) -> None:
    records, batches = load(path)
    events = sum(len(b) for b in batches)
    replay(records, batches, True)  # decode and cache parameters once, for both runs alike
    base = min(replay(records, batches, False) for _ in range(rounds))
    full = min(replay(records, batches, True) for _ in range(rounds))
    print(f"trace {path.name}: {events} events")
    print(f"  state only          {base / events * 1e9:8.0f} ns/event")
    print(f"  state + metrics     {full / events * 1e9:8.0f} ns/event")
    print(f"  metrics engine      {(full - base) / events * 1e9:8.0f} ns/event")


def connections_memory(count: int = 10_000) -> None:
    events: list[Any] = []
    request = b"GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for n in range(count):
        conv = Conversation(1000, 10 + n)
        ts = 1_000_000 + n * 1000
        conv.accept(ts, (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 40000), ("10.0.0.1", 80))
        conv.io("read", ts + 10, ts + 20, request)
        conv.io("write", ts + 30, ts + 40, response)
        events += conv.events
    state = State()
    for event in events:
        state.process(event)
    MetricsEngine().process_batch(events)  # decode parameters outside the measurement
    tracemalloc.start()
    engine = MetricsEngine(max_connections=count * 2)
    engine.process_batch(events)
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(engine.connections) == count
    print(f"{count} open HTTP connections (one exchange each, one peer each):")
    print(f"  metrics engine memory {current / 1e6:.1f} MB ({current / count:.0f} B/connection)")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_TRACE
    per_event_cost(path)
    connections_memory()


if __name__ == "__main__":
    main()
