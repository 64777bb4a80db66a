"""evt.* extractors on hand-built events; expected values follow sysdig 0.29.3's output."""

from __future__ import annotations

import pytest

from tests.fields.builders import (
    FakeState,
    attach,
    cstr,
    extract,
    file_fd,
    i64,
    make_event,
    thread,
    u32,
    u64,
)

TS = 1470327477881781397  # 2016-08-04 16:17:57.881781397 UTC


def _open_exit(fd: int = 3, flags: int = 4097, mode: int = 0, ts: int = TS + 3951) -> object:
    return make_event(
        "open",
        "<",
        [i64(fd), cstr("/etc/ld.so.cache"), u32(flags), u32(mode), u32(0), u64(0)],
        ts=ts,
        num=141,
        cpu=1,
        tid=20072,
    )


@pytest.fixture
def opened() -> object:
    state = FakeState()
    cat = thread(state, 20072, "cat", args=("/dev/null",))
    cat.fdtable.add(file_fd(3, "/etc/ld.so.cache"))
    enter = make_event("open", ">", [cstr("/etc/ld.so.cache"), u32(4097), u32(0)], ts=TS, tid=20072)
    attach(enter, state, cat)
    event = attach(_open_exit(), state, cat, 3)
    event.enter = enter
    return event


def test_header_fields(opened: object) -> None:
    assert extract("evt.num", opened) == 141
    assert extract("evt.cpu", opened) == 1
    assert extract("evt.type", opened) == "open"
    assert extract("evt.dir", opened) == "<"
    assert extract("syscall.type", opened) == "open"
    assert extract("evt.rawtime", opened) == TS + 3951
    assert extract("evt.rawtime.s", opened) == 1470327477
    assert extract("evt.rawtime.ns", opened) == 881785348
    assert extract("evt.category", opened) == "file"
    assert extract("evt.source", opened) == "syscall"


