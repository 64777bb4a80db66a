"""Parts of the live capture that need no kernel: selection, layouts, the ring reader, errors."""

from __future__ import annotations

import ctypes
import mmap
import re
import struct
from pathlib import Path
from typing import BinaryIO

import pytest

from lanner.capture.ebpf import syscalls
from lanner.capture.ebpf.layout import Globals, enter_layouts, fill_enter_layouts
from lanner.capture.ebpf.ring import RingReader
from lanner.capture.ebpf.source import FILE_IO_DATA, ProbeError, ProbeSource, boot_to_epoch_ns
from lanner.events.event import Event
from lanner.events.table import event_info

PROBE_HEADER = Path(__file__).resolve().parents[2] / "src/lanner/capture/ebpf/lanner_probe.h"


def test_select_maps_event_names_to_capturable_syscalls() -> None:
    sel = syscalls.select(["openat", "execve", "procexit", "umount", "getppid", "k8s_audit"])
    assert sel.syscalls == {"openat", "execve", "umount2"}
    assert sel.procexit
    assert sel.unsupported == {"getppid", "k8s_audit"}
    assert sel.numbers()["openat"] == 257
    assert not syscalls.select([]).procexit


def test_fcntl_for_the_state_alone_selects_only_its_fd_commands() -> None:
    state_only = syscalls.select(["fcntl:fd", "openat"])
    assert state_only.syscalls == {"fcntl", "openat"} and state_only.fd_only == {"fcntl"}
    assert state_only.mark("fcntl") == syscalls.SEL_FD_ONLY
    assert state_only.mark("openat") == syscalls.SEL_ALL and state_only.mark("close") == 0
    # A rule naming fcntl wants every command.
    both = syscalls.select(["fcntl:fd", "fcntl"])
    assert both.fd_only == frozenset() and both.mark("fcntl") == syscalls.SEL_ALL
    # The value the probe compares with (lanner_probe.h).
    assert f"#define SEL_FD_ONLY {syscalls.SEL_FD_ONLY}" in PROBE_HEADER.read_text()


def _probe_sources() -> str:
    ebpf = PROBE_HEADER.parent
    return "\n".join(
        p.read_text()
        for p in sorted(ebpf.glob("*.bpf.c")) + sorted(ebpf.glob("*.h"))
        if p.name != "vmlinux.h"
    )


def _probe_param_counts() -> dict[str, set[int]]:
    """PPME name -> the parameter counts the probe's sources pass to ev_begin() with it.

    `ev_begin(buf, A ? PPME_X : PPME_Y, A ? 4 : 5, tid)` pairs names and counts in order; the
    clone and execve helpers take their code as an argument, so their callers are listed by
    the helpers' own count.
    """
    text = _probe_sources()
    counts: dict[str, set[int]] = {}
    for code_expr, count_expr in re.findall(
        r"ev_begin\(buf,\s*([^,]+?),\s*([^,]+?),\s*[^)]*\)", text, re.S
    ):
        names = re.findall(r"PPME_\w+", code_expr)
        numbers = [int(n) for n in re.findall(r"(?<![\w])\d+", re.sub(r"NR_\w+", "", count_expr))]
        if not names:  # a helper taking its code as a parameter
            continue
        if len(numbers) == 1:
            numbers = numbers * len(names)
        assert len(numbers) == len(names), (code_expr, count_expr)
        for name, number in zip(names, numbers, strict=True):
            counts.setdefault(name, set()).add(number)
    # codes chosen into a variable first (`code = ...; ev_begin(buf, code, ...)` or a helper)
    via_variable = {
        "PPME_SYSCALL_CLONE_20_X": 21,
        "PPME_SYSCALL_FORK_20_X": 21,
        "PPME_SYSCALL_VFORK_20_X": 21,
        "PPME_SYSCALL_CLONE3_X": 21,
        "PPME_SYSCALL_EXECVE_19_X": 31,
        "PPME_SYSCALL_EXECVEAT_X": 31,
        "PPME_SYSCALL_RENAMEAT_X": 5,
        "PPME_SYSCALL_RENAMEAT2_X": 6,
        "PPME_SYSCALL_LINKAT_2_X": 6,
        "PPME_SYSCALL_EVENTFD_X": 1,
        "PPME_SYSCALL_SIGNALFD_X": 1,
        "PPME_SYSCALL_TIMERFD_CREATE_X": 1,
        "PPME_SYSCALL_INOTIFY_INIT_X": 1,
        "PPME_SYSCALL_EPOLL_CREATE_X": 1,
        "PPME_SYSCALL_EPOLL_CREATE1_X": 1,
    }
    for name, count in via_variable.items():
        assert name in text, name
        counts.setdefault(name, set()).add(count)
    return counts


