"""Clone flags from the live probe: no phantom namespace flags on thread and process starts.

clone3 children used to report flags read from the parent's (already reused) stack, so every
Python thread start looked like CLONE_NEWUSER|CLONE_NEWNET|...; the child's flags now come from
the kernel. A real user-namespace creation must still show.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.events.event import Event
from tests.capture.bpf_support import collect, drain, require_bpf

pytestmark = pytest.mark.bpf

PPM_CL_CLONE_FILES = 1 << 0
PPM_CL_CLONE_NEWNS = 1 << 5
PPM_CL_CLONE_NEWNET = 1 << 4
PPM_CL_CLONE_THREAD = 1 << 13
PPM_CL_CLONE_VM = 1 << 15
PPM_CL_CLONE_NEWUSER = 1 << 20
_NAMESPACE_FLAGS = (
    (1 << 3) | PPM_CL_CLONE_NEWNET | PPM_CL_CLONE_NEWNS | (1 << 6) | (1 << 7) | (1 << 28)
)
_CLONES = ("clone", "clone3", "fork", "vfork")

# clone3(&{flags, ..., exit_signal=SIGCHLD}, 88) from a child Python; the clone child exits at once.
_CLONE3_SCRIPT = """
import ctypes, os, struct, sys
flags = int(sys.argv[1])
args = ctypes.create_string_buffer(struct.pack("<11Q", flags, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0))
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
pid = libc.syscall(435, args, 88)
if pid == 0:
    os._exit(0)
if pid < 0:
    sys.exit(3)
os.waitpid(pid, 0)
print(pid)
"""


@pytest.fixture(scope="module")
def src() -> Iterator[ProbeSource]:
    require_bpf()
    with ProbeSource([*_CLONES, "unshare"]) as probe:
        drain(probe, settle=0.02)
        yield probe


def _flags(event: Event) -> int:
    value = event.param_by_name("flags")
    assert isinstance(value, int)
    return value


def _clones_of(events: list[Event], pid: int) -> list[Event]:
    return [e for e in events if e.type_name in _CLONES and e.param_by_name("pid") == pid]


def test_python_thread_start_has_no_namespace_flags(src: ProbeSource) -> None:
    drain(src, settle=0.02)
    script = (
        "import threading\n"
        "ts = [threading.Thread(target=lambda: None) for _ in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "import os; print(os.getpid())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    pid = int(out.stdout)

    def threads(evs: list[Event]) -> list[Event]:  # (the vfork that started python is not one)
        return [e for e in _clones_of(evs, pid) if e.type_name == "clone3"]

    clones = threads(collect(src, lambda evs: len(threads(evs)) >= 16))
    parents = [e for e in clones if e.param_by_name("res") > 0]
    children = [e for e in clones if e.param_by_name("res") == 0]
    assert len(parents) == 8 and len(children) == 8
    for event in clones:
        flags = _flags(event)
        assert not flags & PPM_CL_CLONE_NEWUSER, event.render_param(event.param_index("flags"))
        assert not flags & _NAMESPACE_FLAGS
        assert flags & PPM_CL_CLONE_THREAD and flags & PPM_CL_CLONE_VM
        assert flags & PPM_CL_CLONE_FILES


def test_shell_fork_has_no_user_namespace_flag(src: ProbeSource) -> None:
    drain(src, settle=0.02)
    proc = subprocess.Popen(["sh", "-c", "true & wait"])
    proc.wait()
    events = collect(src, lambda evs: len(_clones_of(evs, proc.pid)) >= 1)
    events += drain(src)
    parents = [e for e in _clones_of(events, proc.pid) if e.param_by_name("res") > 0]
    assert parents, "no fork by the shell seen"
    child_tid = parents[0].param_by_name("res")
    children = [e for e in events if e.type_name in _CLONES and e.tid == child_tid]
    assert children
    for event in parents + children:
        assert not _flags(event) & (PPM_CL_CLONE_NEWUSER | _NAMESPACE_FLAGS)
        assert not _flags(event) & PPM_CL_CLONE_THREAD


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux unshare not installed")
def test_unshare_user_shows_newuser(src: ProbeSource) -> None:
    drain(src, settle=0.02)
    proc = subprocess.Popen(["unshare", "-U", "true"])
    proc.wait()
    assert proc.returncode == 0
    events = collect(
        src, lambda evs: any(e.type_name == "unshare" and e.tid == proc.pid for e in evs)
    )
    unshares = [e for e in events if e.type_name == "unshare" and e.tid == proc.pid]
    assert unshares and unshares[0].param_by_name("res") == 0
    assert _flags(unshares[0]) & PPM_CL_CLONE_NEWUSER
    assert "CLONE_NEWUSER" in unshares[0].render_param(unshares[0].param_index("flags"))


@pytest.mark.parametrize("newuser", [True, False])
def test_clone3_with_and_without_newuser(src: ProbeSource, newuser: bool) -> None:
    drain(src, settle=0.02)
    kernel_newuser = 0x10000000
    flags = kernel_newuser if newuser else 0
    out = subprocess.run(
        [sys.executable, "-c", _CLONE3_SCRIPT, str(flags)], check=True, capture_output=True
    )
    child = int(out.stdout)
    events = collect(
        src,
        lambda evs: (
            sum(
                1
                for e in evs
                if e.type_name == "clone3" and child in (e.tid, e.param_by_name("res"))
            )
            >= 2
        ),
    )
    pair = [
        e for e in events if e.type_name == "clone3" and child in (e.tid, e.param_by_name("res"))
    ]
    assert len(pair) == 2, "parent and child clone3 events expected"
    for event in pair:  # parent side from clone_args, child side from the kernel: both agree
        assert bool(_flags(event) & PPM_CL_CLONE_NEWUSER) is newuser
        assert not _flags(event) & PPM_CL_CLONE_VM