def test_time_texts(opened: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert extract("evt.time", opened) == "16:17:57.881785348"
        assert extract("evt.time.s", opened) == "16:17:57"
        assert extract("evt.datetime", opened) == "2016-08-04 16:17:57.881785348"
        assert extract("evt.time.iso8601", opened) == "2016-08-04T16:17:57.881785348+0000"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_latency_pairs_exit_with_enter(opened: object) -> None:
    assert extract("evt.latency", opened) == 3951
    assert extract("evt.latency.human", opened) == "3.95us"
    assert extract("evt.latency", opened.enter) == 0  # type: ignore[attr-defined]
    assert extract("evt.latency.human", opened.enter) == "0ns"  # type: ignore[attr-defined]


def test_results_exist_on_exit_events_only(opened: object) -> None:
    assert extract("evt.res", opened) == "SUCCESS"
    assert extract("evt.rawres", opened) == 3
    assert extract("evt.failed", opened) is False
    assert extract("evt.count.exit", opened) == 1
    enter = opened.enter  # type: ignore[attr-defined]
    assert extract("evt.res", enter) is None
    assert extract("evt.rawres", enter) is None
    assert extract("evt.failed", enter) is False
    assert extract("evt.count.exit", enter) is None


def test_failed_call_reports_errno_name() -> None:
    state = FakeState()
    info = thread(state, 7, "cat")
    event = attach(
        make_event("open", "<", [i64(-2), cstr("/nope"), u32(1), u32(0), u32(0), u64(0)]),
        state,
        info,
    )
    assert extract("evt.res", event) == "ENOENT"
    assert extract("evt.rawres", event) == -2
    assert extract("evt.failed", event) is True
    assert extract("evt.count.error", event) == 1
    assert extract("evt.arg.fd", event) == "ENOENT"
    assert extract("evt.args", event).startswith("fd=-2(ENOENT) name=/nope ")


def test_arg_gives_the_resolved_text_and_args_both(opened: object) -> None:
    assert extract("evt.arg.fd", opened) == "<f>/etc/ld.so.cache"
    assert extract("evt.arg", opened, "0") == "<f>/etc/ld.so.cache"
    assert extract("evt.arg", opened, "1") == "/etc/ld.so.cache"
    assert extract("evt.arg.flags", opened) == "O_RDONLY|O_CLOEXEC"
    assert extract("evt.arg.name", opened) == "/etc/ld.so.cache"
    assert extract("evt.arg.nosuch", opened) is None
    assert extract("evt.arg", opened, "17") is None
    assert extract("evt.args", opened).startswith(
        "fd=3(<f>/etc/ld.so.cache) name=/etc/ld.so.cache flags=4097(O_RDONLY|O_CLOEXEC) mode=0 "
    )
    assert extract("evt.info", opened) == extract("evt.args", opened)


def test_rawarg_is_the_typed_value(opened: object) -> None:
    assert extract("evt.rawarg.fd", opened) == 3
    assert extract("evt.rawarg.flags", opened) == 4097
    assert extract("evt.rawarg.name", opened) == "/etc/ld.so.cache"


def test_arg_by_name_falls_back_to_the_enter_event() -> None:
    state = FakeState()
    info = thread(state, 9, "nc")
    enter = attach(make_event("close", ">", [i64(5)]), state, info)
    exit_ = attach(make_event("close", "<", [i64(0)]), state, info)
    exit_.enter = enter
    assert extract("evt.rawarg.fd", exit_) == 5
    assert extract("evt.arg.fd", exit_) == "5"  # fd 5 is not in the table: no decoration
    assert extract("evt.arg.res", exit_) == "0"


def test_open_mode_tests(opened: object) -> None:
    assert extract("evt.is_open_read", opened) is True
    assert extract("evt.is_open_write", opened) is False
    assert extract("evt.is_open_read", opened.enter) is False  # type: ignore[attr-defined]
    state = FakeState()
    info = thread(state, 1, "sh")
    created = attach(_open_exit(flags=2 | 4, mode=0o755), state, info)
    assert extract("evt.is_open_write", created) is True
    assert extract("evt.is_open_create", created) is True
    assert extract("evt.is_open_exec", created) is True
    plain = attach(_open_exit(flags=2 | 4, mode=0o644), state, info)
    assert extract("evt.is_open_exec", plain) is False


def test_io_buffer_and_category_follow_the_fd() -> None:
    state = FakeState()
    info = thread(state, 4, "cat")
    info.fdtable.add(file_fd(3, "/lib/libc.so.6"))
    read = attach(make_event("read", "<", [i64(4), b"\x7fELF"]), state, info, 3)
    assert extract("evt.buffer", read) == b"\x7fELF"
    assert extract("evt.buflen", read) == 4
    assert extract("evt.category", read) == "file"
    assert extract("evt.is_io_read", read) is True
    assert extract("evt.is_io_write", read) is False
    assert extract("evt.io_dir", read) == "read"
    orphan = attach(make_event("read", "<", [i64(4), b"abcd"]), state, info, None)
    assert extract("evt.category", orphan) == "unknown"
    assert extract("evt.buflen", orphan) is None


def test_pid_arguments_resolve_to_the_thread_name() -> None:
    state = FakeState()
    thread(state, 11310, "bash")
    info = thread(state, 20072, "cat", ptid=11310)
    event = attach(make_event("kill", ">", [i64(11310), b"\x0f"]), state, info)
    assert extract("evt.arg.pid", event) == "bash"
    assert "pid=11310(bash)" in extract("evt.args", event)


def test_type_is_and_abspath() -> None:
    state = FakeState()
    info = thread(state, 5, "mkdir", cwd="/home/u")
    event = attach(make_event("mkdir", "<", [i64(0), cstr("sub/dir")]), state, info)
    assert extract("evt.type.is.mkdir", event) == 1
    assert extract("evt.type.is.open", event) == 0
    assert extract("fs.path.nameraw", event) == "sub/dir"
    assert extract("fs.path.name", event) == "/home/u/sub/dir"


def test_syslog_writes() -> None:
    state = FakeState()
    info = thread(state, 4, "logger")
    info.fdtable.add(file_fd(3, "/dev/log"))
    info.fdtable.add(file_fd(4, "/tmp/x"))
    to_log = attach(make_event("write", "<", [i64(5), b"hello"]), state, info, 3)
    elsewhere = attach(make_event("write", "<", [i64(5), b"hello"]), state, info, 4)
    assert extract("evt.is_syslog", to_log) is True
    assert extract("evt.is_syslog", elsewhere) is False
    assert extract("evt.io_dir", to_log) == "write"


def test_generic_syscall_events_have_no_result_nor_args() -> None:
    import struct

    state = FakeState()
    info = thread(state, 4, "cat")
    event = attach(make_event("syscall", "<", [struct.pack("<H", 75)]), state, info)
    assert extract("evt.res", event) is None
    assert extract("evt.rawres", event) is None
    assert extract("evt.args", event) == ""
    assert extract("evt.failed", event) is False


def test_asynctype_names_a_metaevent() -> None:
    """evt.asynctype: an asyncevent's own name, the container event's type; nothing for a
    syscall event (libsinsp's TYPE_ASYNCTYPE)."""
    state = FakeState()
    info = thread(state, 4, "cat")
    container = attach(make_event("container", ">", [cstr('{"container": {}}')]), state, info)
    plugin = attach(
        make_event("asyncevent", ">", [u32(0), cstr("my_async"), b"payload"]), state, info
    )
    syscall = attach(_open_exit(), state, info, 3)
    assert extract("evt.asynctype", container) == "container"
    assert extract("evt.asynctype", plugin) == "my_async"
    assert extract("evt.asynctype", syscall) is None
