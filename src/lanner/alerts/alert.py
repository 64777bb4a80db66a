"""The Alert record and its two Falco shapes: the text line and the JSON object.

Text: ``<time>: <Priority> <output>`` with the time as ``HH:MM:SS.nnnnnnnnn`` or, with
``time_format_iso_8601``, ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000``. JSON: Falco's keys in
Falco's order (``hostname, output, priority, rule, source, tags, time, output_fields``),
the time as ISO 8601 UTC with nanoseconds and ``Z``. Times are printed in UTC.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lanner.rules.ruleset import CompiledRule

_NS = 1_000_000_000


def _split(time_ns: int) -> tuple[datetime, int]:
    seconds, nanos = divmod(time_ns, _NS)
    return datetime.fromtimestamp(seconds, UTC), nanos


def time_iso8601(time_ns: int) -> str:
    """``2016-08-04T16:17:57.881781397+0000`` (the text line's ISO form)."""
    moment, nanos = _split(time_ns)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos:09d}+0000"


def time_json(time_ns: int) -> str:
    """``2016-08-04T16:17:57.881781397Z`` (the JSON ``time`` key)."""
    moment, nanos = _split(time_ns)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def time_clock(time_ns: int) -> str:
    """``16:17:57.881781397`` (the text line's default form)."""
    moment, nanos = _split(time_ns)
    return f"{moment:%H:%M:%S}.{nanos:09d}"


def default_hostname() -> str:
    """``FALCO_HOSTNAME`` when set (as Falco honours it), else this machine's name."""
    return os.environ.get("FALCO_HOSTNAME") or socket.gethostname()


@dataclass
class OutputOptions:
    """Falco's output switches (falco.yaml names)."""

    time_format_iso_8601: bool = False
    json_include_output_property: bool = True
    json_include_tags_property: bool = True
    json_include_message_property: bool = False
    json_include_output_fields_property: bool = True


@dataclass
class Alert:
    """One rule match, ready to be printed, sent or stored."""

    time_ns: int
    rule: str
    priority: str
    """Falco's capitalised priority name: ``Warning``, ``Informational``..."""
    source: str
    hostname: str
    output: str
    """The rule's rendered output, without the time/priority prefix."""
    output_fields: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def text_line(self, *, iso8601: bool = False) -> str:
        """``<time>: <Priority> <output>``."""
        stamp = time_iso8601(self.time_ns) if iso8601 else time_clock(self.time_ns)
        return f"{stamp}: {self.priority} {self.output}"

    def to_falco_dict(self, options: OutputOptions | None = None) -> dict[str, Any]:
        """The JSON object Falco prints with ``json_output: true``."""
        opts = options or OutputOptions()
        data: dict[str, Any] = {"hostname": self.hostname}
        if opts.json_include_output_property:
            data["output"] = self.text_line(iso8601=opts.time_format_iso_8601)
        if opts.json_include_message_property:
            data["message"] = self.output
        data["priority"] = self.priority
        data["rule"] = self.rule
        data["source"] = self.source
        if opts.json_include_tags_property:
            data["tags"] = sorted(self.tags)
        data["time"] = time_json(self.time_ns)
        if opts.json_include_output_fields_property:
            data["output_fields"] = self.output_fields
        return data

    def to_json(self, options: OutputOptions | None = None) -> str:
        """One JSON line in Falco's shape."""
        return json.dumps(self.to_falco_dict(options), separators=(",", ":"), ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """Every attribute, for storage (the Falco shape plus ``id`` and the raw time)."""
        return {
            "id": self.id,
            "time_ns": self.time_ns,
            "rule": self.rule,
            "priority": self.priority,
            "source": self.source,
            "hostname": self.hostname,
            "output": self.output,
            "output_fields": self.output_fields,
            "tags": list(self.tags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """The alert :meth:`to_dict` described (as read back from the spool)."""
        return cls(
            time_ns=int(data["time_ns"]),
            rule=str(data["rule"]),
            priority=str(data["priority"]),
            source=str(data["source"]),
            hostname=str(data["hostname"]),
            output=str(data["output"]),
            output_fields=dict(data.get("output_fields") or {}),
            tags=tuple(data.get("tags") or ()),
            id=str(data["id"]),
        )

    def sidekick_payload(self, options: OutputOptions | None = None) -> dict[str, Any]:
        """Falco's JSON object plus ``uuid`` (this alert's id), as falcosidekick's payload."""
        data = self.to_falco_dict(options)
        data["uuid"] = self.id
        return data


def alert_for(
    rule: CompiledRule,
    event: Any,
    *,
    hostname: str | None = None,
    options: OutputOptions | None = None,
) -> Alert:
    """The alert ``rule`` raises on ``event`` (its output rendered, its fields extracted).

    As in Falco, ``output_fields`` also holds the time field of the line's prefix
    (``evt.time`` or ``evt.time.iso8601``) as an integer of nanoseconds.
    """
    time_ns = int(getattr(event, "ts", 0) or 0)
    iso = (options or OutputOptions()).time_format_iso_8601
    fields: dict[str, Any] = {"evt.time.iso8601" if iso else "evt.time": time_ns}
    fields.update(rule.output.output_fields(event))
    return Alert(
        time_ns=time_ns,
        rule=rule.name,
        priority=rule.priority.display,
        source=rule.source,
        hostname=hostname if hostname is not None else default_hostname(),
        output=rule.output.render(event),
        output_fields=fields,
        tags=rule.tags,
    )