def test_probe_records_have_the_event_tables_param_counts() -> None:
    header = PROBE_HEADER.read_text()
    defines = {n: int(c) for n, c in re.findall(r"#define (PPME_\w+) (\d+)", header)}
    counts = _probe_param_counts()
    assert set(counts) == set(defines), "every code the probe defines is emitted, and vice versa"
    for name, numbers in counts.items():
        info = event_info(defines[name])
        assert info is not None, name
        assert numbers == {info.nparams}, (name, numbers, info.nparams)
        # the clone helpers write res+20 params; clone-family codes must have that layout
    assert "PPME_SYSCALL_CLONE3_X" in counts and "PPME_SYSCALL_EXECVE_19_X" in counts


def test_probe_event_codes_are_exit_events_of_the_table_except_procexit() -> None:
    header = PROBE_HEADER.read_text()
    for name, code in re.findall(r"#define (PPME_\w+) (\d+)", header):
        info = event_info(int(code))
        assert info is not None, name
        assert info.direction == (">" if name == "PPME_PROCEXIT_1_E" else "<"), name
        assert info.name.upper() in name or (info.name, name) == (
            "accept",
            "PPME_SOCKET_ACCEPT_5_X",
        )


def test_globals_mirror_has_the_c_layout() -> None:
    # u32 self_tgid, u32 snaplen, u64 offset, u32 procexit, u32 active, u8[512], 64-byte cpu slots
    assert Globals.syscall_enabled.offset == 24
    assert Globals.cpu.offset == 24 + syscalls_size()
    # then u32 latency_enabled, u32 file_io_enabled, 512 enter layouts of 8 bytes
    assert Globals.latency_enabled.offset == 24 + 512 + 256 * 64
    assert Globals.file_io_enabled.offset == Globals.latency_enabled.offset + 4
    assert Globals.enter_layout.offset == Globals.file_io_enabled.offset + 4
    assert ctypes.sizeof(Globals) == 24 + 512 + 256 * 64 + 8 + 512 * 8


def syscalls_size() -> int:
    return 512


def test_decoding_a_probe_record_into_an_event() -> None:
    # an openat exit record as the probe writes it
    values = [
        struct.pack("<q", 3),
        struct.pack("<q", -100),
        b"/etc/passwd\0",
        struct.pack("<I", 1 | 1 << 12),
        struct.pack("<I", 0),
        struct.pack("<I", 0xFD00),
        struct.pack("<Q", 42),
    ]
    lens = struct.pack(f"<{len(values)}H", *(len(v) for v in values))
    body = lens + b"".join(values)
    header = struct.pack(
        "<QQIHI", 1_700_000_000_000_000_000, 4242, 26 + len(body), 307, len(values)
    )
    record = header + body
    src = ProbeSource.__new__(ProbeSource)  # decode() needs no kernel state
    src._num = 0
    src._undecodable = 0
    events = ProbeSource.decode(src, [record, record[:20], b"\0" * 26])
    assert len(events) == 1
    ev = events[0]
    assert isinstance(ev, Event)
    assert (ev.tid, ev.ts, ev.type_name, ev.direction) == (
        4242,
        1_700_000_000_000_000_000,
        "openat",
        "<",
    )
    assert ev.param_by_name("name") == "/etc/passwd"
    assert ev.param_by_name("dirfd") == -100
    assert ev.param_by_name("ino") == 42
    assert "O_RDONLY" in ev.render_param(3)
    assert src._undecodable == 2


def _ring_file(tmp_path: Path, size: int, records: list[tuple[int, bytes]]) -> tuple[BinaryIO, int]:
    """A file laid out like a mapped ring: consumer page, producer page, data (not doubled)."""
    page = mmap.PAGESIZE
    data = bytearray(size)
    pos = 0
    for flags, payload in records:
        struct.pack_into("<II", data, pos, len(payload) | flags, 0)
        data[pos + 8 : pos + 8 + len(payload)] = payload
        pos += (len(payload) + 8 + 7) & ~7
    blob = bytearray(page * 2) + data + bytes(size)
    struct.pack_into("<Q", blob, page, pos)  # producer position
    path = tmp_path / "ring"
    path.write_bytes(bytes(blob))
    return path.open("r+b"), pos


