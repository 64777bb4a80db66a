"""The live probe feeding the state tables: what the probe leaves out (cwd) comes out right.

The probe sends an empty cwd on clone/execve (walking fs->pwd in the kernel costs more than it
gives); the state must keep the cwd it knows: clone copies the parent's, execve keeps it, and
chdir changes it.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.events.event import Event
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State
from tests.capture.bpf_support import collect, drain, require_bpf, state_probe

__all__ = ["state_probe"]  # the module-scoped `probe` fixture
pytestmark = pytest.mark.bpf


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


UDP_SENDER = r"""
import socket, sys
port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(b"first", ("127.0.0.1", port))  # binds an ephemeral port: /proc shows it unconnected
print(sock.getsockname()[1], flush=True)
sys.stdin.readline()
sock.sendto(b"second", ("127.0.0.1", port))
"""


def test_a_udp_socket_from_proc_that_sends_is_the_client() -> None:
    """/proc lists an unconnected UDP socket by its local address only, as a listener's; when
    it sends a datagram (a syslog or DNS client), the tuple is local -> destination."""
    require_bpf()
    with ProbeSource({*STATE_EVENT_TYPES, "sendto"}) as probe:
        events, child_pid, local_port, port, state = _udp_sends(probe)
    for event in events:
        state.process(event)
    sends = [e for e in events if e.tid == child_pid and e.type_name == "sendto"]
    assert sends and sends[-1].fd is not None
    fd = sends[-1].fd
    assert fd.name == f"127.0.0.1:{local_port}->127.0.0.1:{port}"
    assert (fd.cport, fd.sport) == (local_port, port)


def _udp_sends(probe: ProbeSource) -> tuple[list[Event], int, int, int, State]:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    port = receiver.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-c", UDP_SENDER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        local_port = int(child.stdout.readline())
        drain(probe, settle=0.02)
        state = State()
        for record in snapshot():
            state.seed(record)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(10) == 0

        def sent(events: list[Event]) -> bool:
            return any(e.tid == child.pid and e.type_name == "sendto" for e in events)

        events = collect(probe, sent) + drain(probe)
    finally:
        receiver.close()
        if child.poll() is None:
            child.kill()
    return events, child.pid, local_port, port, state


def test_setpgid_moves_the_process_to_its_own_group(probe: ProbeSource) -> None:
    """A process that leaves its parent's group (job control, daemons, `setsid`-less
    supervisors) is in its own group from then on: the probe sends setpgid's pid and pgid on
    the exit event, so proc.vpgid follows."""
    marker = "/etc/hostname"
    script = f"import os; os.setpgid(0, 0); open({marker!r}).close(); print(os.getpgrp())"
    opens = _run_through_state(probe, [sys.executable, "-c", script], marker)
    assert opens and opens[-1].thread is not None
    thread = opens[-1].thread
    assert thread.vpgid == thread.pid != 0
