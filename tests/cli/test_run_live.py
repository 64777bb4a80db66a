"""`lanner run` end to end on the live kernel: real processes, the default rules, JSON alerts.

Each scenario performs a behaviour (harmless: temp dirs, reads) and a benign twin; the test
checks the right rule fired with the right fields for the behaviour and that the twin did not
fire. Runs as root with eBPF; with LANNER_REQUIRE_BPF=1 (CI) a missing capability fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.capture.bpf_support import require_bpf

pytestmark = pytest.mark.bpf
LANNER = Path(sys.executable).with_name("lanner")


class LiveRun:
    """A `lanner run --json` subprocess; alerts collected when it stops."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.out = tmp / "alerts.jsonl"
        self.err = tmp / "stderr.txt"
        self.proc = subprocess.Popen(
            [str(LANNER), "run", "--json", *args],
            stdout=self.out.open("w"),
            stderr=self.err.open("w"),
        )
        deadline = time.monotonic() + 60
        while "Live capture started" not in self.err.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"lanner run did not start: {self.err.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> list[dict[str, Any]]:
        time.sleep(0.5)  # let the last events reach the ring
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("lanner run did not exit on SIGTERM")
        assert code == 0, self.err.read_text()[-2000:]
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    require_bpf()
    tmp = tmp_path_factory.mktemp("live")
    run = LiveRun(tmp)
    work = tmp / "work"
    work.mkdir()
    # Behaviours.
    subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL, check=True)
    dropped = Path("/tmp") / f"lanner-dropped-{os.getpid()}"
    shutil.copy("/bin/true", dropped)
    subprocess.run([str(dropped), "--lanner-marker"], check=True)
    bindir = Path("/usr/local/bin") / f"lanner-test-{os.getpid()}"
    subprocess.run(["sh", "-c", f"echo x > {bindir}"], check=True)
    # Benign twins.
    subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL, check=True)
    subprocess.run(["/bin/true", "--lanner-benign"], check=True)
    subprocess.run(["sh", "-c", f"echo x > {work / 'ok.txt'}"], check=True)
    try:
        yield run.stop()
    finally:
        dropped.unlink(missing_ok=True)
        bindir.unlink(missing_ok=True)


def _by_rule(alerts: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["rule"] == rule]


def test_sensitive_read_fires_with_process_fields(alerts: list[dict[str, Any]]) -> None:
    hits = [
        a
        for a in _by_rule(alerts, "Sensitive file read by an unexpected program")
        if a["output_fields"]["proc.cmdline"] == "cat /etc/shadow"
    ]
    assert hits, [a["rule"] for a in alerts]
    fields = hits[0]["output_fields"]
    assert fields["fd.name"] == "/etc/shadow"
    assert fields["proc.name"] == "cat"
    assert fields["user.name"] == "root" and fields["user.uid"] == 0
    assert fields["container.id"] == "host"
    assert hits[0]["priority"] == "Warning" and "T1003.008" in hits[0]["tags"]
    # The benign twin: reading /etc/hostname is not sensitive.
    assert not any("/etc/hostname" in str(a["output_fields"].get("fd.name")) for a in alerts)


def test_dropped_binary_fires_only_for_the_tmp_copy(alerts: list[dict[str, Any]]) -> None:
    hits = _by_rule(alerts, "Dropped binary executed")
    marked = [a for a in hits if "--lanner-marker" in a["output_fields"]["proc.cmdline"]]
    assert marked and marked[0]["output_fields"]["proc.exepath"].startswith("/tmp/lanner-dropped-")
    assert not [a for a in hits if "--lanner-benign" in a["output_fields"]["proc.cmdline"]]


def test_write_below_binary_dir(alerts: list[dict[str, Any]]) -> None:
    hits = _by_rule(alerts, "Write below a binary directory")
    assert any(
        str(a["output_fields"]["fd.name"]).startswith("/usr/local/bin/lanner-test-") for a in hits
    ), [a["output_fields"] for a in hits]
    assert not any("ok.txt" in str(a["output_fields"].get("fd.name")) for a in alerts)
