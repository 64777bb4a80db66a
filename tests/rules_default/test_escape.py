"""Container escape precursors seen from the host: nsenter, the container runtime's socket.

nsenter enters the test's own mount namespace only to run /bin/true; the socket is connected to and
closed without a request. The pod-side escape rules are in test_containers.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.rules_default.conftest import PYTHON, Alert, LiveSession, none_for, only, token

pytestmark = pytest.mark.bpf
NS_TOOL = "Namespace-switching tool run"
RUNTIME_SOCKET = "Container runtime socket opened"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"

CONNECT_UNIX = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])"
RUN_CHILD = "import subprocess, sys; subprocess.run(sys.argv[1:], check=True)"


class Marks:
    nsenter = token("nsenter")
    nsenter_twin = token("nsentertwin")
    runtime = token("runtime")
    ctr_twin = token("ctrtwin")
    other_socket_twin = token("socktwin")


@pytest.fixture(scope="module")
def alerts(live: LiveSession) -> Iterator[list[Alert]]:
    # Into this test's own mount namespace: the tool runs for real, and changes nothing.
    nsenter = ["nsenter", "--target", str(os.getpid()), "--mount", "--", "/bin/true"]
    subprocess.run([*nsenter, Marks.nsenter], check=True)
    # An administrator's session: the same command under sshd.
    sshd = live.program("sshd")
    subprocess.run([str(sshd), "-c", RUN_CHILD, *nsenter, Marks.nsenter_twin], check=True)

    if not os.path.exists(CONTAINERD_SOCKET):
        pytest.skip(f"{CONTAINERD_SOCKET} is absent: containerd is not running")
    subprocess.run([PYTHON, "-c", CONNECT_UNIX, CONTAINERD_SOCKET, Marks.runtime], check=True)
    if shutil.which("ctr"):
        subprocess.run(["ctr", "-n", Marks.ctr_twin, "version"], check=True, capture_output=True)
    other = socket.socket(socket.AF_UNIX)
    other_path = live.scratch / f"{Marks.other_socket_twin}.sock"
    other.bind(str(other_path))
    other.listen()
    try:
        subprocess.run([PYTHON, "-c", CONNECT_UNIX, str(other_path)], check=True)
        yield live.settle()
    finally:
        other.close()


def test_nsenter_on_the_host(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.nsenter, NS_TOOL)
    fields = hits[0]["output_fields"]
    assert fields["proc.cmdline"].startswith("nsenter --target ")
    assert fields["proc.cmdline"].endswith(f"--mount -- /bin/true {Marks.nsenter}")
    assert fields["proc.pname"] and fields["container.id"] == "host"
    assert hits[0]["priority"] == "Warning" and "T1611" in hits[0]["tags"]


def test_nsenter_in_an_ssh_session_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.nsenter_twin)


def test_containerd_socket_from_a_script(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.runtime, RUNTIME_SOCKET)
    fields = hits[0]["output_fields"]
    assert fields["fd.name"].endswith(f" {CONTAINERD_SOCKET}")  # "<local>-><peer> <path>"
    assert fields["proc.name"] == "python3.11"
    assert "T1552.007" in hits[0]["tags"]


def test_runtime_client_is_quiet(alerts: list[Alert]) -> None:
    if not shutil.which("ctr"):
        pytest.skip("ctr is not installed")
    none_for(alerts, Marks.ctr_twin)


def test_other_unix_socket_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.other_socket_twin)
