"""Replay a .scap trace through reader → state → field extractors, and read sysdig's
reference rows for it. Shared by the field-agreement tests.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lanner.capture.scap import ScapReader
from lanner.enrich.enable import enable_containers
from lanner.events.event import Event
from lanner.fields import default_registry
from lanner.fields.registry import Extractor
from lanner.state.state import State, should_deliver

# sysdig 0.29.3's event table stops below this code: it neither shows nor numbers the events
# with higher codes (the user/group/async meta events of newer captures such as
# libs/sample.scap), so its evt.num skips them.
SYSDIG_0_29_EVENT_LIMIT = 336


def replay(trace: Path, legacy: bool = True) -> Iterator[Event]:
    """Every delivered event of `trace`, right after the state has processed it.

    legacy=True delivers enter and exit events both, as sysdig and Falco <= 0.41 show them.
    Field values must be read before asking for the next event: the state moves on.
    """
    state = State()
    # As `lanner replay` does: container ids from cgroups, metadata from the trace's events.
    enricher = enable_containers(state, cri_socket=None, docker_socket=None).enricher
    for item in enricher.with_container_events(ScapReader(trace)):
        if isinstance(item, list):
            for event in item:
                state.process(event)
                if should_deliver(event, legacy):
                    yield event
        else:
            state.seed(item)


def sysdig_numbered(events: Iterator[Event]) -> Iterator[tuple[int, Event]]:
    """(number sysdig 0.29.3 gives the event, event) for the events sysdig shows."""
    num = 0
    for event in events:
        if event.code < SYSDIG_0_29_EVENT_LIMIT:
            num += 1
            yield num, event


def reference_rows(path: Path) -> dict[int, dict[str, Any]]:
    """The reference JSONL (one object per event, null = unavailable) keyed by evt.num."""
    with gzip.open(path, "rt") as stream:
        rows = (json.loads(line) for line in stream if line.strip())
        return {int(row["evt.num"]): row for row in rows}


def reference_fields(fields_txt: Path) -> list[str]:
    """Field names from FIELDS.txt (a sysdig -p format: ``*%evt.num %evt.rawtime ...``)."""
    return [word.lstrip("*%") for word in fields_txt.read_text().split()]


def bind_field(spec: str) -> Extractor:
    """The extractor of a field as written in a format: ``proc.aname[2]``, ``evt.arg.name``."""
    name, arg = spec, None
    if spec.endswith("]") and "[" in spec:
        name, _, rest = spec.partition("[")
        arg = rest[:-1]
    resolved = default_registry().resolve(name, arg)
    if resolved is None:
        raise KeyError(f"unknown field {spec}")
    info, bound_arg = resolved
    return info.bind(bound_arg)
