"""One live `lanner run --json` (default rules) shared by every default-rule scenario.

Starting the probe costs seconds, so the session starts lanner once. Each test module performs
all its scenarios (the behaviour and its benign twin), then calls `live.settle()`: a sentinel
read whose alert, once seen, proves every earlier event went through the rules. Scenarios put a
unique token in an argument or a file name, so `tagged(alerts, token)` tells their alerts apart
from the machine's background activity and from the other scenarios.

Helper programs run from a scratch directory outside /tmp (`live.scratch`): a program run from
/tmp is a "Dropped binary executed" in its own right, which would blur "exactly this rule".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.capture.bpf_support import require_bpf
from tests.enrich.fixtures import containerd_cri

__all__ = ["containerd_cri"]

Alert = dict[str, Any]
PYTHON = "/usr/bin/python3.11"  # a real binary (not a pyenv shim) that any uid may run
SCRATCH_PARENT = Path("/var/lib")
LANNER = Path(sys.executable).with_name("lanner")
# Detection only: no performance metrics (less work per event, fewer drops on a busy machine)
# and no web endpoint to compete for a port with other runs.
RUN_OPTIONS = ("-o", "metrics.enabled=false", "-o", "webserver.enabled=false")


def token(label: str) -> str:
    """A marker unique to one scenario: lowercase, safe in argv, file names and shell."""
    return f"lt{label}{uuid.uuid4().hex[:8]}"


class LiveRun:
    """`lanner run --json` with the default rules, its alerts in a file as they come."""

    def __init__(self, work: Path) -> None:
        self.out = work / "alerts.jsonl"
        self.err = work / "stderr.txt"
        env = {**os.environ, "LANNER_STATE_DIR": str(work / "state")}
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [str(LANNER), "run", "--json", *RUN_OPTIONS], stdout=out, stderr=err, env=env
            )
        deadline = time.monotonic() + 90
        while "Live capture started" not in self.err.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"lanner run did not start: {self.err.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Make sure it goes, even on a loaded machine where draining the ring takes a while."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class LiveSession:
    """The shared lanner run, its scratch directory and the helpers scenarios need."""

    def __init__(self, run: LiveRun, scratch: Path) -> None:
        self.run = run
        self.scratch = scratch

    def alerts(self) -> list[Alert]:
        text = self.run.out.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def wait_for(self, needle: str, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.run.out.read_text():
                return True
            if self.run.proc.poll() is not None:
                pytest.fail(f"lanner run died: {self.run.err.read_text()[-2000:]}")
            time.sleep(0.1)
        return False

    def settle(self, timeout: float = 15.0, attempts: int = 3) -> list[Alert]:
        """All alerts so far, once every event before this call has been through the rules.

        The sentinel is tried again when its alert does not come: on a loaded machine the ring
        buffer may drop its events (lanner then reports the drops on stderr)."""
        for _ in range(attempts):
            mark = token("sentinel")
            secret = self.scratch / f".{mark}" / "id_rsa"
            secret.parent.mkdir()
            secret.write_text("not a key\n")
            subprocess.run(["cat", str(secret)], stdout=subprocess.DEVNULL, check=True)
            if self.wait_for(mark, timeout):
                time.sleep(0.3)  # batches of other CPUs that were in flight with the sentinel's
                return self.alerts()
        pytest.fail(f"the sentinel read never alerted: {self.run.err.read_text()[-2000:]}")

    def program(self, name: str, source: str = PYTHON) -> Path:
        """A copy of `source` (python by default) named `name` in the scratch directory."""
        target = self.scratch / "bin" / name
        target.parent.mkdir(exist_ok=True)
        if not target.exists():
            shutil.copy(source, target)
        return target


def tagged(alerts: Sequence[Alert], mark: str) -> list[Alert]:
    """Alerts whose output fields mention `mark` (command line, file name, parent...)."""
    return [a for a in alerts if any(mark in str(v) for v in a["output_fields"].values())]


def rules_of(alerts: Sequence[Alert]) -> set[str]:
    return {a["rule"] for a in alerts}


def only(alerts: Sequence[Alert], mark: str, rule: str) -> list[Alert]:
    """The scenario's alerts, asserting they come from `rule` and from no other rule."""
    mine = tagged(alerts, mark)
    assert mine, f"no alert for {mark}; rules seen: {sorted(rules_of(alerts))}"
    assert rules_of(mine) == {rule}, [(a["rule"], a["output"]) for a in mine]
    return mine


def none_for(alerts: Sequence[Alert], mark: str) -> None:
    """The benign twin `mark` raised no alert at all."""
    mine = tagged(alerts, mark)
    assert not mine, [(a["rule"], a["output"]) for a in mine]


@pytest.fixture(scope="session")
def live() -> Iterator[LiveSession]:
    require_bpf()
    work = Path(tempfile.mkdtemp(prefix="lanner-rules-"))
    scratch = Path(tempfile.mkdtemp(prefix="lanner-rules-", dir=SCRATCH_PARENT))
    run: LiveRun | None = None
    try:
        run = LiveRun(work)
        yield LiveSession(run, scratch)
    finally:
        if run is not None:
            run.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
