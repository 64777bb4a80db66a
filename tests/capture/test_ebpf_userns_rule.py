"""The default rule "User namespace created" on live events: it fires for a real user
namespace and stays quiet for thread starts and forks (the clone3 flags bug made it fire on
every thread start)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.engine import DetectionEngine
from lanner.rules.loader import load_rules_files
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State
from tests.capture.bpf_support import collect, drain, require_bpf

pytestmark = pytest.mark.bpf

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "src/lanner/rules/default/lanner_rules.yaml"
RULE = "User namespace created"
THREADS = (
    "import threading\n"
    "for _ in range(10):\n"
    "    t = threading.Thread(target=len, args=('',)); t.start(); t.join()\n"
)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux unshare not installed")
def test_user_namespace_rule_fires_only_for_a_real_one() -> None:
    require_bpf()
    loaded = load_rules_files([DEFAULT_RULES])
    assert loaded.successful
    ruleset = loaded.ruleset()
    alerts: list[Any] = []
    state = State()
    for record in snapshot():
        state.seed(record)
    engine = DetectionEngine(ruleset, alerts.append, state=state)
    with ProbeSource(set(STATE_EVENT_TYPES) | {"unshare", "clone", "clone3"}) as src:
        drain(src, settle=0.02)
        benign = [
            subprocess.Popen([sys.executable, "-c", THREADS]),
            subprocess.Popen(["sh", "-c", "true & wait"]),
        ]
        for proc in benign:
            assert proc.wait() == 0
        userns = subprocess.Popen(["unshare", "-U", "true"])
        assert userns.wait() == 0
        events = collect(
            src, lambda evs: any(e.type_name == "unshare" and e.tid == userns.pid for e in evs)
        )
        events += drain(src)
    engine.process_batch(events)
    fired = [a.output_fields.get("proc.cmdline", "") for a in alerts if a.rule == RULE]
    assert "unshare -U true" in fired, fired
    assert not [c for c in fired if "threading" in c or "true & wait" in c], fired
