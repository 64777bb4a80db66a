"""The .scap writer: what it writes, ScapReader reads back the same (snapshot and events)."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from lanner.capture.procfs import snapshot
from lanner.capture.scap import ScapReader
from lanner.capture.scap_records import (
    FD_FILE_V2,
    FD_IPV4_SERVSOCK,
    FD_IPV4_SOCK,
    FD_IPV6_SOCK,
    FD_UNIX_SOCK,
    FdEntry,
    GroupEntry,
    MachineInfo,
    ProcEntry,
    UserEntry,
)
from lanner.capture.scap_write import ScapWriter
from lanner.events.event import Event
from lanner.events.table import event_info
from tests.sysdig import sysdig_output


def _proc(tid: int, pid: int) -> ProcEntry:
    entry = ProcEntry(
        tid, pid, 1, "worker", "/usr/bin/worker", ["-x", "two words"], "/srv/", 1024, 0, 33, 44
    )
    entry.sid, entry.vpgid, entry.exepath = pid, pid, "/usr/bin/worker"
    entry.vmsize_kb, entry.vmrss_kb, entry.vmswap_kb, entry.pfmajor, entry.pfminor = 9, 8, 7, 6, 5
    entry.env = ["A=1", "PATH=/bin"]
    entry.vtid, entry.vpid, entry.cgroups, entry.root = tid, pid, ["cpu=/x", "memory=/y"], "/"
    entry.tty, entry.loginuid, entry.cap_effective, entry.exe_ino, entry.pgid = (
        34816,
        1000,
        5,
        77,
        pid,
    )
    entry.pidns_init_start_ts, entry.cap_inheritable, entry.cap_permitted = 3, 1, 2
    entry.exe_writable, entry.exe_upper_layer, entry.exe_from_memfd = True, False, True
    entry.exe_lower_layer, entry.exe_ino_ctime, entry.exe_ino_mtime = False, 10**18, 10**18 + 1
    return entry


def _open_event(tid: int, fd: int, path: str) -> Event:
    info = event_info(307)  # openat exit: fd dirfd name flags mode dev ino
    assert info is not None
    values = [
        struct.pack("<q", fd),
        struct.pack("<q", -100),
        path.encode() + b"\0",
        struct.pack("<I", 1),
        struct.pack("<I", 0),
        struct.pack("<I", 0xFD00),
        struct.pack("<Q", 42),
    ]
    lens = struct.pack(f"<{len(values)}H", *(len(v) for v in values))
    header = struct.pack("<QQIHI", 1_700_000_000_000_000_123, tid, 26, 307, len(values))
    record = header + lens + b"".join(values)
    return Event(1, 1_700_000_000_000_000_123, tid, 0, info, len(values), record, 26, len(record))


@pytest.mark.parametrize("compress", [False, True])
def test_snapshot_and_events_read_back(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "out.scap"
    fds = [
        FdEntry(100, 3, 11, FD_FILE_V2, path="/var/log/app.log", open_flags=2, dev=0xFD00),
        FdEntry(
            100,
            4,
            12,
            FD_IPV4_SOCK,
            sip="10.0.0.1",
            sport=5555,
            dip="10.0.0.2",
            dport=80,
            l4proto=1,
        ),
        FdEntry(100, 5, 13, FD_IPV4_SERVSOCK, sip="0.0.0.0", sport=8080, l4proto=1),
        FdEntry(100, 6, 14, FD_IPV6_SOCK, sip="::1", sport=1, dip="fe80::1", dport=2, l4proto=1),
        FdEntry(100, 7, 15, FD_UNIX_SOCK, unix_src=0xAB, unix_dst=0xCD, path="/run/x.sock"),
    ]
    users = [UserEntry(0, 0, "root", "/root", "/bin/sh"), GroupEntry(44, "staff")]
    writer = ScapWriter(str(path), compress=compress)
    writer.write_snapshot(
        [
            MachineInfo(4, 1 << 33, 1 << 22, "node-a", 123),
            _proc(100, 100),
            _proc(101, 100),
            *fds,
            *users,
        ]
    )
    writer.write_event(_open_event(101, 9, "/etc/passwd"))
    writer.close()
    assert writer.events == 1
    assert (path.read_bytes()[:2] == b"\x1f\x8b") is compress

    items = list(ScapReader(path))
    machines = [i for i in items if isinstance(i, MachineInfo)]
    assert [(m.hostname, m.num_cpus, m.boot_ts_epoch) for m in machines] == [("node-a", 4, 123)]
    procs = [i for i in items if isinstance(i, ProcEntry)]
    assert procs == [_proc(100, 100), _proc(101, 100)]
    read_fds = [i for i in items if isinstance(i, FdEntry)]
    for written, read in zip(fds, read_fds, strict=True):
        for name in ("fd", "ino", "type", "path", "open_flags", "dev", "sip", "sport", "dip"):
            assert getattr(read, name) == getattr(written, name), name
        assert (read.dport, read.unix_src, read.unix_dst) == (
            written.dport,
            written.unix_src,
            written.unix_dst,
        )
    assert [i for i in items if isinstance(i, (UserEntry, GroupEntry))] == users
    events = [e for i in items if isinstance(i, list) for e in i]
    assert len(events) == 1
    ev = events[0]
    assert (ev.tid, ev.ts, ev.type_name) == (101, 1_700_000_000_000_000_123, "openat")
    assert ev.param_by_name("name") == "/etc/passwd" and ev.param_by_name("ino") == 42


def _oversized_snapshot(path: Path) -> ProcEntry:
    """A process with values past libscap's limits: env ~100 KiB (over a u16 length too),
    a 5000-byte first argument, a 2000-byte cwd; an fd and a user with names too long."""
    entry = _proc(7, 7)
    entry.env = [f"VAR{i}={'x' * 1000}" for i in range(100)]
    entry.args = ["y" * 5000, "second"]
    entry.cwd = "/" + "d" * 1999
    writer = ScapWriter(str(path))
    writer.write_snapshot(
        [
            entry,
            FdEntry(7, 3, 1, FD_FILE_V2, path="/" + "f" * 3000, open_flags=0, dev=0),
            UserEntry(0, 0, "u" * 400, "/" + "h" * 400, "/bin/sh"),
            GroupEntry(0, "g" * 400),
        ]
    )
    writer.write_event(_open_event(7, 4, "/etc/passwd"))  # sysdig refuses a file with no event
    writer.close()
    return entry


def test_values_are_cut_to_what_libscap_accepts(tmp_path: Path) -> None:
    """sysdig refuses a whole file with one value over its limit ("invalid envlen 7284" from a
    shell with a large environment): env/args within 4096 bytes in whole items (a longer first
    item cut), paths within 1023, user and group names within 255."""
    entry = _oversized_snapshot(tmp_path / "big.scap")
    items = list(ScapReader(tmp_path / "big.scap"))
    (read,) = [i for i in items if isinstance(i, ProcEntry)]
    assert read.env and 3 <= len(read.env) < 5
    assert read.env == entry.env[: len(read.env)]
    assert read.args == ["y" * 4095]
    assert read.cwd == entry.cwd[:1023]
    (fd,) = [i for i in items if isinstance(i, FdEntry)]
    assert fd.path == "/" + "f" * 1022
    (user,) = [i for i in items if isinstance(i, UserEntry)]
    assert (user.name, user.homedir) == ("u" * 255, "/" + "h" * 254)
    (group,) = [i for i in items if isinstance(i, GroupEntry)]
    assert group.name == "g" * 255


@pytest.mark.skipif(shutil.which("sysdig") is None, reason="sysdig (Debian) not installed")
def test_sysdig_reads_a_snapshot_with_oversized_values(tmp_path: Path) -> None:
    _oversized_snapshot(tmp_path / "big.scap")
    out = sysdig_output("-r", str(tmp_path / "big.scap"), "-p", "%proc.name %proc.cwd %fd.name")
    assert out.split() == ["worker", "/" + "d" * 1022 + "/", "/etc/passwd"]


def test_the_live_proc_snapshot_reads_back(tmp_path: Path) -> None:
    records = list(snapshot())
    writer = ScapWriter(str(tmp_path / "snap.scap"))
    writer.write_snapshot(records)
    writer.close()
    items = list(ScapReader(tmp_path / "snap.scap"))
    mine = [i for i in items if isinstance(i, ProcEntry) and i.tid == os.getpid()]
    assert len(mine) == 1
    expected = next(r for r in records if isinstance(r, ProcEntry) and r.tid == os.getpid())
    assert (mine[0].comm, mine[0].args, mine[0].cwd, mine[0].exepath) == (
        expected.comm,
        expected.args,
        expected.cwd,
        expected.exepath,
    )
    written_fds = [r for r in records if isinstance(r, FdEntry)]
    assert len([i for i in items if isinstance(i, FdEntry)]) == len(written_fds)


def test_interface_list_round_trips(tmp_path: Path) -> None:
    from lanner.capture.scap import ScapReader
    from lanner.capture.scap_records import InterfaceEntry, MachineInfo
    from lanner.capture.scap_write import ScapWriter
    from lanner.events.values import AF_INET, AF_INET6

    path = tmp_path / "if.scap"
    writer = ScapWriter(str(path))
    writer.write_snapshot(
        [
            MachineInfo(1, 1 << 30, 1 << 22, "h"),
            InterfaceEntry("lo", AF_INET, "127.0.0.1", "255.0.0.0", None),
            InterfaceEntry("eth0", AF_INET6, "fd00::2", None, None),
        ]
    )
    writer.close()
    read = [i for i in ScapReader(path) if isinstance(i, InterfaceEntry)]
    assert [(i.name, i.family, i.addr) for i in read] == [
        ("lo", AF_INET, "127.0.0.1"),
        ("eth0", AF_INET6, "fd00::2"),
    ]
