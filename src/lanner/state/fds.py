"""File descriptors: what an fd number of a process points to (file, socket, pipe...).

The fd kinds and their one-letter codes are libsinsp's (`fd.type`, `fd.typechar`); the codes of
`FdType` are the scap ones, so fd-list records of a .scap file map onto them directly.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from types import SimpleNamespace


class FdType(enum.IntEnum):
    """scap fd kinds (the numbers stored in .scap fd-list blocks)."""

    UNINITIALIZED = -1
    UNKNOWN = 0
    FILE = 1
    DIRECTORY = 2
    IPV4_SOCK = 3
    IPV6_SOCK = 4
    IPV4_SERVSOCK = 5
    IPV6_SERVSOCK = 6
    FIFO = 7
    UNIX_SOCK = 8
    EVENT = 9
    UNSUPPORTED = 10
    SIGNALFD = 11
    EVENTPOLL = 12
    INOTIFY = 13
    TIMERFD = 14
    NETLINK = 15
    FILE_V2 = 16
    BPF = 17
    USERFAULTFD = 18
    IOURING = 19
    MEMFD = 20
    PIDFD = 21


# fd.type text per kind; server sockets report their family like connected ones.
FD_TYPE_NAMES: dict[int, str] = {
    FdType.FILE: "file",
    FdType.FILE_V2: "file",
    FdType.DIRECTORY: "directory",
    FdType.IPV4_SOCK: "ipv4",
    FdType.IPV4_SERVSOCK: "ipv4",
    FdType.IPV6_SOCK: "ipv6",
    FdType.IPV6_SERVSOCK: "ipv6",
    FdType.UNIX_SOCK: "unix",
    FdType.FIFO: "pipe",
    FdType.EVENT: "event",
    FdType.SIGNALFD: "signalfd",
    FdType.EVENTPOLL: "eventpoll",
    FdType.INOTIFY: "inotify",
    FdType.TIMERFD: "timerfd",
    FdType.NETLINK: "netlink",
    FdType.BPF: "bpf",
    FdType.USERFAULTFD: "userfaultfd",
    FdType.IOURING: "io_uring",
    FdType.MEMFD: "memfd",
    FdType.PIDFD: "pidfd",
}

# fd.typechar per kind ('?' for kinds without a letter).
FD_TYPE_CHARS: dict[int, str] = {
    FdType.FILE: "f",
    FdType.FILE_V2: "f",
    FdType.DIRECTORY: "d",
    FdType.IPV4_SOCK: "4",
    FdType.IPV4_SERVSOCK: "4",
    FdType.IPV6_SOCK: "6",
    FdType.IPV6_SERVSOCK: "6",
    FdType.FIFO: "p",
    FdType.UNIX_SOCK: "u",
    FdType.EVENT: "e",
    FdType.UNKNOWN: "o",
    FdType.UNSUPPORTED: "X",
    FdType.SIGNALFD: "s",
    FdType.EVENTPOLL: "l",
    FdType.INOTIFY: "i",
    FdType.TIMERFD: "t",
    FdType.NETLINK: "n",
    FdType.BPF: "b",
    FdType.USERFAULTFD: "u",
    FdType.IOURING: "r",
    FdType.MEMFD: "m",
    FdType.PIDFD: "P",
}

SOCKET_TYPES = frozenset(
    {
        FdType.IPV4_SOCK,
        FdType.IPV6_SOCK,
        FdType.IPV4_SERVSOCK,
        FdType.IPV6_SERVSOCK,
        FdType.UNIX_SOCK,
    }
)
IP_TYPES = frozenset(
    {FdType.IPV4_SOCK, FdType.IPV6_SOCK, FdType.IPV4_SERVSOCK, FdType.IPV6_SERVSOCK}
)


class L4Proto(enum.IntEnum):
    """scap layer-4 protocol codes (also the values stored in .scap fd lists)."""

    UNKNOWN = 0
    NA = 1
    TCP = 2
    UDP = 3
    ICMP = 4
    RAW = 5


L4PROTO_NAMES: dict[int, str] = {
    L4Proto.TCP: "tcp",
    L4Proto.UDP: "udp",
    L4Proto.ICMP: "icmp",
    L4Proto.RAW: "raw",
}


class FdRole(enum.IntEnum):
    """Which end of a connection this process holds."""

    NONE = 0
    CLIENT = 1
    SERVER = 2


# Plain ints for the constructor (an enum member lookup and int() cost ~0.2 us each).
_L4_NA = int(L4Proto.NA)
_L4_RAW = int(L4Proto.RAW)
_ROLE_NONE = int(FdRole.NONE)
# Connection sockets (not listeners): their transport shows only once they have a role.
_CONNECTION_TYPES = frozenset({int(FdType.IPV4_SOCK), int(FdType.IPV6_SOCK)})


# The enums' values as plain ints, for the parsers: an enum member lookup costs ~0.1 us,
# several per event. (IntEnum members and their ints compare and hash alike.)
FDTYPE = SimpleNamespace(**{member.name: int(member) for member in FdType})
L4 = SimpleNamespace(**{member.name: int(member) for member in L4Proto})
ROLE = SimpleNamespace(**{member.name: int(member) for member in FdRole})


class FdInfo:
    """One open file descriptor of a process.

    Socket endpoints are stored by role, as Falco's fields read them: `cip:cport` is the client
    end and `sip:sport` the server end of a connection, whichever of the two this process is
    (`role`). A listening socket has only `sip`/`sport`. `name` is sysdig's fd.name: the absolute
    path for files, "cip:cport->sip:sport" for connected IP sockets, "ip:port" for listeners.
    """

    __slots__ = (
        "cip",
        "connected",
        "cport",
        "dev",
        "family",
        "fd",
        "ino",
        "mount_id",
        "name",
        "name_changed",
        "nameraw",
        "openflags",
        "role",
        "sip",
        "sport",
        "transport",
        "type",
        "unix_dst",
        "unix_src",
    )

    def __init__(self, fd: int, fdtype: int, name: str = "") -> None:
        self.fd = fd
        self.type = fdtype
        self.name = name
        self.nameraw = name
        self.openflags = 0
        self.dev = 0
        self.ino = 0
        self.mount_id = 0
        self.cip: str | None = None
        self.cport: int | None = None
        self.sip: str | None = None
        self.sport: int | None = None
        self.transport = _L4_NA
        self.family = 0
        self.role = _ROLE_NONE
        self.unix_src = 0
        self.unix_dst = 0
        self.connected = False
        self.name_changed = False

    @property
    def typestring(self) -> str:
        """fd.type text ("file", "ipv4", "unix"...); empty for kinds libsinsp leaves unnamed."""
        return FD_TYPE_NAMES.get(self.type, "")

    @property
    def typechar(self) -> str:
        """fd.typechar letter ('f', '4', '6', 'u', 'p'...)."""
        return FD_TYPE_CHARS.get(self.type, "?")

    @property
    def is_socket(self) -> bool:
        return self.type in SOCKET_TYPES

    @property
    def is_ip_socket(self) -> bool:
        return self.type in IP_TYPES

    @property
    def is_server(self) -> bool:
        return self.role == FdRole.SERVER

    @property
    def is_client(self) -> bool:
        return self.role == FdRole.CLIENT

    @property
    def l4proto(self) -> int:
        """fd.l4proto as libsinsp reports it: `transport`, except that an IP connection
        socket without a role yet (created, not yet connected, bound or used) shows NA --
        raw sockets aside."""
        transport = self.transport
        if self.role == _ROLE_NONE and transport != _L4_RAW and self.type in _CONNECTION_TYPES:
            return _L4_NA
        return transport

    @l4proto.setter
    def l4proto(self, value: int) -> None:
        self.transport = value

    @property
    def l4proto_name(self) -> str | None:
        """fd.l4proto text ("tcp", "udp"...), None when not a protocol-carrying socket."""
        return L4PROTO_NAMES.get(self.l4proto)

    def copy(self, fd: int | None = None) -> FdInfo:
        """A copy (for dup and for the child's own table after fork), optionally renumbered."""
        # Slot by slot in plain code: a fork copies every fd of the process, and a setattr
        # loop over the slots cost ~5x more.
        new = FdInfo.__new__(FdInfo)
        new.cip = self.cip
        new.connected = self.connected
        new.cport = self.cport
        new.dev = self.dev
        new.family = self.family
        new.fd = self.fd if fd is None else fd
        new.ino = self.ino
        new.transport = self.transport
        new.mount_id = self.mount_id
        new.name = self.name
        new.name_changed = self.name_changed
        new.nameraw = self.nameraw
        new.openflags = self.openflags
        new.role = self.role
        new.sip = self.sip
        new.sport = self.sport
        new.type = self.type
        new.unix_dst = self.unix_dst
        new.unix_src = self.unix_src
        return new

    def __repr__(self) -> str:
        return f"FdInfo(fd={self.fd}, type={self.typestring or self.type}, name={self.name!r})"


class FdTable:
    """The fd table of one process (shared by all its threads, as in the kernel and libsinsp)."""

    __slots__ = ("fds", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fds: dict[int, FdInfo] = {}

    def get(self, fd: int) -> FdInfo | None:
        return self.fds.get(fd)

    def add(self, info: FdInfo) -> FdInfo:
        """Insert (or replace) the entry for info.fd; returns it."""
        self.fds[info.fd] = info
        return info

    def remove(self, fd: int) -> FdInfo | None:
        return self.fds.pop(fd, None)

    def clone(self, pid: int) -> FdTable:
        """A copy for a child process: same descriptions, separate table."""
        new = FdTable(pid)
        new.fds = {num: info.copy() for num, info in self.fds.items()}
        return new

    def __len__(self) -> int:
        return len(self.fds)

    def __iter__(self) -> Iterator[FdInfo]:
        return iter(list(self.fds.values()))

    def __contains__(self, fd: object) -> bool:
        return fd in self.fds
