"""fd-side parsing: open*/dirfd resolution, sockets and tuples, dup, pipes, close."""

from __future__ import annotations

from typing import Any

from lanner.events.values import AF_INET, AF_INET6, AF_UNIX, SockTuple
from lanner.state.fds import FdInfo, FdRole, FdType, L4Proto
from lanner.state.state import Interface, State, should_deliver
from lanner.state.threads import ThreadInfo
from tests.state.evbuild import addr4, addr6, event, tcp4, udp6

O_RDONLY, O_DIRECTORY = 1, 1 << 10


def _state() -> State:
    state = State()
    proc = ThreadInfo(100, 100, 1)
    proc.comm = "app"
    proc.cwd = "/srv/app/"
    state.threads.add(proc)
    return state


def _open(state: State, fd: int, name: str, ts: int, flags: int = O_RDONLY) -> None:
    state.process(event("open", ">", 100, ts, name=name, flags=flags, mode=0))
    state.process(event("open", "<", 100, ts + 1, fd=fd, name=name, flags=flags, mode=0))


def test_open_resolves_relative_to_cwd_and_sets_event_fd() -> None:
    state = _state()
    exit_ev = event("open", "<", 100, 2, fd=3, name="conf/../data.txt", flags=O_RDONLY, mode=0)
    state.process(event("open", ">", 100, 1, name="conf/../data.txt", flags=O_RDONLY, mode=0))
    state.process(exit_ev)
    assert exit_ev.fdnum == 3 and exit_ev.fd is not None
    assert (exit_ev.fd.name, exit_ev.fd.nameraw) == ("/srv/app/data.txt", "conf/../data.txt")
    assert exit_ev.fd.typechar == "f" and exit_ev.fd.name_changed
    read = event("read", ">", 100, 3, fd=3, size=10)
    state.process(read)
    assert read.fd is exit_ev.fd and not read.fd.name_changed


def test_failed_open_adds_nothing() -> None:
    state = _state()
    ev = event("open", "<", 100, 2, fd=-2, name="/nope", flags=O_RDONLY, mode=0)
    state.process(ev)
    # The error code is no fd number (libsinsp's fd.num is never the open's error).
    assert ev.fd is None and ev.fdnum != -2 and len(state.thread(100).fdtable) == 0  # type: ignore[union-attr]


def test_openat_relative_to_dirfd_and_directory_kind() -> None:
    state = _state()
    _open(state, 5, "/etc", 1, flags=O_RDONLY | O_DIRECTORY)
    assert state.thread(100).fdtable.get(5).type == FdType.DIRECTORY  # type: ignore[union-attr]
    state.process(event("openat", ">", 100, 5, dirfd=5, name="hosts", flags=O_RDONLY, mode=0))
    ev = event("openat", "<", 100, 6, fd=6, dirfd=5, name="hosts", flags=O_RDONLY, mode=0)
    state.process(ev)
    assert ev.fd is not None and ev.fd.name == "/etc/hosts"
    cwd_ev = event("openat", "<", 100, 8, fd=7, dirfd=-100, name="x", flags=O_RDONLY, mode=0)
    state.process(cwd_ev)
    assert cwd_ev.fd is not None and cwd_ev.fd.name == "/srv/app/x"


def test_close_forgets_fd_but_event_keeps_it() -> None:
    state = _state()
    _open(state, 3, "/a", 1)
    state.process(event("close", ">", 100, 5, fd=3))
    ev = event("close", "<", 100, 6, res=0)
    state.process(ev)
    assert ev.fd is not None and ev.fd.name == "/a" and ev.fdnum == 3
    assert 3 not in state.thread(100).fdtable  # type: ignore[union-attr]


