"""In-reader event selection: skipped events are counted and numbered, never built; the
notes (`after_skip`), unknown threads, barriers and generic-name filtering."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanner.capture.scap import EventSelection, ScapReader
from lanner.events.event import Event, EventBatch
from lanner.events.table import GENERIC_E, GENERIC_X, codes_for_name
from tests.conftest import compat_path

# One trace of each event block kind: EV (no nparams) and EV_V2.
TRACES = ["falco-0.34.1/cat_write", "falco-psp-8dd4beac/run_as_user_0_container"]


def _trace(name: str) -> Path:
    group, stem = name.split("/")
    return compat_path("scap", group, f"{stem}.scap")


def _events(reader: ScapReader) -> tuple[list[Event], list[EventBatch]]:
    events: list[Event] = []
    batches: list[EventBatch] = []
    for batch in reader.events():
        assert isinstance(batch, EventBatch)
        batches.append(batch)
        events.extend(batch)
    return events, batches


def _codes(*names: str) -> frozenset[int]:
    return frozenset(code for name in names for code in codes_for_name(name))


@pytest.mark.parametrize("trace", TRACES)
def test_only_wanted_codes_are_built_with_their_full_read_numbers(trace: str) -> None:
    everything, _ = _events(ScapReader(_trace(trace)))
    wanted = _codes("open", "openat", "close", "write")
    reader = ScapReader(_trace(trace), batch_size=16, wanted_codes=wanted)
    kept, batches = _events(reader)
    expected = [e for e in everything if e.code in wanted]
    assert expected  # the trace has some of them
    assert [(e.num, e.ts, e.tid, e.code) for e in kept] == [
        (e.num, e.ts, e.tid, e.code) for e in expected
    ]
    assert [e.param(0) for e in kept] == [e.param(0) for e in expected]
    # Batches account for every event read, skipped or not; stats count them all too.
    assert sum(b.read for b in batches) == len(everything)
    assert all(b.read >= len(b) for b in batches)
    assert reader.stats.events == len(everything)
    full = ScapReader(_trace(trace))
    list(full)
    assert reader.stats.events_by_code == full.stats.events_by_code


@pytest.mark.parametrize("trace", TRACES)
def test_the_next_kept_event_of_a_thread_notes_skipped_ones(trace: str) -> None:
    everything, _ = _events(ScapReader(_trace(trace)))
    wanted = _codes("read", "write", "close")
    neutral = _codes("switch")
    kept, _ = _events(ScapReader(_trace(trace), selection=EventSelection(wanted, None, neutral)))
    assert kept
    skipped_since: dict[int, bool] = {}
    expected = []
    for event in everything:
        if event.code in wanted:
            expected.append(skipped_since.pop(event.tid, False))
        elif event.code not in neutral:
            skipped_since[event.tid] = True
    assert [e.after_skip for e in kept] == expected
    assert any(expected) and not all(expected)


def test_events_of_unknown_threads_are_kept() -> None:
    path = _trace("falco-0.34.1/cat_write")
    everything, _ = _events(ScapReader(path))
    tids = sorted({e.tid for e in everything})
    known = set(tids[1:])
    wanted = _codes("close")
    selection = EventSelection(wanted, known_tids=known)
    kept, _ = _events(ScapReader(path, selection=selection))
    # The first skippable event of the unknown thread is delivered: processing it would make
    # the thread known, so the later ones are skipped (here nothing processes the batches).
    first_unknown = next(e.num for e in everything if e.tid == tids[0] and e.code not in wanted)
    expected = [e.num for e in everything if e.code in wanted or e.num == first_unknown]
    assert [e.num for e in kept] == expected


def test_a_barrier_event_ends_its_batch() -> None:
    path = _trace("falco-0.34.1/cat_write")
    barrier = _codes("execve")
    selection = EventSelection(_codes("execve", "open", "close", "read"), barrier_codes=barrier)
    _, batches = _events(ScapReader(path, selection=selection))
    ends = [b[-1].code in barrier for b in batches if b]
    inside = [e.code in barrier for b in batches for e in b[:-1]]
    assert any(ends)
    assert not any(inside)


def test_generic_events_are_kept_by_syscall_name() -> None:
    path = _trace("libs/sample")
    everything, _ = _events(ScapReader(path))
    generic = [e for e in everything if e.code in (GENERIC_E, GENERIC_X)]
    names = {e.type_name for e in generic}
    assert len(names) >= 2
    wanted_name = sorted(names)[0]
    selection = EventSelection({GENERIC_E, GENERIC_X}, wanted_generic={wanted_name})
    kept, _ = _events(ScapReader(path, selection=selection))
    assert [e.num for e in kept] == [e.num for e in generic if e.type_name == wanted_name]


def test_without_selection_every_event_is_kept_and_none_is_noted() -> None:
    path = _trace("falco-0.34.1/cat_write")
    events, batches = _events(ScapReader(path, batch_size=50))
    assert [e.num for e in events] == list(range(1, len(events) + 1))
    assert not any(e.after_skip for e in events)
    assert [b.read for b in batches] == [len(b) for b in batches]


def test_quiet_events_are_skipped_without_a_note_once_their_thread_is_known() -> None:
    path = _trace("falco-psp-8dd4beac/run_as_user_0_container")
    everything, _ = _events(ScapReader(path))
    wanted = _codes("read", "write")
    quiet = _codes("switch")
    tids = sorted({e.tid for e in everything if e.code in quiet})
    known = {e.tid for e in everything} - {tids[0]}
    selection = EventSelection(wanted, quiet_codes=quiet, known_tids=known)
    kept, _ = _events(ScapReader(path, selection=selection))
    # The model: the first skippable event of the unknown thread is delivered (nothing
    # processes the batches, so only the reader's own bookkeeping makes it known); quiet
    # events leave no note, other skipped ones do.
    skipped_since: dict[int, bool] = {}
    expected = []
    seen_unknown = False
    for event in everything:
        first_unknown = event.tid == tids[0] and not seen_unknown and event.code not in wanted
        if event.code in wanted or first_unknown:
            seen_unknown = seen_unknown or first_unknown
            expected.append((event.num, skipped_since.pop(event.tid, False)))
        elif event.code not in quiet:
            skipped_since[event.tid] = True
    assert [(e.num, e.after_skip) for e in kept] == expected
    assert any(note for _num, note in expected)
    assert any(e.code in quiet for e in kept)
