"""Replay a .scap trace through State and compare raw state per event against sysdig 0.29.3's
reference JSONL (one object per visible event, keyed by evt.num).

Run as a script for a per-field agreement table:
    .venv/bin/python tests/state/sysdig_compare.py [trace-name ...]
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lanner.capture.scap import ScapReader
from lanner.state.fds import FdInfo
from lanner.state.state import State
from lanner.state.threads import ThreadInfo

ROOT = Path(__file__).resolve().parents[2]
COMPAT = Path(os.environ.get("LANNER_COMPAT_DIR", ROOT.parent / "shared" / "compat"))
REFERENCE = COMPAT / "sysdig-0.29.3-reference"

# (trace file under compat/scap, reference stem)
TRACES = {
    "cat_write": ("falco-0.34.1/cat_write.scap", "falco-0.34.1__cat_write"),
    "connect_localhost": ("falco-0.34.1/connect_localhost.scap", "falco-0.34.1__connect_localhost"),
    "open-multiple-files": (
        "falco-0.34.1/open-multiple-files.scap",
        "falco-0.34.1__open-multiple-files",
    ),
    "ping_sendto": ("falco-0.34.1/ping_sendto.scap", "falco-0.34.1__ping_sendto"),
    "syscall": ("falco-0.34.1/syscall.scap", "falco-0.34.1__syscall"),
    "privileged": ("falco-psp-8dd4beac/privileged.scap", "falco-psp-8dd4beac__privileged"),
    "run_as_user_0": (
        "falco-psp-8dd4beac/run_as_user_0_container.scap",
        "falco-psp-8dd4beac__run_as_user_0_container",
    ),
    "run_as_user_65534": (
        "falco-psp-8dd4beac/run_as_user_65534_container.scap",
        "falco-psp-8dd4beac__run_as_user_65534_container",
    ),
    "write_tmp_test": (
        "falco-psp-8dd4beac/write_tmp_test.scap",
        "falco-psp-8dd4beac__write_tmp_test",
    ),
    "502Error": ("gpl-sysdig-inspect/502Error.scap", "gpl-sysdig-inspect__502Error"),
    "curl_google": ("libs/curl_google.scap", "libs__curl_google"),
    "sample": ("libs/sample.scap", "libs__sample"),
    "single_ipv6_conn": ("libs/single_ipv6_conn.scap", "libs__single_ipv6_conn"),
    "test_ipv6_client": ("libs/test_ipv6_client.scap", "libs__test_ipv6_client"),
}


def _main(state: State, t: ThreadInfo) -> ThreadInfo:
    return state.threads.main_thread(t) or t


def _parent(state: State, t: ThreadInfo) -> ThreadInfo | None:
    return state.threads.parent(_main(state, t))


def _aname(n: int) -> Callable[[State, Any], Any]:
    def get(state: State, event: Any) -> Any:
        t = event.thread
        if t is None:
            return None
        for i, ancestor in enumerate(state.threads.ancestors(_main(state, t)), start=1):
            if i == n:
                return ancestor.comm
        return None

    return get


def _thread_field(get: Callable[[State, ThreadInfo], Any]) -> Callable[[State, Any], Any]:
    def extract(state: State, event: Any) -> Any:
        return None if event.thread is None else get(state, event.thread)

    return extract


def _fd_field(get: Callable[[FdInfo], Any]) -> Callable[[State, Any], Any]:
    def extract(state: State, event: Any) -> Any:
        return None if event.fd is None else get(event.fd)

    return extract


def _pname(state: State, t: ThreadInfo) -> Any:
    parent = _parent(state, t)
    return None if parent is None else parent.comm


# Field → how to read it straight from the raw state (no field extractor involved).
FIELDS: dict[str, Callable[[State, Any], Any]] = {
    # The event's own tid: libsinsp shows it even where it keeps no thread (switch events).
    "thread.tid": lambda s, e: e.tid,
    "proc.pid": _thread_field(lambda s, t: t.pid),
    "proc.ppid": _thread_field(lambda s, t: _main(s, t).ptid),
    "proc.name": _thread_field(lambda s, t: t.comm),
    "proc.exe": _thread_field(lambda s, t: t.exe),
    "proc.args": _thread_field(lambda s, t: " ".join(t.args)),
    "proc.cwd": _thread_field(lambda s, t: t.cwd),
    "proc.pname": _thread_field(_pname),
    "proc.aname[2]": _aname(2),
    "proc.aname[3]": _aname(3),
    "fd.num": lambda s, e: e.fdnum,
    "fd.name": _fd_field(lambda f: f.name),
    "fd.type": _fd_field(lambda f: f.typestring or None),
    "fd.typechar": _fd_field(lambda f: f.typechar),
    "fd.sip": _fd_field(lambda f: f.sip),
    "fd.sport": _fd_field(lambda f: f.sport),
    "fd.cip": _fd_field(lambda f: f.cip),
    "fd.cport": _fd_field(lambda f: f.cport),
    "fd.connected": _fd_field(lambda f: f.connected),
    "fd.name_changed": _fd_field(lambda f: f.name_changed),
}

# Fields the reference computes for a missing fd/thread from the event alone (sysdig's
# "null fd" extraction); raw state has nothing to say there, so those rows are skipped.
FD_FIELDS = {k for k in FIELDS if k.startswith("fd.") and k != "fd.num"}


def replay(trace: Path) -> Iterator[tuple[State, Any]]:
    """Seed a State from the trace's snapshot records and yield (state, event) per event,
    after the state has processed it."""
    state = State()
    for item in ScapReader(trace):
        if isinstance(item, list):
            for event in item:
                state.process(event)
                yield state, event
        else:
            state.seed(item)


RefKey = tuple[int, str, str]


def load_reference(stem: str) -> dict[RefKey, dict[str, Any]]:
    """Reference rows keyed by (timestamp, type, direction): evt.num counts differ between
    sysdig and our reader on some traces (sysdig numbers internal events too)."""
    path = REFERENCE / f"{stem}.fields.jsonl.gz"
    with gzip.open(path, "rt") as stream:
        rows = (json.loads(line) for line in stream if line.strip())
        return {(row["evt.rawtime"], row["evt.type"], row["evt.dir"]): row for row in rows}


def ref_row(reference: dict[RefKey, dict[str, Any]], event: Any) -> dict[str, Any] | None:
    return reference.get((event.ts, event.type_name, event.direction))


def _normal(field: str, value: Any) -> Any:
    if field == "proc.args" and value == "":
        return None
    if field == "fd.sport" and value == 0:
        return None
    if field == "fd.cport" and value == 0:
        return None
    return value


def compare(name: str, limit_mismatches: int = 5) -> tuple[Counter[str], Counter[str], list[str]]:
    """(agree, total, sample mismatches) per field for one trace."""
    trace_rel, stem = TRACES[name]
    reference = load_reference(stem)
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples: list[str] = []
    per_field_samples: Counter[str] = Counter()
    for state, event in replay(COMPAT / "scap" / trace_rel):
        row = ref_row(reference, event)
        if row is None:
            continue
        for field, get in FIELDS.items():
            expected = row.get(field)
            if field in FD_FIELDS and event.fd is None:
                continue
            if field.startswith(("proc.", "thread.")) and expected is None:
                continue
            got = get(state, event)
            total[field] += 1
            if _normal(field, got) == _normal(field, expected):
                agree[field] += 1
            elif per_field_samples[field] < limit_mismatches:
                per_field_samples[field] += 1
                samples.append(
                    f"{name} #{event.num} {event.direction}{event.type_name} {field}: "
                    f"got {got!r} want {expected!r}"
                )
    return agree, total, samples


def main(names: list[str]) -> int:
    grand_agree: Counter[str] = Counter()
    grand_total: Counter[str] = Counter()
    for name in names or list(TRACES):
        agree, total, samples = compare(name)
        grand_agree.update(agree)
        grand_total.update(total)
        bad = {f: f"{agree[f]}/{total[f]}" for f in total if agree[f] != total[f]}
        print(f"{name}: {sum(agree.values())}/{sum(total.values())} {bad}")
        for line in samples:
            print("   ", line)
    print("--- per field")
    for field in FIELDS:
        if grand_total[field]:
            pct = 100.0 * grand_agree[field] / grand_total[field]
            print(f"{field:16} {grand_agree[field]:6}/{grand_total[field]:<6} {pct:6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
