"""`lanner run` lifecycle: SIGHUP reloads the rules (and keeps them when the new file is broken),
and a user without the privileges gets one clear line instead of a traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.capture.bpf_support import require_bpf

pytestmark = pytest.mark.bpf
LANNER = Path(sys.executable).with_name("lanner")

RULE = """
- rule: {name}
  desc: test rule
  condition: evt.type in (open, openat, openat2) and fd.name = {path}
  output: {name} opened %fd.name by %proc.cmdline
  priority: WARNING
"""


def _wait_for(path: Path, needle: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while needle not in path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"never saw {needle!r}: {path.read_text()[-2000:]}")
        time.sleep(0.1)


def test_sighup_reloads_rules_and_keeps_them_when_broken(tmp_path: Path) -> None:
    require_bpf()
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("1")
    second.write_text("2")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(name="first_rule", path=first))
    out, err = tmp_path / "out.jsonl", tmp_path / "err.txt"
    env = {**os.environ, "LANNER_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [str(LANNER), "run", "--json", "-r", str(rules), "-o", "webserver.enabled=false"],
        stdout=out.open("w"),
        stderr=err.open("w"),
        env=env,
    )
    try:
        _wait_for(err, "Live capture started", proc)
        # Reload with a second rule added.
        rules.write_text(
            RULE.format(name="first_rule", path=first)
            + RULE.format(name="second_rule", path=second)
        )
        proc.send_signal(signal.SIGHUP)
        _wait_for(err, "Rules reloaded", proc)
        subprocess.run(["cat", str(first), str(second)], stdout=subprocess.DEVNULL, check=True)
        # A broken file on the next reload: the rules in force stay.
        rules.write_text("- rule: broken\n  condition: evt.type = \n")
        proc.send_signal(signal.SIGHUP)
        _wait_for(err, "Rules reload failed", proc)
        subprocess.run(["cat", str(second)], stdout=subprocess.DEVNULL, check=True)
        time.sleep(0.5)
    finally:
        proc.terminate()
        code = proc.wait(timeout=30)
    assert code == 0, err.read_text()[-2000:]
    alerts = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    by_rule: dict[str, int] = {}
    for alert in alerts:
        if alert["output_fields"].get("proc.cmdline", "").startswith("cat "):
            by_rule[alert["rule"]] = by_rule.get(alert["rule"], 0) + 1
    assert by_rule.get("first_rule") == 1, by_rule
    # Once after the first reload, once more after the failed one (old rules kept).
    assert by_rule.get("second_rule") == 2, by_rule


def test_without_privileges_one_clear_line(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root to drop to an unprivileged user")
    done = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            str(LANNER),
            "run",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("lanner: cannot start live capture:")
    assert "root" in lines[-1] or "CAP_BPF" in lines[-1]


LOAD = """
import os, time
end = time.monotonic() + 60
while time.monotonic() < end:
    for _ in range(1000):
        os.close(os.open("/etc/hostname", os.O_RDONLY))
"""


def test_sigterm_under_sustained_load_drains_and_exits(tmp_path: Path) -> None:
    """The drain after SIGTERM reads what the kernel already wrote; with the probe still
    emitting, a busy node keeps the ring from ever being empty. The probe is paused first, so
    the drain ends however busy the node is."""
    require_bpf()
    err = tmp_path / "stderr.txt"
    proc = subprocess.Popen(
        [str(LANNER), "run", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=err.open("w"),
        env={**os.environ, "LANNER_STATE_DIR": str(tmp_path)},
    )
    load = [subprocess.Popen([sys.executable, "-c", LOAD]) for _ in range(2)]
    try:
        _wait_for(err, "Live capture started", proc)
        time.sleep(2)  # the ring has a backlog and keeps receiving
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("lanner run did not finish its drain within 20 s of SIGTERM under load")
    finally:
        for p in load:
            p.kill()
            p.wait()
    assert code == 0, err.read_text()[-2000:]
    assert "Events processed:" in err.read_text()


def test_falco_duration_flag_stops_the_run(tmp_path: Path) -> None:
    """Falco's -M SECONDS: the run ends by itself, cleanly, after that long."""
    require_bpf()
    started = time.monotonic()
    done = subprocess.run(
        [str(LANNER), "run", "-M", "1.5"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LANNER_STATE_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Live capture started" in done.stderr and "Events processed:" in done.stderr
    assert time.monotonic() - started >= 1.5
