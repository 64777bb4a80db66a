"""Optional noise control before fan-out: duplicate folding, then per-rule rate limiting.

Folding: alerts of the same rule, the same process tree and the same container
(``key_fields`` of the alert's ``output_fields``, by default ``proc.exepath``,
``proc.pname`` and ``container.id``) within ``window`` seconds of the first are one
incident. The first alert goes out at once, so folding never delays detection; the
repeats are absorbed, and when the window closes one summary alert goes out: the last
repeat, with ``output_fields["lanner.fold_count"]`` (the repeats it stands for) and a note
at the end of its text. A rule whose output has none of the key fields folds on its
rendered output text instead.

Rate limiting: a token bucket per rule (``rate`` alerts per second, ``max_burst`` saved up),
over event time, so a replay behaves as the live run did. Suppressed alerts are counted
per rule. Fold summaries are not rate limited: there is at most one per key and window,
and dropping one would lose its count.
"""

from __future__ import annotations

import uuid
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lanner.alerts.alert import Alert
from lanner.alerts.drops import TokenBucket

FOLD_COUNT_FIELD = "lanner.fold_count"
DEFAULT_FOLD_KEYS = ("proc.exepath", "proc.pname", "container.id")
_NS = 1_000_000_000


@dataclass
class _Incident:
    start_ns: int
    repeats: int = 0
    last: Alert | None = None


class AlertFolder:
    """Folds repeats of an alert within a window into one summary alert."""

    def __init__(self, window_s: float, key_fields: Sequence[str] = DEFAULT_FOLD_KEYS) -> None:
        self.window_ns = int(window_s * _NS)
        self.window_s = window_s
        self.key_fields = tuple(key_fields)
        self._open: OrderedDict[tuple[Any, ...], _Incident] = OrderedDict()
        self.folded: Counter[str] = Counter()
        """Alerts absorbed into a summary, by rule."""

    def key(self, alert: Alert) -> tuple[Any, ...]:
        fields = alert.output_fields
        values = tuple(_hashable(fields.get(name)) for name in self.key_fields)
        if all(name not in fields for name in self.key_fields):
            return (alert.rule, alert.output)
        return (alert.rule, *values)

    def admit(self, alert: Alert) -> list[Alert]:
        """The alerts to send now: closed windows' summaries, then ``alert`` unless folded."""
        out = self.expire(alert.time_ns)
        key = self.key(alert)
        incident = self._open.get(key)
        if incident is None:
            self._open[key] = _Incident(alert.time_ns)
            out.append(alert)
            return out
        incident.repeats += 1
        incident.last = alert
        self.folded[alert.rule] += 1
        return out

    def expire(self, now_ns: int) -> list[Alert]:
        """Close the windows that ended by ``now_ns``; returns their summaries."""
        out: list[Alert] = []
        while self._open:
            key, incident = next(iter(self._open.items()))
            if incident.start_ns + self.window_ns > now_ns:
                break
            del self._open[key]
            summary = self._summary(incident)
            if summary is not None:
                out.append(summary)
        return out

    def flush(self) -> list[Alert]:
        """Close every window (at shutdown)."""
        out = [s for s in (self._summary(i) for i in self._open.values()) if s is not None]
        self._open.clear()
        return out

    def _summary(self, incident: _Incident) -> Alert | None:
        last = incident.last
        if last is None:
            return None
        fields = dict(last.output_fields)
        fields[FOLD_COUNT_FIELD] = incident.repeats
        note = f" (lanner: {incident.repeats} more like this within {self.window_s:g}s)"
        return replace(last, output=last.output + note, output_fields=fields, id=str(uuid.uuid4()))


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


@dataclass(frozen=True)
class RateSpec:
    rate: float
    max_burst: int


@dataclass
class RuleRateLimiter:
    """A token bucket per rule; ``rules`` overrides the default for named rules."""

    default: RateSpec | None
    rules: Mapping[str, RateSpec] = field(default_factory=dict)
    suppressed: Counter[str] = field(default_factory=Counter)
    _buckets: dict[str, TokenBucket | None] = field(default_factory=dict)

    def admit(self, alert: Alert) -> bool:
        if alert.rule in self._buckets:
            bucket = self._buckets[alert.rule]
        else:
            spec = self.rules.get(alert.rule, self.default)
            bucket = TokenBucket(spec.rate, spec.max_burst) if spec is not None else None
            self._buckets[alert.rule] = bucket
        if bucket is None or bucket.claim(alert.time_ns):
            return True
        self.suppressed[alert.rule] += 1
        return False


@dataclass
class AlertLimiter:
    """Folding then rate limiting, as configured (either may be off)."""

    folder: AlertFolder | None = None
    rate: RuleRateLimiter | None = None

    def admit(self, alert: Alert) -> list[Alert]:
        if self.folder is None:
            candidates = [alert]
        else:
            candidates = self.folder.admit(alert)
        if self.rate is None:
            return candidates
        return [a for a in candidates if FOLD_COUNT_FIELD in a.output_fields or self.rate.admit(a)]

    def expire(self, now_ns: int) -> list[Alert]:
        return self.folder.expire(now_ns) if self.folder is not None else []

    def flush(self) -> list[Alert]:
        return self.folder.flush() if self.folder is not None else []
