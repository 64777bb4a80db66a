"""The /proc snapshot gives the same kind of records as a trace, and State takes them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from lanner.capture.procfs import snapshot
from lanner.capture.scap_records import (
    FD_IPV4_SERVSOCK,
    FdEntry,
    InterfaceEntry,
    ProcEntry,
    UserEntry,
)
from lanner.state.state import State


def test_snapshot_sees_a_child_its_args_and_fds(tmp_path: Path) -> None:
    target = tmp_path / "held-open.txt"
    target.write_text("x")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    code = (
        "import sys, time; f = open(sys.argv[1]); sys.stdout.write('ready\\n'); "
        "sys.stdout.flush(); time.sleep(30)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        records = list(snapshot())
        procs = {r.tid: r for r in records if isinstance(r, ProcEntry)}
        assert child.pid in procs
        entry = procs[child.pid]
        assert entry.pid == child.pid and entry.ptid == os.getpid()
        assert entry.args[-1] == str(target)
        assert entry.exepath == os.path.realpath(sys.executable)
        fds = [r for r in records if isinstance(r, FdEntry) and r.tid == child.pid]
        assert any(f.path == str(target) for f in fds)
        ours = [r for r in records if isinstance(r, FdEntry) and r.tid == os.getpid()]
        assert any(f.type == FD_IPV4_SERVSOCK and f.sport == port for f in ours)
        assert any(isinstance(r, UserEntry) and r.uid == 0 for r in records)
        assert any(isinstance(r, InterfaceEntry) and r.addr == "127.0.0.1" for r in records)

        state = State()
        for record in records:
            state.seed(record)
        assert any(iface.addr == "127.0.0.1" for iface in state.interfaces)
        thread = state.thread(child.pid)
        assert thread is not None and thread.comm == entry.comm
        assert any(fd.name == str(target) for fd in thread.fdtable)
    finally:
        child.kill()
        child.wait()
        listener.close()


def test_snapshot_skips_a_pid_and_survives_a_fake_root() -> None:
    records = list(snapshot(skip_pid=os.getpid()))
    assert not any(isinstance(r, ProcEntry) and r.pid == os.getpid() for r in records)
    with tempfile.TemporaryDirectory() as empty:
        fake = list(snapshot(proc_root=Path(empty), etc=Path(empty)))
        # Nothing to read there, nothing raised: no process, no fd, no user.
        assert not any(isinstance(r, ProcEntry | FdEntry | UserEntry) for r in fake)


def test_fd_records_carry_open_flags_from_fdinfo(tmp_path: Path) -> None:
    from lanner.capture.procfs import open_flags_to_ppm

    # O_RDWR|O_APPEND|O_NONBLOCK|O_CLOEXEC in the kernel's bits -> the PPM bits.
    assert open_flags_to_ppm(0o2 | 0o2000 | 0o4000 | 0o2000000) == 3 | 1 << 3 | 1 << 6 | 1 << 12
    assert open_flags_to_ppm(0) == 1  # O_RDONLY
    kept = os.open(tmp_path / "kept", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.set_inheritable(kept, True)
    closing = os.open(tmp_path / "closing", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fds = {
            r.fd: r.open_flags
            for r in snapshot()
            if isinstance(r, FdEntry) and r.tid == os.getpid() and r.fd in (kept, closing)
        }
    finally:
        os.close(kept)
        os.close(closing)
    assert fds[kept] & (1 << 12) == 0 and fds[kept] & 3 == 2 and fds[kept] & (1 << 3)
    assert fds[closing] & (1 << 12) and fds[closing] & 3 == 1
