"""Events whose parameters are all integers decode in one struct call; the values must be
exactly those of the one-parameter-at-a-time path, whatever the sizes on the wire."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from lanner.capture.scap import ScapReader
from lanner.events.decode import decode_param
from lanner.events.event import Event
from lanner.events.table import EVENT_TABLE, ParamType, codes_for_name
from tests.conftest import COMPAT, compat_path

TRACES = sorted(str(p.relative_to(COMPAT / "scap")) for p in (COMPAT / "scap").glob("*/*.scap"))


def _one_by_one(event: Event) -> list[Any]:
    params = event.info.params
    return [
        decode_param(params[i], event.param_raw(i)) if i < len(params) else event.param_raw(i)
        for i in range(event.nparams)
    ]


def _code(name: str, direction: str) -> int:
    return next(c for c in codes_for_name(name) if EVENT_TABLE[c].direction == direction)


@pytest.mark.parametrize("trace", TRACES)
def test_corpus_values_match_the_one_by_one_decode(trace: str) -> None:
    path = compat_path("scap", *trace.split("/"))
    fixed = 0
    for batch in ScapReader(path).events():
        for event in batch:
            values = [event.param(i) for i in range(event.nparams)]
            assert values == _one_by_one(event), event
            fixed += event._decode_fixed() is not None
    assert fixed > 0


def test_a_32_bit_fd_reads_unsigned_and_an_empty_value_is_none() -> None:
    close_enter = EVENT_TABLE[_code("close", ">")]
    assert close_enter.params[0].type == ParamType.FD
    event = Event.from_params(close_enter, [struct.pack("<i", -1)])
    assert event.param(0) == 0xFFFFFFFF
    empty = Event.from_params(close_enter, [b""])
    assert empty.param(0) is None
    eight = Event.from_params(close_enter, [struct.pack("<q", -1)])
    assert eight.param(0) == -1


def test_lengths_running_past_the_event_fall_back_to_the_clamped_decode() -> None:
    close_exit = EVENT_TABLE[_code("close", "<")]
    event = Event.from_params(close_exit, [struct.pack("<q", 5)])
    # Same length array, but the event ends before its value does.
    cut = Event(1, 0, 0, 0, close_exit, 1, event._buf, 0, len(event._buf) - 3)
    assert event.param(0) == 5
    assert cut.param(0) == decode_param(close_exit.params[0], cut.param_raw(0))
    assert cut.param_raw(0) == struct.pack("<q", 5)[:5]


def test_events_with_other_types_keep_the_lazy_path() -> None:
    open_exit = EVENT_TABLE[_code("open", "<")]
    params = [struct.pack("<q", 3), b"/etc/passwd\0"] + [b""] * (open_exit.nparams - 2)
    event = Event.from_params(open_exit, params)
    assert event._decode_fixed() is None
    assert (event.param(0), event.param(1)) == (3, "/etc/passwd")