def test_dup_and_fcntl_dupfd_copy_the_description() -> None:
    state = _state()
    _open(state, 3, "/a", 1)
    state.process(event("dup", ">", 100, 5, fd=3))
    ev = event("dup", "<", 100, 6, res=10)
    state.process(ev)
    table = state.thread(100).fdtable  # type: ignore[union-attr]
    assert ev.fdnum == 10 and table.get(10).name == "/a" and table.get(10) is not table.get(3)  # type: ignore[union-attr]
    state.process(event("fcntl", ">", 100, 7, fd=3, cmd=1))
    state.process(event("fcntl", "<", 100, 8, res=11))
    assert table.get(11).name == "/a"  # type: ignore[union-attr]
    state.process(event("fcntl", ">", 100, 9, fd=3, cmd=4))
    state.process(event("fcntl", "<", 100, 10, res=12))
    assert 12 not in table


def test_pipe_socketpair_and_single_fd_creators() -> None:
    state = _state()
    state.process(event("pipe", "<", 100, 1, res=0, fd1=3, fd2=4, ino=77))
    table = state.thread(100).fdtable  # type: ignore[union-attr]
    assert table.get(3).typechar == "p" and table.get(4).ino == 77  # type: ignore[union-attr]
    state.process(event("socketpair", "<", 100, 2, res=0, fd1=5, fd2=6, source=1, peer=2))
    assert table.get(5).type == table.get(6).type == FdType.UNIX_SOCK  # type: ignore[union-attr]
    state.process(event("eventfd", "<", 100, 3, res=7))
    state.process(event("epoll_create", "<", 100, 4, res=8))
    state.process(event("inotify_init", "<", 100, 5, res=9))
    kinds = [table.get(n).typestring for n in (7, 8, 9)]  # type: ignore[union-attr]
    assert kinds == ["event", "eventpoll", "inotify"]


def test_failed_open_adds_no_fd_and_reports_fd_minus_one() -> None:
    state = _state()
    state.process(event("open", ">", 100, 1, name="missing", flags=O_RDONLY, mode=0))
    ev = event("open", "<", 100, 2, fd=-2, name="missing", flags=O_RDONLY, mode=0)
    state.process(ev)
    assert ev.fdnum == -1 and ev.fd is None
    assert state.threads.threads[100].fdtable.fds.get(-2) is None


def test_tcp_client_connect_fills_tuple_and_name() -> None:
    state = _state()
    state.process(event("socket", ">", 100, 1, domain=AF_INET, type=1, proto=0))
    state.process(event("socket", "<", 100, 2, fd=3))
    state.process(event("connect", ">", 100, 3, fd=3, addr=addr4("10.0.0.2", 80)))
    ev = event("connect", "<", 100, 4, res=0, tuple=tcp4("10.0.0.1", 40000, "10.0.0.2", 80), fd=3)
    state.process(ev)
    fd = ev.fd
    assert fd is not None and fd.name == "10.0.0.1:40000->10.0.0.2:80"
    assert (fd.cip, fd.cport, fd.sip, fd.sport) == ("10.0.0.1", 40000, "10.0.0.2", 80)
    assert fd.role == FdRole.CLIENT and fd.connected and fd.l4proto_name == "tcp"
    assert fd.name_changed


def test_ip_socket_shows_its_transport_only_once_it_has_a_role() -> None:
    state = _state()
    state.process(event("socket", ">", 100, 1, domain=AF_INET, type=1, proto=6))
    created = event("socket", "<", 100, 2, fd=3)
    state.process(created)
    fd = created.fd
    # libsinsp's fd.l4proto is NA for a connection socket that is neither client nor server.
    assert fd is not None and fd.role == FdRole.NONE
    assert fd.l4proto_name is None and fd.transport == L4Proto.TCP
    state.process(event("connect", ">", 100, 3, fd=3, addr=addr4("10.0.0.2", 80)))
    state.process(
        event("connect", "<", 100, 4, res=0, tuple=tcp4("10.0.0.1", 4000, "10.0.0.2", 80), fd=3)
    )
    assert fd.role == FdRole.CLIENT and fd.l4proto_name == "tcp"
    raw = FdInfo(4, FdType.IPV4_SOCK)
    raw.l4proto = L4Proto.RAW
    assert raw.l4proto_name == "raw"  # raw sockets show theirs at once


