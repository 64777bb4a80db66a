"""The live probe feeding the state tables: what the probe leaves out (cwd) comes out right.

The probe sends an empty cwd on clone/execve (walking fs->pwd in the kernel costs more than it
gives); the state must keep the cwd it knows: clone copies the parent's, execve keeps it, and
chdir changes it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.events.event import Event
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State
from tests.capture.bpf_support import collect, drain, require_bpf

pytestmark = pytest.mark.bpf


@pytest.fixture(scope="module")
def probe() -> Iterator[ProbeSource]:
    require_bpf()
    with ProbeSource(STATE_EVENT_TYPES) as src:
        yield src


def _run_through_state(
    probe: ProbeSource, command: list[str], marker: str, cwd: str | None = None
) -> list[Event]:
    """Seed a State from /proc (this process included: it is the workload's parent), run the
    command, and pass every event through the state; the events naming `marker` come back."""
    drain(probe, settle=0.02)
    state = State()
    for record in snapshot():
        state.seed(record)
    subprocess.run(command, check=True, cwd=cwd)

    def seen(events: list[Event]) -> bool:
        return any(e.param_by_name("name") == marker for e in events)

    events = collect(probe, seen) + drain(probe)
    for event in events:
        state.process(event)
    return [e for e in events if e.param_by_name("name") == marker]


def test_cwd_after_cd_reaches_the_forked_command(probe: ProbeSource) -> None:
    opens = _run_through_state(probe, ["sh", "-c", "cd /tmp && cat /etc/hostname"], "/etc/hostname")
    assert opens, "no open of /etc/hostname seen"
    thread = opens[-1].thread
    assert thread is not None and thread.comm == "cat"
    assert thread.cwd == "/tmp/"


def test_exec_keeps_the_inherited_cwd(
    probe: ProbeSource, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("cwd")
    # the vfork child chdirs before its exec; the exec event carries an empty cwd
    opens = _run_through_state(
        probe, ["sh", "-c", "exec cat /etc/hostname"], "/etc/hostname", cwd=str(workdir)
    )
    assert opens and opens[-1].thread is not None
    assert opens[-1].thread.comm == "cat"
    assert opens[-1].thread.cwd == f"{workdir}/"
