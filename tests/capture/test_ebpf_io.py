"""The live probe on data syscalls: vectored and positional I/O, file I/O on demand, and the enter
events that carry syscall latency."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.ebpf.source import tracefs_syscalls
from lanner.capture.procfs import snapshot
from lanner.capture.scap_write import ScapWriter
from lanner.events.event import Event
from tests.capture.bpf_support import collect, drain, params, require_bpf
from tests.sysdig import sysdig_output

pytestmark = pytest.mark.bpf

_IO = ["read", "write", "readv", "writev", "pread", "pwrite", "preadv", "pwritev", "openat"]

# Vectored I/O on a socket pair, then positional and vectored I/O on a regular file. Prints its
# pid and the file's fd so the test can pick its events out of the stream.
IO_CHILD = r"""
import os, socket, sys
a, b = socket.socketpair()
os.writev(a.fileno(), [b"GET /vec", b"tored HTTP/1.1\r\n", b"\r\n"])
os.readv(b.fileno(), [bytearray(4), bytearray(64)])
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
os.pwrite(fd, b"x" * 1000, 0)
os.pread(fd, 100, 10)
os.pwritev(fd, [b"ab", b"cd"], 5)
os.preadv(fd, [bytearray(3), bytearray(3)], 0)
print(os.getpid(), fd, flush=True)
"""

# A socket read that blocks until a thread writes 0.2 s later, then a read that does not block.
SLOW_READ_CHILD = r"""
import os, socket, threading, time
a, b = socket.socketpair()
threading.Timer(0.2, lambda: a.send(b"late")).start()
os.read(b.fileno(), 64)
a.send(b"now")
os.read(b.fileno(), 64)
print(os.getpid(), b.fileno(), flush=True)
"""


@pytest.fixture(scope="module")
def io_probe() -> Iterator[ProbeSource]:
    require_bpf()
    with ProbeSource(_IO, snaplen=256, file_io=True) as src:
        yield src


def _run(script: str, *args: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    ).stdout
    pid, fd = out.split()
    return int(pid), int(fd)


def _by_type(events: list[Event], pid: int) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for ev in events:
        if ev.tid == pid and ev.direction == "<":
            found.setdefault(ev.type_name, []).append(params(ev))
    return found


def test_vectored_socket_io_gathers_the_data_of_every_iovec(
    io_probe: ProbeSource, tmp_path: Path
) -> None:
    drain(io_probe, settle=0.02)
    pid, _fd = _run(IO_CHILD, str(tmp_path / "data"))
    got = _by_type(drain(io_probe), pid)
    request = b"GET /vectored HTTP/1.1\r\n\r\n"
    (writev,) = got["writev"]
    assert writev["res"] == len(request) and writev["data"] == request
    assert writev["size"] == len(request)
    (readv,) = got["readv"]
    assert readv["res"] == len(request) and readv["data"] == request
    assert readv["size"] == 4 + 64  # the buffers offered, not the bytes read
    assert readv["fd"] != writev["fd"]


def test_file_io_is_sent_without_data_only_when_asked(
    io_probe: ProbeSource, tmp_path: Path
) -> None:
    drain(io_probe, settle=0.02)
    pid, fd = _run(IO_CHILD, str(tmp_path / "data"))
    got = _by_type(drain(io_probe), pid)
    on_file = {
        name: [p for p in calls if p["fd"] == fd]
        for name, calls in got.items()
        if name in ("pread", "pwrite", "preadv", "pwritev")
    }
    assert [(p["res"], p["size"], p["pos"], p["data"]) for p in on_file["pwrite"]] == [
        (1000, 1000, 0, b"")
    ]
    assert [(p["res"], p["size"], p["pos"]) for p in on_file["pread"]] == [(100, 100, 10)]
    assert [(p["res"], p["size"], p["pos"], p["data"]) for p in on_file["pwritev"]] == [
        (4, 4, 5, b"")
    ]
    assert [(p["res"], p["size"], p["pos"]) for p in on_file["preadv"]] == [(6, 6, 0)]

    io_probe.file_io = False
    try:
        drain(io_probe, settle=0.02)
        pid, fd = _run(IO_CHILD, str(tmp_path / "data"))
        got = _by_type(drain(io_probe), pid)
    finally:
        io_probe.file_io = True
    assert not {"pread", "pwrite", "preadv", "pwritev"} & set(got)
    assert all(p["fd"] != fd for name in ("read", "write") for p in got.get(name, []))
    assert [p["data"] for p in got["writev"]] == [b"GET /vectored HTTP/1.1\r\n\r\n"]


@pytest.mark.parametrize("mode", ["raw", "tracepoint"])
def test_latency_mode_sends_each_exits_enter_event_with_the_enter_time(mode: str) -> None:
    require_bpf()
    if mode == "tracepoint" and tracefs_syscalls() is None:
        pytest.skip("no tracefs: the per-syscall tracepoints cannot attach")
    with ProbeSource(["read", "write", "sendto"], latency=True, mode=mode) as src:
        assert src.mode == mode
        drain(src, settle=0.02)
        pid, fd = _run(SLOW_READ_CHILD)
        events = [e for e in drain(src) if e.tid == pid]
    reads = [e for e in events if e.type_name == "read"]
    assert [e.direction for e in reads] == [">", "<", ">", "<"], reads
    slow_enter, slow_exit, fast_enter, fast_exit = reads
    assert params(slow_enter) == {"fd": fd, "size": 64}
    assert params(slow_exit)["res"] == 4
    assert 0.18e9 <= slow_exit.ts - slow_enter.ts <= 2e9
    assert 0 < fast_exit.ts - fast_enter.ts < 0.05e9
    # every captured exit of the child comes right after its own enter event
    for enter, leave in zip(events[::2], events[1::2], strict=True):
        assert (enter.direction, leave.direction) == (">", "<")
        assert enter.code == leave.code - 1 and enter.ts <= leave.ts


def test_without_latency_there_are_exit_events_only(io_probe: ProbeSource) -> None:
    drain(io_probe, settle=0.02)
    pid, _fd = _run(SLOW_READ_CHILD)
    events = collect(io_probe, lambda evs: sum(e.tid == pid for e in evs) >= 2, timeout=3)
    mine = [e for e in events if e.tid == pid]
    assert mine and {e.direction for e in mine} == {"<"}


@pytest.mark.skipif(shutil.which("sysdig") is None, reason="sysdig (Debian) not installed")
def test_sysdig_reads_the_enter_exit_pairs_and_their_latency(tmp_path: Path) -> None:
    require_bpf()
    out = tmp_path / "latency.scap"
    with ProbeSource(["read", "write", "sendto"], latency=True) as src:
        drain(src, settle=0.02)
        pid, fd = _run(SLOW_READ_CHILD)
        events = [e for e in drain(src) if e.tid == pid]
    writer = ScapWriter(str(out))
    writer.write_snapshot(snapshot(skip_pid=os.getpid()))
    for event in events:
        writer.write_event(event)
    writer.close()
    fmt = "*%evt.dir %evt.type %evt.arg.fd %evt.latency"
    listing = sysdig_output("-r", str(out), "-p", fmt, f"proc.pid={pid} and evt.type=read")
    listing = listing.split("\n")
    rows = [line.split() for line in listing if line]
    assert [r[:2] for r in rows] == [[">", "read"], ["<", "read"]] * 2, rows
    assert rows[0][2] == str(fd)
    slow, fast = int(rows[1][3]), int(rows[3][3])  # sysdig's own exit - enter, in ns
    assert 0.18e9 <= slow <= 2e9 and 0 < fast < 0.05e9
