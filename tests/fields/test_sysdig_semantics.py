"""Extractor behaviours found by comparing with sysdig 0.29.3 on the corpus, pinned on
hand-built events: fd fields without an fd entry, name parts, evt.args decorations, lineage
through the thread's own ptid, and evt.rawarg typed by its parameter."""

from __future__ import annotations

import struct

import pytest

from lanner.fields import default_registry
from lanner.fields.registry import FieldType
from lanner.rules.compiler import compile_condition
from lanner.rules.parser import parse_condition
from lanner.state.fds import FdInfo, FdRole, FdType, L4Proto
from tests.fields.builders import (
    FakeState,
    User,
    attach,
    cstr,
    extract,
    file_fd,
    i64,
    make_event,
    tcp_fd,
    thread,
    u32,
    u64,
)

AT_FDCWD = -100


def _ipv4_tuple(src: tuple[str, int], dst: tuple[str, int]) -> bytes:
    def end(addr: str, port: int) -> bytes:
        return bytes(int(part) for part in addr.split(".")) + struct.pack("<H", port)

    return b"\x02" + end(*src) + end(*dst)


def _curl(cwd: str = "/home/u/") -> tuple[FakeState, object]:
    state = FakeState()
    return state, thread(state, 10, "curl", cwd=cwd)


# ---- fd fields when the event's fd has no entry -------------------------------------------


def test_failed_open_names_the_path_it_tried() -> None:
    state, info = _curl()
    event = attach(
        make_event("open", "<", [i64(-2), cstr("/etc/x.conf"), u32(1), u32(0), u32(0), u64(0)]),
        state,
        info,
        -2,
    )
    assert extract("fd.name", event) == "/etc/x.conf"
    assert extract("fd.directory", event) == "/etc"
    assert extract("fd.typechar", event) == "f"
    assert extract("fd.filename", event) is None
    assert extract("fd.type", event) is None


def test_failed_openat_joins_the_working_directory() -> None:
    state, info = _curl()
    params = [i64(-13), i64(AT_FDCWD), cstr("sub/../f.txt"), u32(1), u32(0), u32(0), u64(0)]
    event = attach(make_event("openat", "<", params), state, info, -13)
    assert extract("fd.name", event) == "/home/u/f.txt"
    assert extract("fd.directory", event) == "/home/u"


def test_other_fd_events_without_entry() -> None:
    state, info = _curl()
    closed = attach(make_event("close", "<", [i64(0)]), state, info, 7)
    assert (extract("fd.name", closed), extract("fd.directory", closed)) == ("", "/")
    assert extract("fd.typechar", closed) == "o"
    assert extract("fd.num", closed) == 7
    socket_enter = attach(make_event("socket", ">", [u32(2), u32(1), u32(0)]), state, info)
    assert extract("fd.typechar", socket_enter) == "4"
    assert extract("fd.name", socket_enter) is None  # enter events name nothing
    not_fd = attach(make_event("brk", ">", [u64(0)]), state, info, 7)
    for name in ("fd.num", "fd.typechar", "fd.name", "fd.directory"):
        assert extract(name, not_fd) is None, name
    no_thread = attach(make_event("close", "<", [i64(0)]), state, None, 7)
    assert extract("fd.typechar", no_thread) is None


def test_failed_connect_names_the_attempted_tuple() -> None:
    state, info = _curl()
    info.fdtable.add(tcp_fd(3, ("10.0.0.1", 4000), ("10.0.0.2", 80), FdRole.CLIENT))
    tried = _ipv4_tuple(("10.0.0.1", 4001), ("10.9.9.9", 443))
    failed = attach(make_event("connect", "<", [i64(-111), tried, i64(3)]), state, info, 3)
    assert extract("fd.name", failed) == "10.0.0.1:4001->10.9.9.9:443"
    done = attach(make_event("connect", "<", [i64(0), tried, i64(3)]), state, info, 3)
    assert extract("fd.name", done) == "10.0.0.1:4000->10.0.0.2:80"  # the entry's name


@pytest.mark.parametrize(
    ("path", "directory", "filename"),
    [
        ("/etc/passwd", "/etc", "passwd"),
        ("/vmlinuz", "/", "vmlinuz"),
        ("/var/log/", "/var/log/", "/var/log/"),  # a trailing '/' keeps the whole name
        ("relative", "/", "/"),
        ("", "/", "/"),
    ],
)
def test_directory_and_filename_cut_like_sysdig(path: str, directory: str, filename: str) -> None:
    state, info = _curl()
    info.fdtable.add(file_fd(3, path))
    event = attach(make_event("close", ">", [i64(3)]), state, info, 3)
    assert extract("fd.directory", event) == directory
    assert extract("fd.filename", event) == filename


# ---- evt.args / evt.arg decorations ---------------------------------------------------------


def test_ip_socket_fd_shows_its_transport_letter() -> None:
    state, info = _curl()
    info.fdtable.add(tcp_fd(3, ("10.0.0.1", 4000), ("10.0.0.2", 80), FdRole.CLIENT))
    udp = FdInfo(4, FdType.IPV6_SOCK, "")
    udp.l4proto = L4Proto.UDP
    udp.role = FdRole.CLIENT  # libsinsp shows the transport once the socket has a role
    info.fdtable.add(udp)
    unknown = FdInfo(5, FdType.IPV4_SOCK, "")
    unknown.l4proto = L4Proto.UNKNOWN
    info.fdtable.add(unknown)
    event = attach(make_event("close", ">", [i64(3)]), state, info, 3)
    assert extract("evt.args", event) == "fd=3(<4t>10.0.0.1:4000->10.0.0.2:80) "
    assert extract("evt.arg.fd", event) == "<4t>10.0.0.1:4000->10.0.0.2:80"
    assert extract("evt.arg.fd", attach(make_event("close", ">", [i64(4)]), state, info)) == "<6u>"
    assert extract("evt.arg.fd", attach(make_event("close", ">", [i64(5)]), state, info)) == "<4>"


