"""Syscall event drop monitoring, as Falco's ``syscall_event_drops`` does it.

Once per second of event time the monitor compares the capture's event and drop counters
with the previous second. When events were dropped (and the drop ratio is above
``threshold``), it takes the configured actions, rate-limited by a token bucket:
``ignore`` (count only), ``log`` (a line on stderr), ``alert`` (an internal alert through the
normal outputs) and ``exit`` (stop with status 1). ``simulate_drops`` pretends one drop per
second, which is how Falco's own tests exercise it on a trace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lanner.alerts.alert import Alert

ONE_SECOND_NS = 1_000_000_000
DROP_RULE = "Falco internal: syscall event drop"
ACTIONS = ("ignore", "log", "alert", "exit")


class DropConfigError(ValueError):
    """A mistake in the ``syscall_event_drops`` settings."""


@dataclass(frozen=True)
class DropSettings:
    actions: tuple[str, ...] = ("log", "alert")
    rate: float = 0.03333
    max_burst: int = 1
    threshold: float = 0.1
    simulate_drops: bool = False

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> DropSettings:
        """Read and check the ``syscall_event_drops`` mapping of the configuration."""
        if not section:
            return cls()
        if not isinstance(section, Mapping):
            raise DropConfigError("syscall_event_drops must be a mapping")
        try:
            threshold = float(section.get("threshold", cls.threshold))
        except (TypeError, ValueError):
            threshold = -1.0
        if not 0.0 <= threshold <= 1.0:
            raise DropConfigError(
                "syscall event drops threshold must be a double in the range [0, 1]"
            )
        raw_actions = section.get("actions", list(cls.actions)) or []
        if isinstance(raw_actions, str):
            raw_actions = [raw_actions]
        actions = tuple(str(a).lower() for a in raw_actions)
        for action in actions:
            if action not in ACTIONS:
                raise DropConfigError(
                    f'unknown syscall event drop action "{action}" (ignore, log, alert or exit)'
                )
        if "ignore" in actions:
            for other in actions:
                if other != "ignore":
                    raise DropConfigError(
                        f'syscall event drop action "{other}" does not make sense with the '
                        '"ignore" action'
                    )
        try:
            rate = float(section.get("rate", cls.rate))
            max_burst = int(section.get("max_burst", cls.max_burst))
        except (TypeError, ValueError) as exc:
            raise DropConfigError(f"syscall_event_drops rate/max_burst: {exc}") from None
        if rate <= 0 or max_burst < 1:
            raise DropConfigError("syscall_event_drops: rate must be > 0 and max_burst >= 1")
        return cls(actions, rate, max_burst, threshold, bool(section.get("simulate_drops", False)))


@dataclass
class TokenBucket:
    """``rate`` tokens per second of event time, at most ``max_burst`` saved up."""

    rate: float
    max_burst: int
    tokens: float = field(init=False)
    last_ns: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.max_burst)

    def claim(self, now_ns: int) -> bool:
        if self.last_ns is not None:
            elapsed = max(0, now_ns - self.last_ns) / ONE_SECOND_NS
            self.tokens = min(float(self.max_burst), self.tokens + elapsed * self.rate)
        self.last_ns = now_ns
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class DropExit(Exception):
    """The ``exit`` action fired: the run must stop with status 1."""


CountersFn = Callable[[], tuple[int, int]]
"""Returns the cumulative (events, drops) of the capture."""


class DropMonitor:
    """Checks the drop counters once per second of event time and acts on drops."""

    def __init__(
        self,
        settings: DropSettings,
        counters: CountersFn,
        *,
        log: Callable[[str], None],
        alert: Callable[[Alert], None],
        hostname: str,
    ) -> None:
        self.settings = settings
        self.counters = counters
        self.log = log
        self.alert = alert
        self.hostname = hostname
        self.bucket = TokenBucket(settings.rate, settings.max_burst)
        self.next_check_ns = 0
        self.last = (0, 0)
        self.occurrences = 0
        self.actions_taken = 0

    def on_event_time(self, ts: int) -> None:
        """Called with event timestamps; does work only when a second has passed."""
        if self.next_check_ns == 0:
            self.next_check_ns = ts + ONE_SECOND_NS
            return
        if ts <= self.next_check_ns:
            return
        self.next_check_ns = ts + ONE_SECOND_NS
        events, drops = self.counters()
        d_events, d_drops = events - self.last[0], drops - self.last[1]
        self.last = (events, drops)
        if self.settings.simulate_drops:
            d_drops += 1
        if d_drops <= 0:
            return
        self.occurrences += 1
        ratio = 1.0 if self.settings.simulate_drops else d_drops / max(1, d_events + d_drops)
        if ratio < self.settings.threshold:
            return
        if not self.bucket.claim(ts):
            return
        self.actions_taken += 1
        self._act(ts, d_events, d_drops)

    def _act(self, ts: int, d_events: int, d_drops: int) -> None:
        message = f"{DROP_RULE}. {d_drops} system calls dropped in last second."
        for action in self.settings.actions:
            if action == "log":
                self.log(message)
            elif action == "alert":
                self.alert(
                    Alert(
                        time_ns=ts,
                        rule=DROP_RULE,
                        priority="Debug",
                        source="internal",
                        hostname=self.hostname,
                        output=message,
                        output_fields={
                            "n_evts": d_events,
                            "n_drops": d_drops,
                            "n_drops_buffer_total": d_drops,
                            "ebpf_enabled": 0,
                        },
                    )
                )
            elif action == "exit":
                self.log(message)
                self.log("Exiting.")
                raise DropExit(message)

    def summary(self) -> str:
        return (
            "Syscall event drop monitoring:\n"
            f"   - event drop detected: {self.occurrences} occurrences\n"
            f"   - num times actions taken: {self.actions_taken}\n"
        )
