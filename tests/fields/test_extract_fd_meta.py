"""fd.*, fdlist.*, container.* and k8s.* extractors."""

from __future__ import annotations

import struct

from lanner.state.fds import FdInfo, FdRole, FdType
from tests.fields.builders import (
    Container,
    FakeState,
    Interface,
    Mount,
    attach,
    extract,
    file_fd,
    i64,
    make_event,
    tcp_fd,
    thread,
)


def _with_fd(fd: FdInfo | None, *local_addrs: str, **thread_kw: object) -> object:
    """A close of fd 3 by a thread holding `fd`, on a host with the given addresses."""
    state = FakeState()
    state.interfaces = [
        Interface("eth0", 10 if ":" in addr else 2, addr, None) for addr in local_addrs
    ]
    info = thread(state, 10, "curl", **thread_kw)
    if fd is not None:
        info.fdtable.add(fd)
    return attach(make_event("close", ">", [i64(3)], tid=10), state, info, 3)


def test_file_fd() -> None:
    event = _with_fd(file_fd(3, "/etc/resolv.conf"))
    assert extract("fd.num", event) == 3
    assert extract("fd.name", event) == "/etc/resolv.conf"
    assert extract("fd.type", event) == "file"
    assert extract("fd.typechar", event) == "f"
    assert extract("fd.directory", event) == "/etc"
    assert extract("fd.filename", event) == "resolv.conf"
    assert extract("fd.l4proto", event) == "<NA>"
    assert extract("fd.sockfamily", event) is None
    assert extract("fd.connected", event) is False
    assert extract("fd.sip", event) is None
    assert extract("fd.is_server", event) is False


def test_root_file_directory() -> None:
    assert extract("fd.directory", _with_fd(file_fd(3, "/vmlinuz"))) == "/"


def test_client_socket_ends() -> None:
    fd = tcp_fd(3, ("192.168.0.3", 55020), ("192.168.0.2", 80), FdRole.CLIENT)
    event = _with_fd(fd, "127.0.0.1", "192.168.0.3")
    assert extract("fd.name", event) == "192.168.0.3:55020->192.168.0.2:80"
    assert extract("fd.typechar", event) == "4"
    assert extract("fd.cip", event) == "192.168.0.3"
    assert extract("fd.sip", event) == "192.168.0.2"
    assert extract("fd.lip", event) == "192.168.0.3"
    assert extract("fd.rip", event) == "192.168.0.2"
    assert extract("fd.lport", event) == 55020
    assert extract("fd.rport", event) == 80
    assert extract("fd.l4proto", event) == "tcp"
    assert extract("fd.sockfamily", event) == "ip"
    assert extract("fd.connected", event) is True
    assert extract("fd.directory", event) is None
    assert extract("fd.port", event) == (55020, 80)
    assert extract("fd.net", event) == ("192.168.0.3", "192.168.0.2")
    assert extract("fd.rnet", event) == "192.168.0.2"


def test_server_socket_swaps_local_and_remote() -> None:
    fd = tcp_fd(3, ("10.0.0.9", 40000), ("10.0.0.1", 443), FdRole.SERVER)
    event = _with_fd(fd, "10.0.0.1")
    assert extract("fd.lip", event) == "10.0.0.1"
    assert extract("fd.rip", event) == "10.0.0.9"
    assert extract("fd.lport", event) == 443
    assert extract("fd.rproto", event) == "40000"
    assert extract("fd.is_server", event) is True


def test_local_end_is_the_client_when_its_address_is_ours() -> None:
    """libsinsp decides local/remote by the machine's addresses, not by who connected: on a
    host owning both ends (a bridge address accepting from a container) the client is local."""
    fd = tcp_fd(3, ("192.168.0.1", 44434), ("192.168.0.3", 80), FdRole.SERVER)
    event = _with_fd(fd, "127.0.0.1", "192.168.0.1", "192.168.0.3")
    assert (extract("fd.lip", event), extract("fd.lport", event)) == ("192.168.0.1", 44434)
    assert (extract("fd.rip", event), extract("fd.rport", event)) == ("192.168.0.3", 80)
    unknown_host = _with_fd(tcp_fd(3, ("10.1.1.1", 5), ("10.2.2.2", 6), FdRole.CLIENT))
    assert extract("fd.lip", unknown_host) == "10.2.2.2"
    assert extract("fd.is_server", unknown_host) is False


def test_ipv6_local_end_by_64_bit_prefix() -> None:
    fd = tcp_fd(3, ("2001:db8::4", 54405), ("2001:db8::3", 1234), FdRole.SERVER)
    fd.type = FdType.IPV6_SOCK
    assert extract("fd.lip", _with_fd(fd, "2001:db8::99")) == "2001:db8::4"
    assert extract("fd.lip", _with_fd(fd, "2001:db9::4")) == "2001:db8::3"
    in_container = _with_fd(fd, "2001:db8::4", container_id="59fd49aa4072")
    assert extract("fd.lip", in_container) == "2001:db8::3"


