"""HTTP decoded from a real capture (sysdig-inspect's 502Error.scap: curl -> haproxy -> a
python backend, one reply malformed so haproxy answers 502), cross-checked against what
`sysdig -r` shows of the same payloads."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from lanner.cli.top_cmd import replay_metrics
from tests.conftest import IN_CI, compat_path
from tests.sysdig import sysdig_output

TRACE = ("scap", "gpl-sysdig-inspect", "502Error.scap")


def sysdig_messages(trace: Path) -> Counter[tuple[str, str, str]]:
    """(process, read|write, request method or response status) of each I/O that starts an
    HTTP message, per sysdig's own rendering of the captured buffers."""
    if shutil.which("sysdig") is None:
        if IN_CI:
            pytest.fail("sysdig missing in CI (scripts/install-deps.sh installs it)")
        pytest.skip("sysdig not installed")
    command = [
        "-r",
        str(trace),
        "-p",
        "%proc.name %evt.is_io_read %evt.buffer",
        "evt.dir=< and evt.is_io=true and fd.l4proto=tcp and evt.rawres>0",
    ]
    out = sysdig_output(*command)
    found: Counter[tuple[str, str, str]] = Counter()
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) < 3:
            continue
        proc, is_read, buffer = parts
        direction = "read" if is_read == "true" else "write"
        words = buffer.split(" ")
        if buffer.startswith("HTTP/1.") and len(words) > 1 and words[1][:3].isdigit():
            found[(proc, direction, words[1][:3])] += 1
        elif words[0] in ("GET", "POST", "PUT", "DELETE", "HEAD") and len(words) > 2:
            found[(proc, direction, words[0])] += 1
    return found


def test_http_counts_agree_with_sysdig() -> None:
    trace = compat_path(*TRACE)
    truth = sysdig_messages(trace)
    engine = replay_metrics(trace)
    decoded: Counter[tuple[str, str, str]] = Counter()
    for (_container, proc, role, method, _path), stats in engine.http.items():
        request_dir, response_dir = ("read", "write") if role == "server" else ("write", "read")
        decoded[(proc, request_dir, method)] += stats.requests
        for status, n in stats.statuses.items():
            decoded[(proc, response_dir, str(status))] += n
    assert decoded == truth


def test_502_is_counted_as_an_error_on_the_failing_endpoint() -> None:
    engine = replay_metrics(compat_path(*TRACE))
    front = engine.http[("host", "haproxy", "server", "GET", "/foo")]
    assert dict(front.statuses) == {502: 1} and front.errors == 1
    backend = engine.http[("host", "python", "server", "GET", "/foo")]
    assert dict(backend.statuses) == {200: 1}  # the backend believed it answered
    bar = engine.http[("host", "haproxy", "server", "GET", "/bar")]
    assert 502 not in bar.statuses and bar.statuses[200] > 0
    assert engine.listeners[("host", "haproxy", 80)] == 37


def test_http_counts_agree_with_sysdig_when_enters_pair() -> None:
    # The same cross-check with scheduler 'switch' events left out before the state layer,
    # which is what the state fix amounts to: the decoders agree with sysdig exactly.
    from lanner.capture.scap import ScapReader
    from lanner.metrics.aggregates import MetricsEngine
    from lanner.state.state import State

    trace = compat_path(*TRACE)
    truth = sysdig_messages(trace)
    state, engine = State(), MetricsEngine()
    with open(trace, "rb") as stream:
        for item in ScapReader(stream):
            if not isinstance(item, list):
                state.seed(item)
                continue
            batch = [e for e in item if e.type_name != "switch"]
            for event in batch:
                state.process(event)
            engine.process_batch(batch)
    engine.flush()
    decoded: Counter[tuple[str, str, str]] = Counter()
    for (_container, proc, role, method, _path), stats in engine.http.items():
        request_dir, response_dir = ("read", "write") if role == "server" else ("write", "read")
        decoded[(proc, request_dir, method)] += stats.requests
        for status, n in stats.statuses.items():
            decoded[(proc, response_dir, str(status))] += n
    assert truth[("haproxy", "write", "502")] == 1
    assert decoded == truth


def test_a_second_connect_completing_a_nonblocking_one_is_not_a_new_attempt() -> None:
    """haproxy connects non-blocking (EINPROGRESS) and, for some sockets, calls connect again
    to learn the outcome (0: established). Per sysdig, each distinct client port is one
    connection; each one that got to a 0 connect or a sent byte is established."""
    trace = compat_path(*TRACE)
    if shutil.which("sysdig") is None:
        pytest.skip("sysdig not installed")
    rows = sysdig_output(
        "-r",
        str(trace),
        "-p",
        "%evt.type %evt.rawres %fd.name",
        "proc.name=haproxy and evt.dir=< and fd.sip=192.168.0.2 and fd.sport=80",
    ).split("\n")
    tuples: set[str] = set()
    established: set[str] = set()
    second_connects = 0
    for row in rows:
        parts = row.split()
        if len(parts) != 3:
            continue
        kind, res, name = parts
        if kind == "connect":
            second_connects += name in tuples
            tuples.add(name)
        if (kind == "connect" and res == "0") or (kind == "sendto" and int(res) > 0):
            established.add(name)
    assert second_connects > 0  # the case this test is about is in the trace
    peer = replay_metrics(trace).peers[("host", "haproxy", "client", "192.168.0.2", 80)]
    assert peer.connect_attempts == len(tuples)
    assert peer.connect_ok == len(established)
    assert not peer.connect_failed
