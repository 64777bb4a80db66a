"""A latency histogram with fine logarithmic buckets: constant memory, quantiles within a few
percent, and Prometheus' coarse cumulative buckets derived from it at exposition time.

Bucket i holds values in [G^i, G^(i+1)) nanoseconds with G = 2^(1/8) (about 9% wide), so a
quantile interpolated inside its bucket is off by at most ~4.5%. Only non-empty buckets are
stored (a dict), which keeps idle series small.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

_STEPS_PER_DOUBLING = 8
_LOG_GROWTH = math.log(2.0) / _STEPS_PER_DOUBLING

# Prometheus bucket bounds in seconds for latency histograms (100 µs .. 10 s).
DEFAULT_BOUNDS_S: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def _bucket(value_ns: int) -> int:
    if value_ns <= 1:
        return 0
    return int(math.log(value_ns) / _LOG_GROWTH)


def _lower(index: int) -> float:
    return math.exp(index * _LOG_GROWTH)


class LatencyHistogram:
    """Durations in nanoseconds. Negative samples (clock or pairing glitches) are ignored."""

    __slots__ = ("buckets", "count", "max", "min", "sum")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.sum = 0
        self.min = 0
        self.max = 0

    def observe(self, value_ns: int) -> None:
        if value_ns < 0:
            return
        index = _bucket(value_ns)
        buckets = self.buckets
        buckets[index] = buckets.get(index, 0) + 1
        if self.count == 0 or value_ns < self.min:
            self.min = value_ns
        self.max = max(self.max, value_ns)
        self.count += 1
        self.sum += value_ns

    def merge(self, other: LatencyHistogram) -> None:
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        if other.count:
            self.min = other.min if self.count == 0 else min(self.min, other.min)
            self.max = max(self.max, other.max)
        self.count += other.count
        self.sum += other.sum

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1) in nanoseconds, interpolated in its bucket; None when empty."""
        if self.count == 0:
            return None
        if q <= 0:
            return float(self.min)
        if q >= 1:
            return float(self.max)
        rank = q * self.count
        seen = 0
        for index in sorted(self.buckets):
            n = self.buckets[index]
            if seen + n >= rank:
                low, high = _lower(index), _lower(index + 1)
                value = low + (high - low) * ((rank - seen) / n)
                return min(max(value, float(self.min)), float(self.max))
            seen += n
        return float(self.max)

    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def cumulative(self, bounds_s: Sequence[float] = DEFAULT_BOUNDS_S) -> list[int]:
        """Counts of samples <= each bound (seconds), for Prometheus `_bucket{le=...}` lines.

        A fine bucket straddling a bound is attributed by its lower edge, so a cumulative count
        may include values up to 9% above the bound."""
        limits = [b * 1e9 for b in bounds_s]
        out = [0] * len(limits)
        for index, n in self.buckets.items():
            low = _lower(index)
            for i, limit in enumerate(limits):
                if low <= limit:
                    out[i] += n
        return out


def merged(histograms: Iterable[LatencyHistogram]) -> LatencyHistogram:
    total = LatencyHistogram()
    for hist in histograms:
        total.merge(hist)
    return total
