"""Network rules on the live kernel: reverse shell, mining pool, unexpected outbound port.

Traffic only ever goes to loopback or to a test host this module builds: a network namespace
joined to the host by a veth pair, with addresses from the benchmarking range 198.18.0.0/15,
running a listener on the ports the scenarios use. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.rules_default.conftest import PYTHON, Alert, LiveSession, none_for, only, token

pytestmark = pytest.mark.bpf
REVERSE_SHELL = "Reverse shell"
MINING = "Outbound connection to a mining pool"
OUTBOUND = "Unexpected outbound connection from a shell or script interpreter"
TEST_HOST_PORTS = (80, 3333, 4444)

LISTENER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in sys.argv[1:]:
    server = socket.create_server(("0.0.0.0", int(port)))
    sel.register(server, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.close()
"""
CONNECT = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 5).close()"
DUP_ONTO_STDIO = """
import os, socket, sys
peer = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
for fd in (0, 1, 2):
    os.dup2(peer.fileno(), fd)
os.execv("/bin/sh", ["sh", "-c", "true"])
"""
DUP_ELSEWHERE = """
import os, socket, sys
peer = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
read_end, _ = os.pipe()
os.dup2(read_end, 0)  # a pipe on stdin, as any shell redirection does
os.dup2(peer.fileno(), 10)  # the socket kept, but not on stdio
"""


class Marks:
    reverse = token("revshell")
    reverse_twin = token("revtwin")
    miner = token("miner")
    miner_twin = token("minertwin")
    outbound = token("outbound")
    web_twin = token("webtwin")
    loopback_twin = token("lotwin")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def test_host() -> Iterator[str]:
    """The address of a throwaway host in its own network namespace."""
    suffix = f"{os.getpid() % 100000}"
    netns, outside, inside = f"lanner-rt-{suffix}", f"lrt{suffix}a", f"lrt{suffix}b"
    octet = random.randrange(1, 250)
    here, there = f"198.19.{octet}.1", f"198.19.{octet}.2"
    listener = None
    try:
        _ip("netns", "add", netns)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", netns)
        _ip("addr", "add", f"{here}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", netns, "addr", "add", f"{there}/30", "dev", inside)
        _ip("-n", netns, "link", "set", inside, "up")
        listener = subprocess.Popen(
            ["ip", "netns", "exec", netns, PYTHON, "-c", LISTENER, *map(str, TEST_HOST_PORTS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert listener.stdout is not None and listener.stdout.readline().strip() == "ready"
        yield there
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        subprocess.run(["ip", "netns", "del", netns], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", outside], check=False, capture_output=True)


@pytest.fixture(scope="module")
def alerts(live: LiveSession, test_host: str) -> Iterator[list[Alert]]:
    loopback = socket.create_server(("127.0.0.2", 0))  # connections wait in its backlog
    loopback_port = str(loopback.getsockname()[1])
    try:
        subprocess.run([PYTHON, "-c", DUP_ONTO_STDIO, test_host, "80", Marks.reverse], check=True)
        subprocess.run(
            [PYTHON, "-c", DUP_ELSEWHERE, test_host, "80", Marks.reverse_twin], check=True
        )
        xmrig, curl = live.program("xmrig"), live.program("curl")
        subprocess.run([str(xmrig), "-c", CONNECT, test_host, "3333", Marks.miner], check=True)
        subprocess.run([str(curl), "-c", CONNECT, test_host, "3333", Marks.miner_twin], check=True)
        subprocess.run([PYTHON, "-c", CONNECT, test_host, "4444", Marks.outbound], check=True)
        subprocess.run([PYTHON, "-c", CONNECT, test_host, "80", Marks.web_twin], check=True)
        subprocess.run(
            [PYTHON, "-c", CONNECT, "127.0.0.2", loopback_port, Marks.loopback_twin], check=True
        )
        yield live.settle()
    finally:
        loopback.close()


def test_socket_on_stdin_stdout_stderr(alerts: list[Alert], test_host: str) -> None:
    hits = only(alerts, Marks.reverse, REVERSE_SHELL)
    assert sorted(a["output_fields"]["evt.rawres"] for a in hits) == [0, 1, 2]
    fields = hits[0]["output_fields"]
    assert fields["fd.sip"] == test_host and fields["fd.sport"] == 80
    assert fields["fd.cip"] != test_host and f"->{test_host}:80" in fields["fd.name"]
    assert fields["proc.name"] == "python3.11" and Marks.reverse in fields["proc.cmdline"]
    assert hits[0]["priority"] == "Critical" and "mitre_command_and_control" in hits[0]["tags"]


def test_pipe_on_stdin_and_socket_elsewhere_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.reverse_twin)


def test_miner_connecting_to_a_pool_port(alerts: list[Alert], test_host: str) -> None:
    hits = only(alerts, Marks.miner, MINING)
    fields = hits[0]["output_fields"]
    assert fields["proc.name"] == "xmrig"
    assert fields["fd.sip"] == test_host and fields["fd.sport"] == 3333
    assert hits[0]["priority"] == "Critical" and "T1496" in hits[0]["tags"]


def test_other_client_on_the_same_port_is_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.miner_twin)


def test_interpreter_to_an_unexpected_port(alerts: list[Alert], test_host: str) -> None:
    hits = only(alerts, Marks.outbound, OUTBOUND)
    fields = hits[0]["output_fields"]
    assert fields["fd.sip"] == test_host and fields["fd.sport"] == 4444
    assert fields["proc.name"] == "python3.11"
    assert hits[0]["priority"] == "Notice" and "T1571" in hits[0]["tags"]


@pytest.mark.parametrize(
    "mark", [Marks.web_twin, Marks.loopback_twin], ids=["web_twin", "loopback_twin"]
)
def test_allowed_port_and_loopback_are_quiet(alerts: list[Alert], mark: str) -> None:
    none_for(alerts, mark)