def test_ring_reader_reads_committed_records_in_order(tmp_path: Path) -> None:
    busy, discard = 1 << 31, 1 << 30
    handle, end = _ring_file(
        tmp_path,
        4096,
        [
            (0, b"first"),
            (discard, b"dropped"),
            (0, b"second-record"),
            (busy, b"in-flight"),
            (0, b"x"),
        ],
    )
    ring = RingReader(handle.fileno(), 4096)
    assert ring.pending() == end
    assert ring.read() == [b"first", b"second-record"]  # stops at the busy record
    assert ring.pending() == end - (16 + 16 + 24)
    assert ring.read() == []  # still busy: nothing more, nothing lost
    ring.close()
    handle.close()


def test_ring_reader_rejects_a_bad_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="power of two"):
        RingReader(0, 3000)


def test_missing_probe_object_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeError) as err:
        ProbeSource(["openat"], probe=tmp_path / "nope.bpf.o")
    text = str(err.value)
    assert "\n" not in text
    assert "make probe" in text or "root" in text or "BTF" in text or "x86_64" in text


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown probe mode"):
        ProbeSource(["openat"], mode="kprobe")


def test_boot_offset_converts_boottime_to_epoch() -> None:
    import time

    offset = boot_to_epoch_ns()
    now = time.clock_gettime_ns(time.CLOCK_BOOTTIME) + offset
    assert abs(now - time.time_ns()) < 50_000_000


def test_require_bpf_fails_instead_of_skipping_when_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.capture import bpf_support

    monkeypatch.setattr(bpf_support, "_unavailable_reason", lambda: "no bpf here")
    monkeypatch.setattr(bpf_support, "REQUIRE_BPF", True)
    with pytest.raises(pytest.fail.Exception, match=r"LANNER_REQUIRE_BPF=1 .*no bpf here"):
        bpf_support.require_bpf()
    monkeypatch.setattr(bpf_support, "REQUIRE_BPF", False)
    with pytest.raises(pytest.skip.Exception, match="no bpf here"):
        bpf_support.require_bpf()


def test_vectored_and_positional_names_select_their_syscalls() -> None:
    sel = syscalls.select(["pread", "pwrite", "readv", "writev", "preadv", "pwritev"])
    # glibc's preadv/pwritev call the *2 forms: both send preadv/pwritev events
    assert sel.syscalls == {
        "pread64",
        "pwrite64",
        "readv",
        "writev",
        "preadv",
        "preadv2",
        "pwritev",
        "pwritev2",
    }
    assert not sel.unsupported


def test_enter_layouts_copy_each_enter_param_from_the_same_named_exit_param() -> None:
    layouts = enter_layouts()
    for code, sources in layouts.items():
        enter, leave = event_info(code - 1), event_info(code)
        assert enter is not None and leave is not None
        assert len(sources) == enter.nparams
        for param, index in zip(enter.params, sources, strict=True):
            assert (leave.params[index].name, leave.params[index].type) == (param.name, param.type)
    # openat's exit (fd, dirfd, name, flags, mode, dev, ino) feeds its enter (dirfd, name, ...)
    assert layouts[307] == (1, 2, 3, 4)
    assert layouts[119] == (2, 3)  # writev: fd, size
    # no enter event where the exit does not carry it or where a child has none
    assert 367 not in layouts  # dup: the exit names its fd "oldfd"
    assert 223 not in layouts and 293 not in layouts  # clone, execve


def test_fill_enter_layouts_marks_only_those_codes() -> None:
    g = Globals()
    fill_enter_layouts(g)
    emitted = {code for code in range(512) if g.enter_layout[code].emit}
    assert emitted == set(enter_layouts())
    slot = g.enter_layout[307]
    assert (slot.nparams, list(slot.src)[:4]) == (4, [1, 2, 3, 4])


def test_file_data_is_wanted_when_reads_or_writes_are_named_or_everything_is() -> None:
    assert syscalls.wants_file_data(None)
    assert syscalls.wants_file_data({"openat", "pwrite"})
    assert not syscalls.wants_file_data({"openat", "sendto", "recvfrom", "connect"})
    # The value the probe compares with (lanner_probe.h).
    assert f"#define FILE_IO_DATA {FILE_IO_DATA}" in PROBE_HEADER.read_text()
