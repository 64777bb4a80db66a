"""Hand-built events, threads and state for the extractor tests."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from lanner.events.event import Event
from lanner.events.table import codes_for_name, event_info
from lanner.fields import default_registry
from lanner.state.fds import FdInfo, FdRole, FdType, L4Proto
from lanner.state.threads import ThreadInfo, ThreadTable


def i64(value: int) -> bytes:
    return struct.pack("<q", value)


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def make_event(name: str, direction: str, params: list[bytes], **header: int) -> Event:
    """The newest table entry of event ``name`` in ``direction`` built from raw params."""
    infos = [event_info(c) for c in codes_for_name(name)]
    matching = [i for i in infos if i is not None and i.direction == direction]
    info = max(matching, key=lambda i: (not i.old_version, i.code))
    return Event.from_params(info, params, **header)


@dataclass
class User:
    name: str
    homedir: str = "/root"
    shell: str = "/bin/sh"


@dataclass
class Mount:
    source: str
    dest: str
    mode: str = ""
    rdwr: bool = True
    propagation: str = "rprivate"


@dataclass
class Container:
    name: str
    image: str
    image_repository: str
    image_tag: str
    privileged: bool = False
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    start_ts: int = 0


@dataclass
class Interface:
    name: str
    family: int  # PPM AF_INET=2, AF_INET6=10
    addr: str
    netmask: str | None = None


@dataclass
class FakeState:
    """Stands in for lanner.state's State: the tables extractors read."""

    threads: ThreadTable = field(default_factory=ThreadTable)
    users: dict[int, User] = field(default_factory=dict)
    groups: dict[int, User] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)
    interfaces: list[Interface] = field(default_factory=list)


def thread(
    state: FakeState, tid: int, comm: str, *, ptid: int = -1, args: tuple[str, ...] = (), **kw: Any
) -> ThreadInfo:
    info = ThreadInfo(tid, kw.pop("pid", tid), ptid)
    info.comm = comm
    info.exe = kw.pop("exe", comm)
    info.exepath = kw.pop("exepath", f"/usr/bin/{comm}")
    info.args = list(args)
    for key, value in kw.items():
        setattr(info, key, value)
    state.threads.add(info)
    return info


def attach(
    event: Event, state: FakeState, info: ThreadInfo | None, fdnum: int | None = None
) -> Event:
    """Fill the state slots the way the state parser would."""
    event.state = state
    event.thread = info
    event.fdnum = fdnum
    event.fd = info.fdtable.get(fdnum) if info is not None and fdnum is not None else None
    return event


def file_fd(num: int, path: str) -> FdInfo:
    return FdInfo(num, FdType.FILE_V2, path)


def tcp_fd(num: int, client: tuple[str, int], server: tuple[str, int], role: FdRole) -> FdInfo:
    (cip, cport), (sip, sport) = client, server
    fd = FdInfo(num, FdType.IPV4_SOCK, f"{cip}:{cport}->{sip}:{sport}")
    fd.cip, fd.cport, fd.sip, fd.sport = cip, cport, sip, sport
    fd.l4proto = L4Proto.TCP
    fd.role = role
    fd.connected = True
    return fd


def extract(name: str, event: Event, arg: str | None = None) -> Any:
    """Resolve like the rules compiler (dotted args included), bind, extract."""
    resolved = default_registry().resolve(name, arg)
    assert resolved is not None, name
    info, bound = resolved
    return info.bind(bound)(event)
