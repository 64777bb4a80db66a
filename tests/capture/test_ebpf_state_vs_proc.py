"""The live fd table against the kernel's own: a program makes fds in many ways (open, openat
relative to a copied directory fd, dup2, fcntl's F_DUPFD, pipes, socket pairs, TCP listen /
connect / accept, eventfd, epoll), closes some, and waits; the fd table lanner built from the
probe's events alone (seeded from /proc before the program started) must hold exactly the fds
of /proc/<pid>/fd, with the same paths and kinds (TCP endpoints too), and none of the ones the
program closed -- nor the close-on-exec fds of its parent (pytest's own probe and pipes), which
the kernel dropped at execve.

The program is started with close_fds=False: Python would otherwise close its inherited fds
with close_range(2), which sysdig-era event tables lack (a known gap: such fds stay in lanner's
table until reused or the process ends)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot, socket_table
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State
from tests.capture.bpf_support import collect, drain, require_bpf

pytestmark = pytest.mark.bpf

HELPER = r"""
import fcntl, os, select, socket, sys, time
work = sys.argv[1]
keep = []
d = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
copy = fcntl.fcntl(d, fcntl.F_DUPFD_CLOEXEC, 40)
os.close(d)
keep.append(os.open("inside.txt", os.O_RDONLY, dir_fd=copy))
f = os.open(os.path.join(work, "other.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
os.dup2(f, 50)
os.close(f)
r, w = os.pipe()
a, b = socket.socketpair()
server = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(server.getsockname())
accepted, _ = server.accept()
ev = os.eventfd(0)
userver = socket.socket(socket.AF_UNIX)
userver.bind(os.path.join(work, "u.sock"))
userver.listen()
uclient = socket.socket(socket.AF_UNIX)
uclient.connect(os.path.join(work, "u.sock"))
uaccepted, _ = userver.accept()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.connect(server.getsockname())
ep = select.epoll()
gone = os.open(os.path.join(work, "gone.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
os.close(gone)
os.close(w)
with open(os.path.join(work, "closed"), "w") as out:
    out.write(" ".join(str(n) for n in (d, f, w, gone)))
open(os.path.join(work, "ready"), "w").close()
time.sleep(30)
"""


@pytest.fixture(scope="module")
def probe() -> Iterator[ProbeSource]:
    require_bpf()
    with ProbeSource(STATE_EVENT_TYPES) as src:
        yield src


def _kind(target: str) -> str:
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("anon_inode:"):
        return target.removeprefix("anon_inode:").strip("[]")
    return "path"


_STATE_KINDS = {
    "ipv4": "socket", "ipv6": "socket", "unix": "socket", "pipe": "pipe",
    "event": "eventfd", "eventpoll": "eventpoll", "file": "path", "directory": "path",
}  # fmt: skip


def test_live_fd_table_matches_proc(probe: ProbeSource, tmp_path: Path) -> None:
    (tmp_path / "inside.txt").write_text("x")
    drain(probe, settle=0.02)
    state = State()
    for record in snapshot():
        state.seed(record)
    helper = subprocess.Popen([sys.executable, "-c", HELPER, str(tmp_path)], close_fds=False)
    try:
        ready = tmp_path / "ready"

        def done(_events: object) -> bool:
            return ready.exists()

        events = collect(probe, done, timeout=20) + drain(probe, settle=0.3)
        assert ready.exists(), "the helper did not get ready"
        for event in events:
            state.process(event)
        thread = state.thread(helper.pid)
        assert thread is not None and thread.comm.startswith("python")
        ours = dict(thread.fdtable.fds)
        fd_dir = Path(f"/proc/{helper.pid}/fd")
        kernel = {int(name): os.readlink(fd_dir / name) for name in os.listdir(fd_dir)}
        sockets = socket_table(Path("/proc"))
        unix_paths = {}
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            cols = line.split()
            if len(cols) > 7:
                unix_paths[int(cols[6])] = cols[7]
    finally:
        helper.kill()
        helper.wait()
    missing = {n: target for n, target in kernel.items() if n not in ours}
    extra = {n: (i.typestring, i.name) for n, i in ours.items() if n not in kernel}
    assert not missing and not extra, f"lanner lacks {missing}; lanner has more: {extra}"
    closed = {int(n) for n in (tmp_path / "closed").read_text().split()} - set(kernel)
    ghosts = {n: (ours[n].typestring, ours[n].name) for n in closed if n in ours}
    assert closed and not ghosts, f"closed fds lanner still has: {ghosts}"
    tcp_checked = unix_checked = 0
    for num, target in kernel.items():
        info = ours[num]
        kind = _STATE_KINDS.get(info.typestring, info.typestring)
        assert kind == _kind(target), (num, target, info.typestring, info.name)
        if kind == "path":
            assert info.name.rstrip("/") == target.removesuffix(" (deleted)"), (num, target)
        inode = int(target[8:-1]) if target.startswith("socket:[") else 0
        if inode and inode in unix_paths:  # the listener and its accepted end carry the bound path
            # fd.name of a connected unix socket is "<src>-><dst> <path>", as in sysdig.
            assert info.name.rsplit(" ", 1)[-1] == unix_paths[inode], (num, info.name)
            unix_checked += 1
        inet = sockets.get(inode) if inode else None
        if inet is not None:  # TCP: the same endpoints as the kernel's (client->server order)
            ends = {(inet.sip, inet.sport), (inet.dip, inet.dport)} - {(None, None)}
            ours_ends = {(info.cip, info.cport), (info.sip, info.sport)} - {(None, None)}
            assert ours_ends == ends, (num, info.name, ends)
            tcp_checked += 1
    assert tcp_checked >= 4, "the listener, the client, the accepted socket and UDP compared"
    assert unix_checked >= 2, "the unix listener and its accepted end were compared"
