"""A user rule on file reads and writes works live: the probe sends file I/O (with its first
bytes) only when a rule asks for it, so `evt.type=write and fd.name=... and evt.buffer
contains ...` fires on a real write, and not on the twin write elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.capture.bpf_support import require_bpf
from tests.cli.test_run_live import LiveRun

pytestmark = pytest.mark.bpf


def test_a_rule_on_file_writes_fires_with_the_data(tmp_path: Path) -> None:
    require_bpf()
    watched = tmp_path / "watched"
    watched.mkdir()
    other = tmp_path / "other"
    other.mkdir()
    rules = tmp_path / "io.yaml"
    rules.write_text(
        f"""
- rule: Secret written below the watched directory
  desc: t
  condition: >
    evt.type in (write, pwrite) and fd.name startswith {watched}/
    and evt.buffer contains "s3cr3t"
  output: secret written (file=%fd.name data=%evt.buffer proc=%proc.name)
  priority: WARNING
"""
    )
    run = LiveRun(tmp_path, "-r", str(rules))
    marker = f"s3cr3t-{os.getpid()}"
    for target in (watched / "a.txt", other / "b.txt"):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, marker.encode())
        os.pwrite(fd, b"plain", 100)
        os.close(fd)
    alerts = run.stop()
    hits = [a for a in alerts if a["rule"] == "Secret written below the watched directory"]
    assert [a["output_fields"]["fd.name"] for a in hits] == [str(watched / "a.txt")], alerts
    assert marker in hits[0]["output_fields"]["evt.buffer"]
