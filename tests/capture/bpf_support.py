"""Shared helpers for the live eBPF tests: the capability gate and event collection.

`require_bpf()` skips a test when this machine cannot run the probe (not root, no BTF, probe not
built and no toolchain to build it) — unless LANNER_REQUIRE_BPF=1, where it FAILS instead, so CI
cannot silently skip the real-kernel tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from lanner.capture.ebpf.source import PROBE_OBJECT, ProbeError, ProbeSource, check_environment
from lanner.events.event import Event
from lanner.state.selection import STATE_EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]
REQUIRE_BPF = os.environ.get("LANNER_REQUIRE_BPF", "") == "1"


@cache
def _unavailable_reason() -> str | None:
    if not PROBE_OBJECT.exists():
        build = subprocess.run(
            ["bash", str(ROOT / "scripts" / "build-probe.sh")],
            check=False,
            capture_output=True,
            text=True,
        )
        if build.returncode != 0:
            return f"probe build failed: {build.stderr.strip()}"
    reason = check_environment()
    if reason:
        return reason
    try:  # the real capability probe: load, attach and detach the probe once
        ProbeSource([]).close()
    except ProbeError as exc:
        return str(exc)
    return None


def require_bpf() -> None:
    reason = _unavailable_reason()
    if reason is None:
        return
    if REQUIRE_BPF:
        pytest.fail(f"LANNER_REQUIRE_BPF=1 but eBPF is unavailable: {reason}")
    pytest.skip(f"eBPF unavailable: {reason}")


def collect(
    src: ProbeSource, until: Callable[[list[Event]], bool], timeout: float = 5.0
) -> list[Event]:
    """Poll the probe until `until(events so far)` holds or the timeout passes."""
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events.extend(src.poll())
        if until(events):
            break
        time.sleep(0.01)
    return events


def drain(src: ProbeSource, settle: float = 0.1) -> list[Event]:
    """Everything the probe emits until it stays quiet for `settle` seconds."""
    events: list[Event] = []
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < settle:
        batch = src.poll()
        if batch:
            events.extend(batch)
            quiet_since = time.monotonic()
        else:
            time.sleep(0.01)
    return events


def params(event: Event) -> dict[str, object]:
    """All parameters of an event by name (decoded)."""
    return {event.info.params[i].name: event.param(i) for i in range(event.nparams)}


@pytest.fixture(scope="module", name="probe")
def state_probe() -> Iterator[ProbeSource]:
    """A probe selecting what the state layer needs, shared by a test module's tests (import
    it into the module: `from tests.capture.bpf_support import state_probe`)."""
    require_bpf()
    with ProbeSource(STATE_EVENT_TYPES) as src:
        yield src


def start_capture(out: Path, filter_text: str, *options: str) -> subprocess.Popen[str]:
    """`lanner capture -w out FILTER` running (up to 60 s), once it says it records."""
    capture = subprocess.Popen(
        [sys.executable, "-m", "lanner", "capture", "-w", str(out), filter_text,
         "--duration", "60", *options],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert capture.stderr is not None
    started = capture.stderr.readline()
    assert "recording to" in started, started + capture.stderr.read()
    return capture


def stop_capture(capture: subprocess.Popen[str]) -> str:
    """Ctrl-C a `start_capture`; its summary (it must end cleanly)."""
    assert capture.stderr is not None
    capture.send_signal(signal.SIGINT)
    summary = capture.stderr.read()
    assert capture.wait(timeout=60) == 0, summary
    return summary
