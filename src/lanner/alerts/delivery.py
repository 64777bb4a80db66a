"""Delivery: the dispatcher the engine hands alerts to, and one worker thread per sink.

The detection thread only ever does two things with an alert: writes it to the inline sinks
(stdout) and appends it once to the spool (a local SQLite insert); it never waits for a
destination. Each spooled sink has its own worker that reads the spool after its cursor in
batches (its bounded queue), sends them, and moves its cursor only once they are delivered:
at least once, in order, per sink. A failing sink is retried with exponential backoff and
jitter while the others go on; on restart every worker starts from its cursor, so what was
left undelivered goes out first. See docs/alerts.md for the guarantees and their limits.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lanner.alerts.alert import Alert
from lanner.alerts.limits import AlertLimiter
from lanner.alerts.sink import DeliveryError, Sink
from lanner.store.spool import AlertSpool, SpoolReader

Log = Callable[[str], None]


def _no_log(message: str) -> None:
    del message


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``initial * multiplier**n`` capped at ``maximum`` seconds, each
    delay scaled by a random factor in ``[1 - jitter, 1 + jitter]`` so that many agents do
    not retry a recovering receiver in step."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int, rand: float) -> float:
        base = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rand - 1.0)))


@dataclass
class SinkStats:
    """Counters of one sink, read by the metrics endpoint."""

    delivered: int = 0
    failures: int = 0
    """Failed delivery attempts (each retry that fails counts once)."""
    filtered: int = 0
    """Alerts the sink does not want (below its minimum priority)."""
    last_error: str = ""
    failing: bool = False


class SinkWorker:
    """The thread that feeds one spooled sink from the spool."""

    def __init__(
        self,
        sink: Sink,
        spool: AlertSpool,
        *,
        batch_size: int = 256,
        retry: RetryPolicy | None = None,
        log: Log = _no_log,
    ) -> None:
        self.sink = sink
        self.spool = spool
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()
        self.log = log
        self.stats = SinkStats()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._random = random.Random()
        self._thread = threading.Thread(
            target=self._run, name=f"lanner-sink-{sink.name}", daemon=True
        )
        self.idle = threading.Event()
        """Set whenever the worker has caught up with the spool."""

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self, deadline: float) -> None:
        """Deliver what is pending until ``deadline`` (monotonic), then stop; returns at once.
        What is not delivered by then stays in the spool for the next run."""
        self._deadline = deadline
        self._stopping.set()
        self._wake.set()

    def join(self) -> None:
        self._thread.join(max(0.0, self._deadline - time.monotonic()) + 5.0)

    def _run(self) -> None:
        """The worker thread: never ends on an error, only on stop (a spool error is logged
        and retried like a failing destination)."""
        reader = None
        attempt = 0
        while True:
            try:
                if reader is None:
                    reader = self.spool.reader()
                self._deliver(reader)
                break
            except Exception as exc:
                self._failed(f"alert spool: {type(exc).__name__}: {exc}")
                if self._stopping.is_set():
                    break
                self._stopping.wait(self.retry.delay(attempt, self._random.random()))
                attempt += 1
        if reader is not None:
            reader.close()
        self.idle.set()

    def _deliver(self, reader: SpoolReader) -> None:
        """Feed the sink until told to stop; a spool error propagates to `_run`."""
        name = self.sink.name
        attempt = 0
        while True:
            self._wake.clear()
            # Read whether stopping was asked *before* reading: every alert is appended before
            # close() asks, so a read that starts after the request sees all of them. (Checking
            # after an empty read lost an alert appended between the read and the check.)
            stopping = self._stopping.is_set()
            entries = reader.after_cursor(name, self.batch_size)
            if not entries:
                self.idle.set()
                if stopping:
                    return
                self._wake.wait(1.0)
                continue
            self.idle.clear()
            if self._stopping.is_set() and time.monotonic() >= self._deadline:
                return
            wanted: list[tuple[int, Alert]] = []
            unwanted: list[int] = []
            for entry in entries:
                alert = Alert.from_dict(json.loads(entry.body))
                if self.sink.accepts(alert):
                    wanted.append((entry.seq, alert))
                else:
                    unwanted.append(entry.seq)
            try:
                if wanted:
                    self.sink.send([a for _, a in wanted])
            except DeliveryError as exc:
                stopped_at = wanted[exc.delivered][0]
                self.stats.filtered += sum(1 for seq in unwanted if seq < stopped_at)
                if stopped_at > entries[0].seq:
                    reader.ack(name, stopped_at - 1)
                    self.stats.delivered += exc.delivered
                self._failed(str(exc))
                if self._stopping.is_set():
                    return  # do not hold a shutdown for a destination that is down
                self._stopping.wait(self.retry.delay(attempt, self._random.random()))
                attempt += 1
                continue
            except Exception as exc:  # a sink bug must not kill delivery
                self._failed(f"{type(exc).__name__}: {exc}")
                if self._stopping.is_set():
                    return
                self._stopping.wait(self.retry.delay(attempt, self._random.random()))
                attempt += 1
                continue
            reader.ack(name, entries[-1].seq)
            self.stats.delivered += len(wanted)
            self.stats.filtered += len(unwanted)
            if self.stats.failing:
                self.stats.failing = False
                self.log(f"alert sink {name}: delivering again")
            attempt = 0

    def _failed(self, message: str) -> None:
        self.stats.failures += 1
        self.stats.last_error = message
        if not self.stats.failing:
            self.stats.failing = True
            self.log(f"alert sink {self.sink.name}: {message}; alerts kept in the spool, retrying")


@dataclass
class DispatchStats:
    """What went through the dispatcher (rule matches as the engine produced them)."""

    matches: Counter[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=Counter)
    """(rule, priority, source, tags) → alerts raised."""
    inline_delivered: Counter[str] = field(default_factory=Counter)
    inline_failures: Counter[str] = field(default_factory=Counter)


class AlertDispatcher:
    """Takes every alert from the engine (``dispatcher(alert)``) and fans it out to sinks."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        spool: AlertSpool | None = None,
        limiter: AlertLimiter | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int = 256,
        shutdown_timeout: float = 5.0,
        log: Log = _no_log,
        fold_clock: Callable[[], int] | None = None,
    ) -> None:
        names = [s.name for s in sinks]
        if len(set(names)) != len(names):
            raise ValueError(f"sink names must be unique: {names}")
        self.inline = [s for s in sinks if not s.spooled]
        spooled = [s for s in sinks if s.spooled]
        if spooled and spool is None:
            spool = AlertSpool(None, [s.name for s in spooled])
        self.spool = spool
        self.limiter = limiter
        self.shutdown_timeout = shutdown_timeout
        self.log = log
        self.stats = DispatchStats()
        self.workers = [
            SinkWorker(s, spool, batch_size=batch_size, retry=retry, log=log)
            for s in spooled
            if spool is not None
        ]
        if spool is not None:
            for sink_name, pending in spool.abandoned.items():
                log(
                    f"alert spool: {pending} undelivered alerts of sink {sink_name!r} dropped: "
                    "that sink is no longer configured"
                )
        self._lock = threading.Lock()
        self._closed = False
        self._ticker: threading.Thread | None = None
        self._tick_stop = threading.Event()
        for worker in self.workers:
            worker.start()
        if fold_clock is not None and limiter is not None and limiter.folder is not None:
            self._ticker = threading.Thread(
                target=self._tick, args=(fold_clock,), name="lanner-alert-fold", daemon=True
            )
            self._ticker.start()

    @property
    def sinks(self) -> list[Sink]:
        return self.inline + [w.sink for w in self.workers]

    def __call__(self, alert: Alert) -> None:
        self.publish(alert)

    def publish(self, alert: Alert) -> None:
        """Hand one alert over; returns once it is written inline and durably spooled."""
        self.stats.matches[(alert.rule, alert.priority, alert.source, alert.tags)] += 1
        if self.limiter is None:
            self._fan_out((alert,))
            return
        with self._lock:
            admitted = self.limiter.admit(alert)
        if admitted:
            self._fan_out(admitted)

    def _fan_out(self, alerts: Sequence[Alert]) -> None:
        for sink in self.inline:
            try:
                sink.send(alerts)
                self.stats.inline_delivered[sink.name] += len(alerts)
            except Exception as exc:  # one broken output must not stop detection
                if not self.stats.inline_failures[sink.name]:
                    self.log(f"alert sink {sink.name}: {exc}")
                self.stats.inline_failures[sink.name] += 1
        if self.workers and self.spool is not None:
            self.spool.append_many(
                [(a.id, json.dumps(a.to_dict(), separators=(",", ":"))) for a in alerts]
            )
            for worker in self.workers:
                worker.wake()

    def _tick(self, clock: Callable[[], int]) -> None:
        while not self._tick_stop.wait(0.5):
            if self.limiter is None:
                return
            with self._lock:
                summaries = self.limiter.expire(clock())
            if summaries:
                self._fan_out(summaries)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every worker has caught up with the spool (for tests and benches)."""
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.wake()
        while time.monotonic() < deadline:
            if all(w.idle.is_set() for w in self.workers) and all(
                self.spool is None or self.spool.depth(w.sink.name) == 0 for w in self.workers
            ):
                return True
            time.sleep(0.01)
        return False

    def depth(self, sink_name: str) -> int:
        """Alerts spooled for a sink and not delivered yet."""
        return self.spool.depth(sink_name) if self.spool is not None else 0

    def overflow(self, sink_name: str) -> int:
        """Alerts a sink lost to the spool's bound."""
        return self.spool.overflow(sink_name) if self.spool is not None else 0

    def close(self, timeout: float | None = None) -> None:
        """Emit pending fold summaries, let workers deliver for up to ``timeout`` seconds,
        then stop them and release every sink. Undelivered alerts stay in the spool."""
        if self._closed:
            return
        self._closed = True
        self._tick_stop.set()
        if self._ticker is not None:
            self._ticker.join(2.0)
        if self.limiter is not None:
            with self._lock:
                pending = self.limiter.flush()
            if pending:
                self._fan_out(pending)
        wait = self.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        # Every worker gets the whole window at once: a slow destination does not use up the
        # time of the others.
        for worker in self.workers:
            worker.request_stop(deadline)
        for worker in self.workers:
            worker.join()
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:  # closing is best effort
                self.log(f"alert sink {sink.name}: closing: {exc}")
        if self.spool is not None:
            for worker in self.workers:
                left = self.spool.depth(worker.sink.name)
                if left and self.spool.durable:
                    self.log(
                        f"alert sink {worker.sink.name}: {left} alerts not delivered yet, kept "
                        f"in {self.spool.path} for the next run"
                    )
                elif left:
                    self.log(
                        f"alert sink {worker.sink.name}: {left} alerts not delivered "
                        "(no alerts.spool.path configured to keep them)"
                    )
            self.spool.close()
