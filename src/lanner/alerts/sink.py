"""What every sink is: a named destination that sends batches of alerts, in order.

A sink's ``send`` delivers a batch from its first alert on and raises ``DeliveryError`` at the
first one it could not deliver, saying how many went through before it; the delivery worker
then keeps the rest and retries. Sinks know nothing of threads, queues or the spool.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from lanner.alerts.alert import Alert, OutputOptions

# Falco's priorities are syslog's severities, most severe first.
SEVERITY: dict[str, int] = {
    "emergency": 0,
    "alert": 1,
    "critical": 2,
    "error": 3,
    "warning": 4,
    "notice": 5,
    "informational": 6,
    "info": 6,
    "debug": 7,
}


def severity(priority: str) -> int:
    """Syslog severity of a Falco priority name (any case); unknown names count as debug."""
    return SEVERITY.get(priority.lower(), 7)


class DeliveryError(Exception):
    """A batch stopped at one alert: ``delivered`` alerts before it went through."""

    def __init__(self, message: str, delivered: int = 0) -> None:
        super().__init__(message)
        self.delivered = delivered


class SinkConfigError(ValueError):
    """A mistake in a sink's settings: one line naming the key."""


@dataclass(frozen=True)
class LineFormat:
    """How line-oriented sinks (stdout, file, syslog, program) print an alert: Falco's text
    line, or its JSON object with ``json_output``."""

    json: bool = False
    options: OutputOptions = field(default_factory=OutputOptions)

    def line(self, alert: Alert) -> str:
        if self.json:
            return alert.to_json(self.options)
        return alert.text_line(iso8601=self.options.time_format_iso_8601)


class Sink(ABC):
    """A destination for alerts."""

    name: str = "sink"
    spooled: bool = True
    """False for sinks written inline by the detection thread (stdout), which cannot fail in
    a way a retry would fix."""

    def accepts(self, alert: Alert) -> bool:
        """Whether this sink wants the alert at all (e.g. a minimum priority)."""
        return True

    @abstractmethod
    def send(self, alerts: Sequence[Alert]) -> None:
        """Deliver in order; raise DeliveryError at the first failure."""

    def close(self) -> None:  # noqa: B027 - most sinks have nothing to release
        """Release connections, files and processes."""