def test_poll_list_shows_fd_letters_when_known() -> None:
    state, info = _curl()
    info.fdtable.add(tcp_fd(4, ("10.0.0.1", 4000), ("10.0.0.2", 80), FdRole.CLIENT))
    fds = struct.pack("<H", 2) + struct.pack("<qH", 4, 0x4) + struct.pack("<qH", 9, 0x41)
    event = attach(make_event("poll", ">", [fds, i64(0)]), state, info)
    assert extract("evt.args", event) == "fds=4:44 9:41 timeout=0 "


def test_relative_path_resolves_against_cwd() -> None:
    state, info = _curl(cwd="/")
    event = attach(make_event("stat", "<", [i64(0), cstr(".")]), state, info)
    assert extract("evt.args", event) == "res=0 path=.(/) "
    assert extract("evt.arg.path", event) == "/"
    absolute = attach(make_event("stat", "<", [i64(0), cstr("/etc")]), state, info)
    assert extract("evt.args", absolute) == "res=0 path=/etc "


def test_uids_resolve_to_user_names() -> None:
    state, info = _curl()
    state.users[0] = User("root")
    assert extract("evt.args", attach(make_event("getuid", "<", [u32(0)]), state, info)) == (
        "uid=0(root) "
    )
    assert extract("evt.args", attach(make_event("getuid", "<", [u32(7)]), state, info)) == (
        "uid=7 "
    )


def test_kernel_restart_codes_have_names() -> None:
    state, info = _curl()
    event = attach(make_event("close", "<", [i64(-514)]), state, info)
    assert extract("evt.res", event) == "ERESTARTNOHAND"
    assert extract("evt.rawres", event) == -514


# ---- thread fields ----------------------------------------------------------------------------


def test_tid_of_no_thread_is_minus_one() -> None:
    event = make_event("close", ">", [i64(3)], tid=(1 << 64) - 1)
    attach(event, FakeState(), None)
    assert extract("thread.tid", event) == -1


def test_parent_is_the_thread_named_by_the_threads_own_ptid() -> None:
    """A thread's ptid is its creator; proc.pname follows it, proc.ppid reads the main
    thread's (libsinsp)."""
    state = FakeState()
    thread(state, 774, "bash")
    thread(state, 842, "curl", ptid=774, args=("localhost/bar",))
    worker = thread(state, 843, "curl", pid=842, ptid=842)
    event = attach(make_event("close", ">", [i64(3)], tid=843), state, worker)
    assert extract("proc.pname", event) == "curl"
    assert extract("proc.pcmdline", event) == "curl localhost/bar"
    assert extract("proc.ppid", event) == 774
    assert extract("proc.aname", event, "1") == "bash"


# ---- evt.rawarg takes the type of its parameter ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "ftype"),
    [
        ("evt.rawarg.fd", FieldType.INT),
        ("evt.rawarg.res", FieldType.INT),
        ("evt.rawarg.flags", FieldType.INT),
        ("evt.rawarg.name", FieldType.STRING),
        ("evt.rawarg.tuple", FieldType.STRING),
        ("evt.rawarg.no_such_param", FieldType.STRING),
    ],
)
def test_rawarg_type_follows_the_parameter(name: str, ftype: FieldType) -> None:
    resolved = default_registry().resolve(name)
    assert resolved is not None
    assert resolved[0].type is ftype
    assert default_registry().get("evt.rawarg") is not None
    assert default_registry().get("evt.rawarg").type is FieldType.STRING  # type: ignore[union-attr]


def _matches(condition: str, event: object) -> bool:
    compiled = compile_condition(
        parse_condition(condition), default_registry(), event_types=frozenset()
    )
    return compiled.fn(event)


def test_rawarg_compares_as_numbers_and_text() -> None:
    state, info = _curl()
    info.fdtable.add(file_fd(3, "/etc/ld.so.cache"))
    params = [i64(3), cstr("/etc/ld.so.cache"), u32(4097), u32(0), u32(0), u64(0)]
    event = attach(make_event("open", "<", params), state, info, 3)
    assert _matches("evt.rawarg.fd = 3", event)
    assert _matches("evt.rawarg.fd > 2 and evt.rawarg.fd < 10", event)
    assert not _matches("evt.rawarg.fd = 4", event)
    assert _matches("evt.rawarg.flags = 4097", event)
    assert _matches("evt.rawarg.name startswith /etc/", event)
    assert not _matches("evt.arg.fd = 3", event)  # evt.arg is text: '<f>/etc/ld.so.cache'
    tried = _ipv4_tuple(("10.0.0.1", 4001), ("10.9.9.9", 443))
    connect = attach(make_event("connect", "<", [i64(-111), tried, i64(3)]), state, info)
    assert _matches("evt.rawarg.res < 0", connect)
    assert _matches("evt.rawarg.tuple contains 10.9.9.9:443", connect)