def test_failed_connect_leaves_fd_unconnected() -> None:
    state = _state()
    state.process(event("socket", ">", 100, 1, domain=AF_INET, type=1, proto=0))
    state.process(event("socket", "<", 100, 2, fd=3))
    state.process(event("connect", ">", 100, 3, fd=3, addr=addr4("10.0.0.2", 81)))
    ev = event("connect", "<", 100, 4, res=-111, tuple=tcp4("10.0.0.1", 1, "10.0.0.2", 81), fd=3)
    state.process(ev)
    assert ev.fd is not None and not ev.fd.connected and ev.fd.name == ""


def _udp6_connect(state: State, ts: int, tup: SockTuple, *, with_enter: bool = True) -> Any:
    if with_enter:
        state.process(event("connect", ">", 100, ts, fd=3))
    ev = event("connect", "<", 100, ts + 1, res=0, tuple=tup, fd=3)
    state.process(ev)
    return ev


def test_second_connect_keeps_a_known_peer_unless_the_enter_is_missing() -> None:
    state = _state()
    state.process(event("socket", ">", 100, 1, domain=AF_INET6, type=2, proto=0))
    state.process(event("socket", "<", 100, 2, fd=3))
    first = _udp6_connect(state, 3, udp6("::1", 4000, "::1", 2345))
    assert first.fd is not None and first.fd.name == "::1:4000->::1:2345"
    # libsinsp only fills a destination it does not know yet.
    second = _udp6_connect(state, 5, udp6("::1", 4000, "2001:db8::8", 53))
    fd = second.fd
    assert fd is not None and fd.name == "::1:4000->::1:2345" and not fd.name_changed
    assert (fd.sip, fd.sport) == ("::1", 2345)
    # Without its enter event the fd's data may be stale: the exit's tuple wins.
    third = _udp6_connect(state, 7, udp6("::1", 4000, "2001:db8::8", 53), with_enter=False)
    assert third.fd is fd and fd.name == "::1:4000->2001:db8::8:53" and fd.name_changed


def test_bind_listen_accept_server_side() -> None:
    state = _state()
    state.process(event("socket", ">", 100, 1, domain=AF_INET, type=1, proto=6))
    state.process(event("socket", "<", 100, 2, fd=3))
    state.process(event("bind", ">", 100, 3, fd=3))
    bind = event("bind", "<", 100, 4, res=0, addr=addr4("0.0.0.0", 8080))
    state.process(bind)
    assert bind.fd is not None and bind.fd.type == FdType.IPV4_SERVSOCK
    assert (bind.fd.name, bind.fd.sport, bind.fd.is_server) == ("0.0.0.0:8080", 8080, True)
    acc = event("accept", "<", 100, 6, fd=4, tuple=tcp4("10.0.0.9", 5555, "10.0.0.1", 8080))
    state.process(acc)
    fd = acc.fd
    assert fd is not None and acc.fdnum == 4 and fd.name == "10.0.0.9:5555->10.0.0.1:8080"
    assert (fd.cip, fd.sport, fd.role, fd.connected) == ("10.0.0.9", 8080, FdRole.SERVER, True)


