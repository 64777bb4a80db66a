"""A live metrics pipeline for tests: the eBPF probe (state set + the metrics engine's event
types), the state seeded from /proc, and a background thread feeding both, as `lanner run`
does. The test process itself is never captured, so clients run as child processes."""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType

from lanner.capture.ebpf.source import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.metrics.aggregates import METRICS_EVENT_TYPES, MetricsEngine
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State
from tests.capture.bpf_support import require_bpf


def open_probe(
    snaplen: int = 256, ring_bytes: int = 16 << 20, *, latency: bool = False, file_io: bool = False
) -> ProbeSource:
    """The probe with the state set and the metrics engine's event types."""
    require_bpf()
    return ProbeSource(
        STATE_EVENT_TYPES | METRICS_EVENT_TYPES,
        snaplen=snaplen,
        ring_bytes=ring_bytes,
        latency=latency,
        file_io=file_io,
    )


class LiveMetrics:
    """Use as a context manager around the workload; read `engine` after the block (the feed
    has stopped). Events already in the ring when it starts are discarded."""

    def __init__(self, source: ProbeSource) -> None:
        self.source = source
        while source.poll():
            pass
        self._drops_before = source.stats().drops
        self.state = State()
        for record in snapshot(skip_pid=os.getpid()):
            self.state.seed(record)
        self.engine = MetricsEngine()
        self.events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)

    def _feed(self) -> None:
        process = self.state.process
        quiet_since: float | None = None
        while True:
            events = self.source.poll()
            if events:
                quiet_since = None
                for event in events:
                    process(event)
                self.engine.process_batch(events)
                self.events += len(events)
                continue
            if self._stop.is_set():
                # Stop once the ring has stayed empty for a moment: the last exits are in.
                now = time.monotonic()
                quiet_since = quiet_since or now
                if now - quiet_since > 0.3:
                    return
            time.sleep(self.source.poll_interval)

    def __enter__(self) -> LiveMetrics:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        drops = self.source.stats().drops - self._drops_before
        assert drops == 0, f"the probe dropped {drops} events: counts would be off"
