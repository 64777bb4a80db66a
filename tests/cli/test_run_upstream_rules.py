"""Falco's own stable ruleset, unmodified, live: `lanner run -r falco_rules.yaml` on the real
kernel, with behaviours several of its rules describe performed for real (harmless: links and
files in temp dirs, a truncated scratch log, a binary run from /dev/shm and from memory, a
credentials search, a ptrace attach to a sleep and a PTRACE_TRACEME; in pods, a dropped binary
and a netcat bind shell). Each behaviour carries a unique token so its alert is told apart from
the machine's activity."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.capture.bpf_support import require_bpf
from tests.cli.test_run_live import LiveRun
from tests.conftest import compat_path
from tests.enrich.fixtures import RunInPod, containerd_cri, cri_pods, run_in_pod

__all__ = ["containerd_cri", "cri_pods", "run_in_pod"]
pytestmark = pytest.mark.bpf

MEMFD_EXEC = """import os, sys
fd = os.memfd_create("payload")
os.write(fd, open("/bin/true", "rb").read())
os.execv(f"/proc/self/fd/{fd}", ["payload", sys.argv[1]])
"""


def _token(label: str) -> str:
    return f"lt{label}{uuid.uuid4().hex[:8]}"


def _hits(alerts: list[dict[str, Any]], rule: str, token: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["rule"] == rule and token in a["output"]]


def test_falco_stable_rules_fire_live(tmp_path: Path) -> None:
    require_bpf()
    rules = compat_path("rules", "falcosecurity-rules-c72713e", "falco_rules.yaml")
    names = ("grep", "sym", "hard", "shm", "memfd", "log", "read", "aws", "attach", "traceme")
    marks = {name: _token(name) for name in names}
    work = Path(tempfile.mkdtemp(prefix="lanner-upstream-"))
    shm = Path("/dev/shm") / marks["shm"]
    log = Path("/var/log") / f"{marks['log']}.log"
    log.write_text("old lines\n")
    run = LiveRun(tmp_path, "-r", str(rules))
    try:
        subprocess.run(["find", str(work), "-name", "id_rsa", "-o", "-name", marks["grep"]],
                       check=True, capture_output=True)  # fmt: skip
        os.symlink("/etc/shadow", work / marks["sym"])
        os.link("/etc/shadow", work / marks["hard"])
        shutil.copy("/bin/true", shm)
        subprocess.run([str(shm)], check=True)
        subprocess.run([sys.executable, "-c", MEMFD_EXEC, marks["memfd"]], check=True)
        subprocess.run(["sh", "-c", f": > {log}"], check=True)  # truncates the log
        subprocess.run(["cat", "/etc/shadow", f"/nonexistent/{marks['read']}"],
                       capture_output=True, check=False)  # fmt: skip
        subprocess.run(["grep", "-r", "aws_secret_access_key", str(work / marks["aws"])],
                       capture_output=True, check=False)  # fmt: skip
        victim = subprocess.Popen(["sleep", "30"])
        ptrace = "import ctypes; ctypes.CDLL(None).ptrace"
        attach = f"{ptrace}(16, {victim.pid}, 0, 0)  # PTRACE_ATTACH {marks['attach']}"
        subprocess.run([sys.executable, "-c", attach], check=True)
        victim.kill()
        victim.wait()
        traceme = f"{ptrace}(0, 0, 0, 0)  # PTRACE_TRACEME {marks['traceme']}"
        subprocess.run([sys.executable, "-c", traceme], check=True)
    finally:
        alerts = run.stop()
        shutil.rmtree(work, ignore_errors=True)
        shm.unlink(missing_ok=True)
        log.unlink(missing_ok=True)
    expected = {
        "Search Private Keys or Passwords": marks["grep"],
        "Create Symlink Over Sensitive Files": marks["sym"],
        "Create Hardlink Over Sensitive Files": marks["hard"],
        "Execution from /dev/shm": marks["shm"],
        "Fileless execution via memfd_create": marks["memfd"],
        "Clear Log Activities": marks["log"],
        "Read sensitive file untrusted": marks["read"],
        "Find AWS Credentials": marks["aws"],
        "PTRACE attached to process": marks["attach"],
        "PTRACE anti-debug attempt": marks["traceme"],
    }
    missing = [rule for rule, mark in expected.items() if not _hits(alerts, rule, mark)]
    assert not missing, (missing, sorted({a["rule"] for a in alerts}))
    read = _hits(alerts, "Read sensitive file untrusted", marks["read"])[0]
    assert read["output_fields"]["fd.name"] == "/etc/shadow"
    assert read["priority"] == "Warning" and "maturity_stable" in read["tags"]
    shm_hit = _hits(alerts, "Execution from /dev/shm", marks["shm"])[0]
    assert shm_hit["output_fields"]["proc.exepath"] == str(shm)


def test_falco_drop_and_execute_fires_in_a_pod(tmp_path: Path, run_in_pod: RunInPod) -> None:
    require_bpf()
    rules = compat_path("rules", "falcosecurity-rules-c72713e", "falco_rules.yaml")
    tool = _token("tool")
    run = LiveRun(tmp_path, "-r", str(rules))
    try:
        run_in_pod(
            ["sh", "-c", f"sleep 2; mkdir -p /srv; cp /bin/busybox /srv/{tool}; /srv/{tool}; "
             "sleep 30"],
            pod_name="drop-upstream",
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while tool not in run.out.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        alerts = run.stop()
    hits = _hits(alerts, "Drop and execute new binary in container", tool)
    assert hits, sorted({a["rule"] for a in alerts})
    assert hits[0]["priority"] == "Critical"
    assert hits[0]["output_fields"]["proc.exepath"] == f"/srv/{tool}"
    # (Its output names no container field; its condition requires a container.)


def test_falco_netcat_and_redirect_rules_fire_in_a_pod(
    tmp_path: Path, run_in_pod: RunInPod
) -> None:
    """A bind shell with busybox's nc -e inside a pod, and a client talking to it: Falco's
    "Netcat Remote Code Execution in Container" (the exec) and "Redirect STDOUT/STDIN to
    Network Connection in Container" (nc -e duplicating the socket onto the shell's stdio)."""
    require_bpf()
    rules = compat_path("rules", "falcosecurity-rules-c72713e", "falco_rules.yaml")
    port = 40000 + int(uuid.uuid4().int % 20000)
    run = LiveRun(tmp_path, "-r", str(rules))
    try:
        run_in_pod(
            ["sh", "-c", f"sleep 2; /bin/nc -l -p {port} -e /bin/sh & sleep 1; "
             f"echo 'echo hi' | /bin/nc 127.0.0.1 {port}; sleep 30"],
            pod_name="nc-upstream",
            host_network=False,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = run.out.read_text()
            if "Netcat Remote Code" in text and "Redirect STDOUT/STDIN" in text:
                break
            time.sleep(0.2)
    finally:
        alerts = run.stop()
    netcat = [a for a in alerts if a["rule"] == "Netcat Remote Code Execution in Container"]
    redirect = [
        a for a in alerts if a["rule"] == "Redirect STDOUT/STDIN to Network Connection in Container"
    ]
    assert netcat and redirect, sorted({a["rule"] for a in alerts})
    assert f"-p {port} -e /bin/sh" in netcat[0]["output_fields"]["proc.cmdline"]
    assert str(port) in redirect[0]["output"]


UDP_CONNECT = """import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((sys.argv[1], int(sys.argv[2])))  # a UDP connect only sets the peer: nothing is sent
sock.close()
"""


def _host_ipv4() -> str | None:
    """A non-loopback address of this machine (the incubating rule ignores 127.0.0.0/8)."""
    command = ["ip", "-o", "-4", "addr"]  # iproute2: scripts/install-deps.sh --test
    listing = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    for line in listing.splitlines():
        address = line.split()[3].split("/")[0]
        if not address.startswith("127."):
            return address
    return None


def test_falco_unexpected_udp_traffic_spares_dns(tmp_path: Path) -> None:
    """Falco's incubating "Unexpected UDP Traffic" relies on `fd.port in (expected_udp_ports)`
    (either end's port): a UDP peer on port 53 is expected, one on another port is not. fd.port
    used to match nothing, so every DNS lookup alerted."""
    require_bpf()
    address = _host_ipv4()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    folder = "falcosecurity-rules-c72713e"
    rules = [compat_path("rules", folder, name)
             for name in ("falco_rules.yaml", "falco-incubating_rules.yaml")]  # fmt: skip
    dns, other = _token("dns"), _token("odd")
    run = LiveRun(tmp_path, *(arg for path in rules for arg in ("-r", str(path))))
    try:
        for port, mark in ((53, dns), (9999, other)):
            subprocess.run([sys.executable, "-c", UDP_CONNECT + f"# {mark}", address, str(port)],
                           check=True)  # fmt: skip
    finally:
        alerts = run.stop()
    rule = "Unexpected UDP Traffic"
    assert [a["output_fields"]["fd.rport"] for a in _hits(alerts, rule, other)] == [9999]
    assert not _hits(alerts, rule, dns)
