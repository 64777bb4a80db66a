"""A datagram server seen live: who sent each datagram comes from recvfrom/recvmsg.

An unconnected UDP socket (a DNS or syslog server) has no peer in the kernel; the sender of a
datagram is only in the address the kernel writes into the caller's buffer. The probe reads it
there and writes the tuple sender -> local, as Falco's drivers write an inbound tuple, so the
server's fd names its client (fd.cip, fd.cport) from the first datagram on, and its reply keeps
that name.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.events.event import Event
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State
from tests.capture.bpf_support import collect, drain, require_bpf

pytestmark = pytest.mark.bpf

SERVER = r"""
import socket, sys
family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind((sys.argv[2], 0))
print(sock.getsockname()[1], flush=True)
data, sender = sock.recvfrom(64)                 # recvfrom: the sender in src_addr
sock.sendto(b"re:" + data, sender)
data, _, _, sender = sock.recvmsg(64)            # recvmsg: the sender in msg_name
sock.sendto(b"re:" + data, sender)
"""


def _exchange(probe: ProbeSource, family: str, loopback: str) -> tuple[list[Event], int, int, int]:
    """Run the server, send it two datagrams from a bound client; the events, the server's
    pid, its port and the client's port."""
    drain(probe, settle=0.02)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, family, loopback], stdout=subprocess.PIPE, text=True
    )
    client = socket.socket(socket.AF_INET6 if family == "6" else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        client.bind((loopback, 0))
        client.settimeout(10)
        for payload in (b"one", b"two"):
            client.sendto(payload, (loopback, port))
            assert client.recv(64) == b"re:" + payload
        assert server.wait(10) == 0

        def replied(events: list[Event]) -> bool:
            sends = [e for e in events if e.tid == server.pid and e.type_name == "sendto"]
            return len(sends) >= 2

        events = collect(probe, replied) + drain(probe, settle=0.05)
        return events, server.pid, port, client.getsockname()[1]
    finally:
        client.close()
        if server.poll() is None:
            server.kill()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe_socket:
            probe_socket.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(("family", "loopback"), [("4", "127.0.0.1"), ("6", "::1")])
def test_a_udp_server_names_the_sender_of_each_datagram(family: str, loopback: str) -> None:
    require_bpf()
    if family == "6" and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    with ProbeSource({*STATE_EVENT_TYPES, "recvfrom", "recvmsg", "sendto"}) as probe:
        state = State()
        for record in snapshot():
            state.seed(record)
        events, server_pid, port, client_port = _exchange(probe, family, loopback)
    mine = [e for e in events if e.tid == server_pid]
    for event in events:
        state.process(event)
    received = [e for e in mine if e.type_name in ("recvfrom", "recvmsg")]
    assert [e.type_name for e in received] == ["recvfrom", "recvmsg"]
    for event in received:
        tup = event.param_by_name("tuple")  # sender -> local
        assert (tup.sip, tup.sport, tup.dip, tup.dport) == (loopback, client_port, loopback, port)
        assert event.fd is not None
        assert event.fd.name == f"{loopback}:{client_port}->{loopback}:{port}"
        assert (event.fd.cip, event.fd.cport, event.fd.sport) == (loopback, client_port, port)
        assert event.fd.is_server
    replies = [e for e in mine if e.type_name == "sendto"]
    assert len(replies) == 2
    for event in replies:
        assert event.fd is not None
        assert event.fd.name == f"{loopback}:{client_port}->{loopback}:{port}"


MMSG = r"""
import ctypes, ctypes.util, socket

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(Iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", Msghdr), ("len", ctypes.c_uint)]


class SockaddrIn(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_ushort),
                ("addr", ctypes.c_uint32), ("zero", ctypes.c_char * 8)]


def messages(buffers, addresses):
    keep = []
    msgs = (Mmsghdr * len(buffers))()
    for i, (buf, addr) in enumerate(zip(buffers, addresses)):
        iov = Iovec(ctypes.cast(buf, ctypes.c_void_p), len(buf))
        keep.append(iov)
        msgs[i].hdr.name = ctypes.cast(ctypes.pointer(addr), ctypes.c_void_p)
        msgs[i].hdr.namelen = ctypes.sizeof(addr)
        msgs[i].hdr.iov = ctypes.pointer(iov)
        msgs[i].hdr.iovlen = 1
    return msgs, keep


server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 0))
port = server.getsockname()[1]
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # unbound, like glibc's resolver
dest = SockaddrIn(socket.AF_INET, socket.htons(port),
                  int.from_bytes(socket.inet_aton("127.0.0.1"), "little"))
queries = [ctypes.create_string_buffer(q, len(q)) for q in (b"query-A", b"query-AAAA")]
out, keep_out = messages(queries, [dest, dest])           # A and AAAA in one call, as glibc does
assert libc.sendmmsg(client.fileno(), out, 2, 0) == 2
inbox = [ctypes.create_string_buffer(64) for _ in range(2)]
senders = [SockaddrIn(), SockaddrIn()]
into, keep_in = messages(inbox, senders)
assert libc.recvmmsg(server.fileno(), into, 2, 0, None) == 2
print(port, client.getsockname()[1], flush=True)
"""


def test_sendmmsg_and_recvmmsg_are_one_event_per_message() -> None:
    """glibc's resolver sends its A and AAAA queries in one sendmmsg: each message is an event
    (res and size its length, data its bytes, tuple its peer), as Falco's modern probe writes
    them, so a DNS query is seen and its socket named; recvmmsg likewise, sender -> local."""
    require_bpf()
    with ProbeSource({*STATE_EVENT_TYPES, "sendmmsg", "recvmmsg"}) as probe:
        drain(probe, settle=0.02)
        state = State()
        for record in snapshot():
            state.seed(record)
        run = subprocess.run(
            [sys.executable, "-c", MMSG], capture_output=True, text=True, check=True
        )
        port, client_port = (int(word) for word in run.stdout.split())

        def done(events: list[Event]) -> bool:
            return sum(e.type_name == "recvmmsg" for e in events) >= 2

        events = collect(probe, done) + drain(probe, settle=0.05)
    for event in events:
        state.process(event)
    pair = f"127.0.0.1:{client_port}->127.0.0.1:{port}"
    for kind, payloads in (("sendmmsg", [b"query-A", b"query-AAAA"]),
                           ("recvmmsg", [b"query-A", b"query-AAAA"])):  # fmt: skip
        mine = [e for e in events if e.type_name == kind and e.direction == "<"]
        mine = [e for e in mine if e.fd is not None and e.fd.name == pair]
        assert [e.param_by_name("data") for e in mine] == payloads, kind
        assert [e.param_by_name("res") for e in mine] == [len(p) for p in payloads]
        assert [e.param_by_name("size") for e in mine] == [len(p) for p in payloads]
        tup = mine[0].param_by_name("tuple")
        assert (tup.sport if kind == "recvmmsg" else tup.dport) == (
            client_port if kind == "recvmmsg" else port
        )
