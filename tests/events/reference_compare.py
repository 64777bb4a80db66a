"""Compare our rendering of event params with sysdig 0.29.3's `evt.args` (reference JSONL).

sysdig decorates some values with state it keeps (fd names, thread names, user names,
resolved paths, fd type letters in poll lists); the comparison accepts a decoration in
parentheses after exactly those values, and nothing else.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lanner.capture.scap import ScapReader
from lanner.events.event import Event
from lanner.events.table import GENERIC_E, GENERIC_X, ParamType

DECORATED = {
    ParamType.FD,
    ParamType.PID,
    ParamType.UID,
    ParamType.GID,
    ParamType.FSPATH,
    ParamType.FSRELPATH,
    ParamType.ERRNO,
}


def _fdlists_match(theirs: str, ours: str) -> bool:
    """sysdig puts the fd's type letter (from its fd table) between ':' and the flags."""
    their_items, our_items = theirs.split(), ours.split()
    if len(their_items) != len(our_items):
        return False
    for their, our in zip(their_items, our_items, strict=True):
        fd, _, flags = our.partition(":")
        their_fd, _, their_rest = their.partition(":")
        if fd != their_fd or not their_rest.endswith(flags) or len(their_rest) > len(flags) + 1:
            return False
    return True


def reference_lines(path: Path) -> Iterator[dict[str, object]]:
    with gzip.open(path, "rt") as handle:
        for line in handle:
            yield json.loads(line)


def _skip_decoration(text: str, pos: int) -> int:
    """Skip one balanced "(...)" at `pos`; return the position after it (or `pos`)."""
    if pos >= len(text) or text[pos] != "(":
        return pos
    depth = 0
    for index in range(pos, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    return pos


# sysdig 0.29.3's event table ends before this code: it skips (and does not number) events
# with higher codes, such as the user/group meta events of sample.scap.
SYSDIG_0_29_EVENT_MAX = 336


def args_match(event: Event, reference: str) -> bool:
    if event.code in (GENERIC_E, GENERIC_X):
        return reference == event.render_args()
    pos = 0
    for i in range(event.nparams):
        ours = f"{event.param_name(i)}={event.render_param(i)}"
        info = event.info.params[i] if i < len(event.info.params) else None
        ptype = info.type if info is not None else None
        if ptype == ParamType.FDLIST:
            rest = reference[pos:]
            name = f"{event.param_name(i)}="
            if not rest.startswith(name):
                return False
            # The param ends where the next "name=" begins (or at the end).
            following = [f" {event.param_name(j)}=" for j in range(i + 1, event.nparams)]
            end = min([rest.find(f) for f in following if rest.find(f) >= 0] or [len(rest) - 1])
            if not _fdlists_match(rest[len(name) : end], event.render_param(i)):
                return False
            pos += end + 1
            continue
        if not reference.startswith(ours, pos):
            return False
        pos += len(ours)
        if ptype in DECORATED:
            pos = _skip_decoration(reference, pos)
        if not reference.startswith(" ", pos):
            return False
        pos += 1
    return pos == len(reference)


@dataclass
class Agreement:
    events: int = 0
    args_equal: int = 0
    type_mismatch: list[str] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)


def compare_trace(trace: Path, reference: Path) -> Agreement:
    ours: dict[int, Event] = {}
    num = 0
    for batch in ScapReader(trace).events():
        for event in batch:
            if event.code < SYSDIG_0_29_EVENT_MAX:
                num += 1
                ours[num] = event
    result = Agreement()
    for ref in reference_lines(reference):
        num = int(str(ref["evt.num"]))
        result.events += 1
        found = ours.get(num)
        if found is None:
            result.missing.append(num)
            continue
        event = found
        if (event.type_name, event.direction) != (ref["evt.type"], ref["evt.dir"]):
            result.type_mismatch.append(
                f"#{num}: {event.direction}{event.type_name} vs {ref['evt.dir']}{ref['evt.type']}"
            )
            continue
        text = str(ref["evt.args"] or "")
        if args_match(event, text):
            result.args_equal += 1
        else:
            result.differing.append(
                f"#{num} {event.type_name}: ours {event.render_args()!r} sysdig {text!r}"
            )
    return result