def test_ends_need_a_connected_socket_with_a_role() -> None:
    listening = FdInfo(3, FdType.IPV4_SERVSOCK, "0.0.0.0:80")
    listening.sip, listening.sport, listening.role = "0.0.0.0", 80, FdRole.SERVER
    event = _with_fd(listening, "10.0.0.1")
    assert extract("fd.sport", event) == 80
    assert extract("fd.is_server", event) is True
    for name in ("fd.lip", "fd.rip", "fd.lport", "fd.cip", "fd.cport"):
        assert extract(name, event) is None, name
    no_role = tcp_fd(3, ("10.0.0.1", 5), ("10.0.0.2", 6), FdRole.NONE)
    for name in ("fd.cip", "fd.sip", "fd.lip", "fd.sport"):
        assert extract(name, _with_fd(no_role, "10.0.0.1")) is None, name


def test_unix_socket_and_missing_fd() -> None:
    unix = FdInfo(3, FdType.UNIX_SOCK, "/run/sock")
    event = _with_fd(unix)
    assert extract("fd.sockfamily", event) == "unix"
    assert extract("fd.typechar", event) == "u"
    assert extract("fd.cip", event) is None
    missing = _with_fd(None)
    assert extract("fd.num", missing) == 3
    for name in ("fd.name", "fd.type", "fd.l4proto", "fd.connected", "fd.directory"):
        assert extract(name, missing) is None, name


def test_fdlist_of_poll() -> None:
    state = FakeState()
    info = thread(state, 10, "nginx")
    info.fdtable.add(file_fd(4, "/var/log/x"))
    info.fdtable.add(tcp_fd(5, ("1.2.3.4", 1000), ("5.6.7.8", 80), FdRole.SERVER))
    fds = struct.pack("<H", 2) + struct.pack("<qh", 4, 1) + struct.pack("<qh", 5, 1)
    event = attach(make_event("poll", ">", [fds, i64(100)], tid=10), state, info)
    assert extract("fdlist.nums", event) == "4,5"
    assert extract("fdlist.names", event) == "/var/log/x,1.2.3.4:1000->5.6.7.8:80"
    assert extract("fdlist.sports", event) == "80"


def _in_container(container: Container | None, cid: str = "59fd49aa4072abcdef") -> object:
    state = FakeState()
    info = thread(state, 10, "nginx", container_id=cid)
    if container is not None:
        state.containers[cid] = container
    return attach(make_event("close", ">", [i64(3)], tid=10, ts=5_000), state, info)


def test_host_process() -> None:
    event = _in_container(None, cid="")
    assert extract("container.id", event) == "host"
    assert extract("container.name", event) == "host"
    assert extract("container.image", event) is None
    assert extract("container.privileged", event) is None
    assert extract("k8s.ns.name", event) is None


def test_container_metadata() -> None:
    box = Container(
        name="web",
        image="nginx:1.25",
        image_repository="nginx",
        image_tag="1.25",
        privileged=True,
        mounts=[Mount("/var/run/docker.sock", "/var/run/docker.sock"), Mount("/data", "/srv")],
        labels={
            "io.kubernetes.pod.name": "web-0",
            "io.kubernetes.pod.namespace": "prod",
            "io.kubernetes.pod.uid": "u-1",
            "app": "web",
        },
        start_ts=1_000,
    )
    event = _in_container(box)
    assert extract("container.id", event) == "59fd49aa4072"
    assert extract("container.full_id", event) == "59fd49aa4072abcdef"
    assert extract("container.name", event) == "web"
    assert extract("container.image.repository", event) == "nginx"
    assert extract("container.privileged", event) is True
    assert extract("container.duration", event) == 4_000
    assert extract("container.mount.dest", event, "/var/run/docker.sock") == "/var/run/docker.sock"
    assert extract("container.mount.dest", event, "/dat*") == "/srv"
    assert extract("container.mount.source", event, "1") == "/data"
    assert extract("container.mount.dest", event, "/nope") is None
    assert extract("container.mount", event, "/nope") == "none"
    assert extract("container.label", event, "app") == "web"
    assert extract("k8s.pod.name", event) == "web-0"
    assert extract("k8s.ns.name", event) == "prod"
    assert extract("k8s.pod.uid", event) == "u-1"
    assert extract("k8s.pod.label.app", event) == "web"
    assert extract("k8s.pod.labels", event) == "app:web"
    # Without the Kubernetes API there are no namespace labels; with it, they show.
    assert extract("k8s.ns.label", event, "team") is None
    box.namespace_labels = {"team": "payments"}
    assert extract("k8s.ns.label", event, "team") == "payments"
    assert extract("k8s.ns.labels", event) == "team:payments"


def test_container_without_metadata_yet() -> None:
    event = _in_container(None)
    assert extract("container.id", event) == "59fd49aa4072"
    assert extract("container.name", event) is None
    assert extract("container.image.repository", event) is None


def test_relative_and_nested_file_names() -> None:
    assert extract("fd.directory", _with_fd(file_fd(3, "/a/b/c.txt"))) == "/a/b"
    assert extract("fd.filename", _with_fd(file_fd(3, "/a/b/c.txt"))) == "c.txt"
    directory = FdInfo(3, FdType.DIRECTORY, "/var/lib")
    assert extract("fd.directory", _with_fd(directory)) == "/var/lib"
    assert extract("fd.filename", _with_fd(directory)) is None