def test_udp_sendto_infers_tuple_and_guesses_client_role() -> None:
    state = _state()
    state.interfaces.append(
        Interface("lo", AF_INET6, "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
    )
    state.process(event("socket", ">", 100, 1, domain=AF_INET6, type=2, proto=0))
    state.process(event("socket", "<", 100, 2, fd=3))
    state.process(event("sendto", ">", 100, 3, fd=3, size=6, tuple=udp6("::", 0, "::1", 53)))
    ev = event("sendto", "<", 100, 4, res=6, data=b"hello!")
    state.process(ev)
    fd = ev.fd
    assert fd is not None and fd.name == "::1:0->::1:53" and fd.role == FdRole.CLIENT
    assert fd.l4proto_name == "udp" and fd.name_changed and fd.connected
    again = event("sendto", "<", 100, 6, res=6, data=b"hello!")
    state.process(event("sendto", ">", 100, 5, fd=3, size=6, tuple=udp6("::", 0, "::1", 53)))
    state.process(again)
    assert again.fd is fd and not fd.name_changed


def test_recvfrom_on_server_keeps_peer_as_client() -> None:
    state = _state()
    state.process(event("socket", "<", 100, 1, fd=3))
    state.thread(100).fdtable.get(3).type = FdType.IPV4_SOCK  # type: ignore[union-attr]
    listener = event("socket", "<", 100, 2, fd=4)
    state.process(listener)
    state.process(event("bind", ">", 100, 3, fd=4))
    state.process(event("bind", "<", 100, 4, res=0, addr=addr4("0.0.0.0", 53)))
    state.process(event("recvfrom", ">", 100, 5, fd=4, size=512))
    ev = event("recvfrom", "<", 100, 6, res=30, tuple=tcp4("10.0.0.7", 4000, "10.0.0.1", 53))
    state.process(ev)
    fd = ev.fd
    assert fd is not None and (fd.cip, fd.cport, fd.sport) == ("10.0.0.7", 4000, 53)
    assert fd.name == "10.0.0.7:4000->10.0.0.1:53" and fd.l4proto_name == "udp"


def test_udp_server_on_the_wildcard_address_follows_each_sender() -> None:
    """A server bound to 0.0.0.0 receives datagrams whose local end is 0.0.0.0: the interface
    toward the sender stands for it (libsinsp's inference), and each datagram's tuple replaces
    the pair, so the fd names the client of the latest datagram, replies included."""
    state = _state()
    state.interfaces.append(Interface("eth0", AF_INET, "10.0.0.1", "255.255.255.0"))
    state.process(event("socket", "<", 100, 1, fd=4))
    state.process(event("bind", ">", 100, 2, fd=4))
    state.process(event("bind", "<", 100, 3, res=0, addr=addr4("0.0.0.0", 53)))
    ts = 4
    for client, port in (("10.0.0.7", 4000), ("10.0.0.8", 5000)):
        state.process(event("recvfrom", ">", 100, ts, fd=4, size=512))
        got = event("recvfrom", "<", 100, ts + 1, res=30, tuple=tcp4(client, port, "0.0.0.0", 53))
        state.process(got)
        state.process(event("sendto", ">", 100, ts + 2, fd=4, size=30))
        reply = event("sendto", "<", 100, ts + 3, res=30, tuple=tcp4("0.0.0.0", 53, client, port))
        state.process(reply)
        ts += 4
        for ev in (got, reply):
            fd = ev.fd
            assert fd is not None and fd.name == f"{client}:{port}->10.0.0.1:53"
            assert (fd.cip, fd.cport, fd.sip, fd.sport) == (client, port, "10.0.0.1", 53)
            assert fd.role == FdRole.SERVER


def test_datagram_read_without_its_sender_keeps_the_known_peer() -> None:
    """recv() on an unconnected UDP socket does not ask who sent the datagram: its tuple is
    local -> 0.0.0.0:0 (or the reverse, from Falco's modern driver) and must not erase the
    peer the socket's send named."""
    state = _state()
    state.interfaces.append(Interface("lo", AF_INET, "127.0.0.1", "255.0.0.0"))
    state.process(event("socket", ">", 100, 1, domain=AF_INET, type=2, proto=0))
    state.process(event("socket", "<", 100, 2, fd=3))
    state.process(event("sendto", ">", 100, 3, fd=3, size=4))
    sent = event("sendto", "<", 100, 4, res=4, tuple=tcp4("0.0.0.0", 40000, "127.0.0.1", 53))
    state.process(sent)
    assert sent.fd is not None and sent.fd.name == "127.0.0.1:40000->127.0.0.1:53"
    for ts, tup in ((5, tcp4("0.0.0.0", 40000, "0.0.0.0", 0)),
                    (7, tcp4("0.0.0.0", 0, "0.0.0.0", 40000))):  # fmt: skip
        state.process(event("recvfrom", ">", 100, ts, fd=3, size=512))
        got = event("recvfrom", "<", 100, ts + 1, res=30, tuple=tup)
        state.process(got)
        assert got.fd is not None and got.fd.name == "127.0.0.1:40000->127.0.0.1:53"
        assert (got.fd.sip, got.fd.sport, got.fd.role) == ("127.0.0.1", 53, FdRole.CLIENT)


def test_dual_stack_wildcard_listener_is_ipv4_as_in_libsinsp() -> None:
    """libsinsp takes the all-zero IPv6 address for an IPv4 one (is_ipv4_mapped_ipv6): a server
    bound to [::] (Python's and Go's dual-stack default) is an ipv4 listener on 0.0.0.0 in
    Falco's fields; a real IPv6 address stays IPv6."""
    state = _state()
    for fd, ip, kind, shown in ((4, "::", FdType.IPV4_SERVSOCK, "0.0.0.0"),
                                (5, "::1", FdType.IPV6_SERVSOCK, "::1")):  # fmt: skip
        state.process(event("socket", ">", 100, fd, domain=AF_INET6, type=1, proto=0))
        state.process(event("socket", "<", 100, fd, fd=fd))
        state.process(event("bind", ">", 100, fd, fd=fd))
        bound = event("bind", "<", 100, fd, res=0, addr=addr6(ip, 8080))
        state.process(bound)
        assert bound.fd is not None
        assert (bound.fd.type, bound.fd.sip, bound.fd.sport) == (kind, shown, 8080)


def test_unix_connect_name_from_tuple() -> None:
    state = _state()
    state.process(event("socket", ">", 100, 1, domain=AF_UNIX, type=1, proto=0))
    state.process(event("socket", "<", 100, 2, fd=3))
    state.process(event("connect", ">", 100, 3, fd=3))
    tup = SockTuple(AF_UNIX, None, None, None, None, "/run/x.sock", 0, 0xFFFF1234)
    ev = event("connect", "<", 100, 4, res=0, tuple=tup, fd=3)
    state.process(ev)
    assert ev.fd is not None and ev.fd.name == "0->ffff1234 /run/x.sock"


def test_should_deliver_models() -> None:
    state = _state()
    enter = event("open", ">", 100, 1, name="/a", flags=1, mode=0)
    exit_ev = event("open", "<", 100, 2, fd=3, name="/a", flags=1, mode=0)
    procexit = event("procexit", ">", 100, 3, status=0)
    for ev in (enter, exit_ev, procexit):
        state.process(ev)
    assert should_deliver(enter, legacy=True) and not should_deliver(enter, legacy=False)
    assert should_deliver(exit_ev, legacy=False) and should_deliver(procexit, legacy=False)


O_CLOEXEC = 1 << 12


def test_close_on_exec_follows_each_way_an_fd_is_made_and_execve_drops_them() -> None:
    state = _state()
    _open(state, 3, "/kept", 1)
    _open(state, 4, "/dropped", 3, flags=O_RDONLY | O_CLOEXEC)
    table = state.thread(100).fdtable  # type: ignore[union-attr]
    # dup and dup2 copies never have close-on-exec; dup3 may ask for it.
    state.process(event("dup", "<", 100, 5, res=5, oldfd=4))
    state.process(event("dup3", "<", 100, 6, res=6, oldfd=3, newfd=6, flags=O_CLOEXEC))
    # fcntl: F_DUPFD_CLOEXEC (26) sets it, F_DUPFD (1) clears it.
    state.process(event("fcntl", "<", 100, 7, res=7, fd=3, cmd=26))
    state.process(event("fcntl", "<", 100, 8, res=8, fd=4, cmd=1))
    state.process(event("pipe2", "<", 100, 9, res=0, fd1=9, fd2=10, ino=1, flags=O_CLOEXEC))
    assert {n for n, i in table.fds.items() if i.openflags & O_CLOEXEC} == {4, 6, 7, 9, 10}
    state.process(event("execve", "<", 100, 20, res=0, exe="next", comm="next", pid=100, ptid=1))
    assert sorted(table.fds) == [3, 5, 8]
    # A failed execve closes nothing.
    _open(state, 11, "/x", 21, flags=O_CLOEXEC)
    state.process(event("execve", "<", 100, 30, res=-2, exe="nope", comm="nope"))
    assert 11 in table
