"""Privilege escalation on the live kernel: ptrace attach, a root switch, a user namespace.

The root switch is a real setuid-root helper (compiled here with gcc) run by uid 65534 from a
process whose audit login uid is 1000, like a logged-in user exploiting a setuid binary.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.rules_default.conftest import PYTHON, Alert, LiveSession, none_for, only, token

pytestmark = pytest.mark.bpf
PTRACE = "Process attached to another with ptrace"
ROOT_SWITCH = "Non-root process became root"
USERNS = "User namespace created"
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

PTRACE_ATTACH = """
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
child = subprocess.Popen(["sleep", "30"])
try:
    if libc.ptrace(16, child.pid, None, None) != 0:  # PTRACE_ATTACH
        sys.exit(f"attach failed: {os.strerror(ctypes.get_errno())}")
    os.waitpid(child.pid, 0)
    libc.ptrace(17, child.pid, None, None)  # PTRACE_DETACH
finally:
    child.kill()
    child.wait()
"""
PTRACE_TRACEME = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    libc.ptrace(0, 0, None, None)  # PTRACE_TRACEME: the child offers itself to its parent
    os._exit(0)
os.waitpid(pid, 0)
"""
UNSHARE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(int(sys.argv[1], 16)) != 0:
    sys.exit(f"unshare failed: {os.strerror(ctypes.get_errno())}")
"""
CLONE_NEWUSER = "0x10000000"
CLONE_NEWUTS = "0x04000000"
SETUID_HELPER_C = """
#include <unistd.h>
int main(void) { return setuid(0) == 0 ? 0 : 1; }
"""
# Give the child an audit login uid (a logged-in user), drop to nobody, run the helper.
AS_LOGGED_IN_NOBODY = 'echo 1000 > /proc/self/loginuid && exec "$@"'


class Marks:
    ptrace = token("ptrace")
    traceme_twin = token("tracemetwin")
    gdb_twin = token("gdbtwin")
    setuid = token("setuid")
    root_twin = token("roottwin")
    sudo_twin = token("sudotwin")
    userns = token("userns")
    uts_twin = token("utstwin")


def setuid_helper(live: LiveSession) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the setuid helper")
    source = live.scratch / "suid-helper.c"
    source.write_text(SETUID_HELPER_C)
    helper = live.scratch / "bin" / "suid-helper"
    helper.parent.mkdir(exist_ok=True)
    subprocess.run(["gcc", "-O1", "-o", str(helper), str(source)], check=True)
    helper.chmod(0o4755)
    for directory in (live.scratch, helper.parent):  # nobody must reach the helper
        directory.chmod(0o755)
    return helper


@pytest.fixture(scope="module")
def alerts(live: LiveSession) -> list[Alert]:
    subprocess.run([PYTHON, "-c", PTRACE_ATTACH, Marks.ptrace], check=True)
    subprocess.run([PYTHON, "-c", PTRACE_TRACEME, Marks.traceme_twin], check=True)
    gdb = live.program("gdb")
    subprocess.run([str(gdb), "-c", PTRACE_ATTACH, Marks.gdb_twin], check=True)

    helper = str(setuid_helper(live))
    escalate = ["sh", "-c", AS_LOGGED_IN_NOBODY, "sh", *AS_NOBODY, helper]
    subprocess.run([*escalate, Marks.setuid], check=True)
    subprocess.run([helper, Marks.root_twin], check=True)
    sudo = live.program("sudo")
    run_child = "import subprocess, sys; subprocess.run(sys.argv[1:], check=True)"
    subprocess.run([str(sudo), "-c", run_child, *escalate, Marks.sudo_twin], check=True)

    subprocess.run([*AS_NOBODY, PYTHON, "-c", UNSHARE, CLONE_NEWUSER, Marks.userns], check=True)
    subprocess.run([PYTHON, "-c", UNSHARE, CLONE_NEWUTS, Marks.uts_twin], check=True)
    return live.settle()


def test_ptrace_attach(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.ptrace, PTRACE)
    fields = hits[0]["output_fields"]
    assert fields["evt.arg.request"] == "PTRACE_ATTACH"
    assert fields["proc.name"] == "python3.11" and Marks.ptrace in fields["proc.cmdline"]
    assert fields["evt.arg.pid"]  # the target, as the text rendering names it
    assert hits[0]["priority"] == "Critical" and "T1055.008" in hits[0]["tags"]


@pytest.mark.parametrize(
    "mark", [Marks.traceme_twin, Marks.gdb_twin], ids=["traceme_twin", "gdb_twin"]
)
def test_traceme_and_debuggers_are_quiet(alerts: list[Alert], mark: str) -> None:
    none_for(alerts, mark)


def test_setuid_binary_run_by_a_logged_in_user(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.setuid, ROOT_SWITCH)
    fields = hits[0]["output_fields"]
    assert fields["evt.type"] == "setuid"
    assert fields["proc.name"] == "suid-helper"
    assert fields["proc.cmdline"] == f"suid-helper {Marks.setuid}"
    assert fields["user.uid"] == 0 and fields["user.loginuid"] == 1000
    assert hits[0]["priority"] == "Critical" and "T1548.001" in hits[0]["tags"]


@pytest.mark.parametrize("mark", [Marks.root_twin, Marks.sudo_twin], ids=["root_twin", "sudo_twin"])
def test_root_and_sudo_switching_to_root_are_quiet(alerts: list[Alert], mark: str) -> None:
    none_for(alerts, mark)


def test_user_namespace_by_nobody(alerts: list[Alert]) -> None:
    hits = only(alerts, Marks.userns, USERNS)
    fields = hits[0]["output_fields"]
    assert fields["evt.type"] == "unshare"
    assert "CLONE_NEWUSER" in fields["evt.arg.flags"]
    assert fields["user.uid"] == 65534
    assert Marks.userns in fields["proc.cmdline"]


def test_other_namespaces_are_quiet(alerts: list[Alert]) -> None:
    none_for(alerts, Marks.uts_twin)
