"""The live thread table against the kernel's own: a small process tree is built the ways
real programs build them (a shell forking a pipeline, a double fork into a new session, a
chdir, an exec chain, a renamed process, a setuid drop, threads), then waits; for each of its
processes still alive, the thread lanner built from the probe's events alone (seeded from /proc
before) must agree with /proc/<pid>: command name, exe, command line, cwd, parent, session,
user and group, and the thread count of the process.

One difference is on purpose: a name set with prctl(PR_SET_NAME) is not taken, since Falco's
proc.name is the name the program was executed with (libsinsp ignores PR_SET_NAME too); the
renamed daemon keeps "python3"."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State
from tests.capture.bpf_support import collect, drain, require_bpf

pytestmark = pytest.mark.bpf

# The tree: sh -> (sleep | cat) pipeline, a daemonised python (double fork + setsid) that
# drops to uid/gid 65534, chdirs, starts two threads and renames itself; an exec chain
# sh -> exec env -> sleep.
SCRIPT = r"""
cd "$1"
sleep 60 | cat > /dev/null &
python3 - "$1" <<'EOF' &
import os, sys, threading, time, ctypes
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
os.chdir(sys.argv[1] + "/sub")
os.setgid(65534)
os.setuid(65534)
for _ in range(2):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
ctypes.CDLL(None).prctl(15, b"lanner-daemon", 0, 0, 0)
open(sys.argv[1] + "/sub/ready", "w").close()
time.sleep(60)
EOF
exec env LANNER_T=1 sleep 61
"""


@pytest.fixture(scope="module")
def probe() -> Iterator[ProbeSource]:
    require_bpf()
    with ProbeSource(STATE_EVENT_TYPES) as src:
        yield src


def _proc(pid: int) -> dict[str, object]:
    base = Path(f"/proc/{pid}")
    status = dict(
        line.split(":\t", 1) for line in (base / "status").read_text().splitlines() if ":\t" in line
    )
    stat = (base / "stat").read_text().rsplit(")", 1)[1].split()
    return {
        "comm": (base / "comm").read_text().strip(),
        "exe": os.readlink(base / "exe"),
        "args": (base / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")[1:],
        "cwd": os.readlink(base / "cwd"),
        "ppid": int(stat[1]),
        "sid": int(stat[3]),
        "uid": int(status["Uid"].split()[1]),
        "gid": int(status["Gid"].split()[1]),
        "threads": int(status["Threads"]),
    }


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                ppid = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def test_live_thread_table_matches_proc(probe: ProbeSource) -> None:
    # The daemon runs as nobody: its directory must be reachable (pytest's tmp dirs are 0700).
    tmp_path = Path(tempfile.mkdtemp(prefix="lanner-tree-"))
    os.chmod(tmp_path, 0o755)
    (tmp_path / "sub").mkdir()
    os.chmod(tmp_path / "sub", 0o777)
    drain(probe, settle=0.02)
    state = State()
    for record in snapshot():
        state.seed(record)
    root = subprocess.Popen(["sh", "-c", SCRIPT, "sh", str(tmp_path)])
    ready = tmp_path / "sub" / "ready"
    try:
        events = collect(probe, lambda _e: ready.exists(), timeout=20)
        time.sleep(0.3)
        events += drain(probe, settle=0.3)
        assert ready.exists(), "the workload did not get ready"
        for event in events:
            state.process(event)
        daemon = [
            int(n)
            for n in os.listdir("/proc")
            if n.isdigit() and Path(f"/proc/{n}/comm").read_text().strip() == "lanner-daemon"
        ]
        pids = _descendants(root.pid) + daemon
        kernel = {}
        for pid in pids:
            with contextlib.suppress(OSError):  # a process that ended meanwhile
                kernel[pid] = _proc(pid)
    finally:
        subprocess.run(["pkill", "-f", f"{tmp_path}"], check=False)
        for pid in _descendants(root.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        root.kill()
        root.wait()
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert len(daemon) == 1 and len(kernel) >= 4, kernel
    problems = []
    for pid, want in kernel.items():
        thread = state.thread(pid)
        if thread is None:
            problems.append((pid, want["comm"], "not in lanner's table"))
            continue
        group = [t for t in state.threads.group(pid) if not t.exited]
        got = {
            "comm": thread.comm,
            "exe": thread.exepath,
            "args": [a.encode() if isinstance(a, str) else a for a in thread.args],
            "cwd": thread.cwd.rstrip("/") or "/",
            "ppid": thread.ptid if thread.ptid is not None else -1,
            "sid": thread.sid,
            "uid": thread.uid,
            "gid": thread.gid,
            "threads": len(group),
        }
        if want["comm"] == "lanner-daemon":
            want["comm"] = "python3"  # see the module docstring
        for key, value in want.items():
            if got[key] != value:
                problems.append((pid, want["comm"], key, got[key], value))
    assert not problems, problems
