"""The Event record: lazy decode, name lookup with enter fallback, rendering of values."""

from __future__ import annotations

import struct

from lanner.events.event import Event
from lanner.events.table import ParamInfo, event_info
from lanner.events.values import AF_INET, AF_UNIX, SockAddr, SockTuple


def _info(code: int):  # type: ignore[no-untyped-def]
    info = event_info(code)
    assert info is not None
    return info


def _q(v: int) -> bytes:
    return struct.pack("<q", v)


def _u32(v: int) -> bytes:
    return struct.pack("<I", v)


def _open_exit(fd: int, name: bytes, flags: int) -> Event:
    params = [_q(fd), name + b"\0", _u32(flags), _u32(0o644), _u32(0), struct.pack("<Q", 7)]
    return Event.from_params(_info(3), params, num=5, ts=1, tid=42)


def test_open_exit_decodes_and_renders() -> None:
    event = _open_exit(3, b"/etc/passwd", 1 | 4096)
    assert (event.type_name, event.direction, event.nparams) == ("open", "<", 6)
    assert event.param(0) == 3
    assert event.param_by_name("name") == "/etc/passwd"
    assert event.render_param(2) == "4097(O_RDONLY|O_CLOEXEC)"
    assert event.render_param(3) == "0644"
    assert event.param(99) is None and event.param_raw(99) == b""


def test_failed_fd_renders_errno_and_rdwr_is_named_once() -> None:
    event = _open_exit(-2, b"x", 3 | 4)
    assert event.render_param(0) == "-2(ENOENT)"
    assert event.render_param(2) == "7(O_CREAT|O_RDWR)"


def test_exit_falls_back_to_enter_params() -> None:
    enter = Event.from_params(_info(22), [_q(5), bytes([AF_INET, 10, 0, 0, 1]) + b"\x50\x00"])
    exit_ = Event.from_params(_info(23), [_q(0)])
    assert exit_.param_by_name("addr") is None
    exit_.enter = enter
    assert exit_.param_by_name("addr") == SockAddr(AF_INET, "10.0.0.1", 80, None)
    assert exit_.param_by_name("nosuch") is None


def test_socktuple_ipv4_and_unix() -> None:
    ipv4 = bytes([AF_INET, 127, 0, 0, 1]) + struct.pack("<H", 41234)
    ipv4 += bytes([127, 0, 0, 1]) + struct.pack("<H", 8080)
    event = Event.from_params(_info(23), [_q(0), ipv4])
    assert event.param(1) == SockTuple(AF_INET, "127.0.0.1", 41234, "127.0.0.1", 8080, None)
    assert event.render_param(1) == "127.0.0.1:41234->127.0.0.1:8080"
    unix = bytes([AF_UNIX]) + struct.pack("<QQ", 0, 0xFFFF8800) + b"/run/x.sock\0"
    event = Event.from_params(_info(23), [_q(-2), unix])
    assert event.render_param(1) == "0->ffff8800 /run/x.sock"
    assert event.render_param(0) == "-2(ENOENT)"


def test_bytebuf_non_printables_become_dots_and_empty_tuple_is_null() -> None:
    event = Event.from_params(_info(35), [_q(3), b"GET /\r\n\x00", b""])
    assert event.render_args() == "res=3 data=GET /... tuple=NULL "


def test_generic_event_takes_syscall_name_and_shows_no_args() -> None:
    event = Event.from_params(_info(0), [struct.pack("<H", 75), struct.pack("<H", 10)])
    assert event.type_name == "mprotect"
    assert event.render_args() == ""
    unknown = Event.from_params(_info(1), [struct.pack("<H", 9999)])
    assert unknown.type_name == "<unknown>"


def test_decorator_hook_receives_value_and_text() -> None:
    event = _open_exit(3, b"/etc/passwd", 1)
    seen: list[tuple[int, object, str]] = []

    def decorate(ev: Event, index: int, info: ParamInfo, value: object, text: str) -> str:
        seen.append((index, value, text))
        return f"{text}(<f>/etc/passwd)" if info.name == "fd" else text

    assert event.render_param(0, decorate) == "3(<f>/etc/passwd)"
    assert event.render_args(decorate).startswith("fd=3(<f>/etc/passwd) name=/etc/passwd ")
    assert seen[0] == (0, 3, "3")


def test_corrupt_lengths_never_read_past_the_event() -> None:
    info = _info(7)  # read exit: res, data
    buf = struct.pack("<HH", 8, 60000) + _q(5) + b"abc"
    event = Event(1, 0, 1, 0, info, 2, buf, 0, len(buf))
    assert event.param(0) == 5
    assert event.param_raw(1) == b"abc"


def test_dirfd_of_the_working_directory_renders_as_at_fdcwd() -> None:
    # openat exit (307): fd, dirfd, name, flags, mode, dev, ino
    params = [_q(3), _q(-100), b"rel\0", _u32(1), _u32(0), _u32(0), struct.pack("<Q", 9)]
    event = Event.from_params(_info(307), params, num=1, ts=1, tid=42)
    assert event.render_param(1) == "-100(AT_FDCWD)"
    # -100 as a result is an errno (ENETDOWN), not a directory.
    assert _open_exit(-100, b"x", 1).render_param(0) == "-100(ENETDOWN)"
