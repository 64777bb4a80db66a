"""Records found in .scap files besides events, and the parsers of their blocks.

Each parser takes a block body (bytes) and returns records; a body that does not parse
raises `_BodyError` with a short reason, which the reader turns into a `ScapFormatError`
carrying the file offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from lanner.events.values import AF_INET, AF_INET6


class BodyError(Exception):
    """A block body is malformed (the reader adds the file offset)."""


@dataclass(frozen=True, slots=True)
class SectionHeader:
    major: int
    minor: int
    section_length: int
    options: bytes = b""


@dataclass(frozen=True, slots=True)
class MachineInfo:
    num_cpus: int
    memory_size_bytes: int
    max_pid: int
    hostname: str
    boot_ts_epoch: int | None = None
    flags: int | None = None


@dataclass(slots=True)
class ProcEntry:
    """One thread of the process list snapshot taken when the capture started.

    Fields a block version lacks are None.
    """

    tid: int
    pid: int
    ptid: int
    comm: str
    exe: str
    args: list[str]
    cwd: str
    fdlimit: int
    flags: int
    uid: int
    gid: int
    sid: int | None = None
    vpgid: int | None = None
    exepath: str | None = None
    vmsize_kb: int | None = None
    vmrss_kb: int | None = None
    vmswap_kb: int | None = None
    pfmajor: int | None = None
    pfminor: int | None = None
    env: list[str] | None = None
    vtid: int | None = None
    vpid: int | None = None
    cgroups: list[str] | None = None
    root: str | None = None
    pidns_init_start_ts: int | None = None
    tty: int | None = None
    loginuid: int | None = None
    exe_writable: bool | None = None
    cap_inheritable: int | None = None
    cap_permitted: int | None = None
    cap_effective: int | None = None
    exe_upper_layer: bool | None = None
    exe_ino: int | None = None
    exe_ino_ctime: int | None = None
    exe_ino_mtime: int | None = None
    exe_from_memfd: bool | None = None
    exe_lower_layer: bool | None = None
    pgid: int | None = None


# scap fd types, as stored in FDL blocks.
FD_UNKNOWN = 0
FD_FILE = 1
FD_DIRECTORY = 2
FD_IPV4_SOCK = 3
FD_IPV6_SOCK = 4
FD_IPV4_SERVSOCK = 5
FD_IPV6_SERVSOCK = 6
FD_FIFO = 7
FD_UNIX_SOCK = 8
FD_EVENT = 9
FD_UNSUPPORTED = 10
FD_SIGNALFD = 11
FD_EVENTPOLL = 12
FD_INOTIFY = 13
FD_TIMERFD = 14
FD_NETLINK = 15
FD_FILE_V2 = 16
FD_BPF = 17
FD_USERFAULTFD = 18
FD_IOURING = 19
FD_MEMFD = 20
FD_PIDFD = 21


@dataclass(slots=True)
class FdEntry:
    """One open fd of a thread in the capture's initial fd table.

    Per type: files carry `path` (+ `open_flags`, `dev`); IP sockets carry the tuple
    (`sip`/`sport`/`dip`/`dport`, `l4proto`) or, for listening sockets, `sip`/`sport` only;
    unix sockets carry `unix_src`/`unix_dst` pointers and `path`; others a `name`.
    """

    tid: int
    fd: int
    ino: int
    type: int
    family: int | None = None
    path: str | None = None
    open_flags: int | None = None
    dev: int | None = None
    sip: str | None = None
    sport: int | None = None
    dip: str | None = None
    dport: int | None = None
    l4proto: int | None = None
    unix_src: int | None = None
    unix_dst: int | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class UserEntry:
    uid: int
    gid: int
    name: str
    homedir: str
    shell: str
    container_id: str = ""


@dataclass(frozen=True, slots=True)
class GroupEntry:
    gid: int
    name: str
    container_id: str = ""


@dataclass(frozen=True, slots=True)
class InterfaceEntry:
    name: str
    family: int
    addr: str
    netmask: str | None = None
    broadcast: str | None = None


@dataclass
class ScapStats:
    """Counts of what a read went through, for a `--stats` summary."""

    blocks: dict[str, int] = field(default_factory=dict)
    events: int = 0
    unknown_event_codes: int = 0
    bytes_read: int = 0
    code_counts: list[int] = field(default_factory=list)
    """Events per code, indexed by code (a list: the reader bumps it once per event)."""
    other_code_counts: dict[int, int] = field(default_factory=dict)
    """Events per code for codes past `code_counts` (newer than the event table)."""

    @property
    def events_by_code(self) -> dict[int, int]:
        """Events per event code (codes never seen are absent)."""
        found = {code: n for code, n in enumerate(self.code_counts) if n}
        found.update(self.other_code_counts)
        return found

    def count_block(self, name: str) -> None:
        self.blocks[name] = self.blocks.get(name, 0) + 1


class Cursor:
    """A bounds-checked little-endian reader over one block body."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > self.end:
            raise BodyError(f"record runs past its block ({size} bytes wanted)")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: struct.Struct) -> tuple[int, ...]:
        return fmt.unpack(self.take(fmt.size))

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "little")

    def i64(self) -> int:
        return int.from_bytes(self.take(8), "little", signed=True)

    def lstr(self, *, wide: bool = False) -> str:
        """A length-prefixed string (u16 length, u32 if `wide`), trailing NULs dropped."""
        size = self.u32() if wide else self.u16()
        return self.take(size).rstrip(b"\0").decode("utf-8", "replace")

    def lstrlist(self) -> list[str]:
        """A length-prefixed NUL-separated list (args, env, cgroups)."""
        raw = self.take(self.u16())
        if not raw:
            return []
        # Every item ends with a NUL: drop only the last one, so empty items survive
        # (sshd's args are often ['', '']).
        if raw.endswith(b"\0"):
            raw = raw[:-1]
        return [part.decode("utf-8", "replace") for part in raw.split(b"\0")]


def ipv4_text(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def ipv6_text(raw: bytes) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(raw))


def parse_section_header(body: bytes) -> SectionHeader:
    cur = Cursor(body)
    magic = cur.u32()
    if magic != 0x1A2B3C4D:
        raise BodyError(f"bad byte-order magic {magic:#x} (not a little-endian scap file)")
    major, minor = cur.u16(), cur.u16()
    section_length = cur.u64()
    return SectionHeader(major, minor, section_length, bytes(body[cur.pos :]))


def parse_machine_info(body: bytes) -> MachineInfo:
    cur = Cursor(body)
    num_cpus = cur.u32()
    memory = cur.u64()
    max_pid = cur.u64()
    hostname = cur.take(128).split(b"\0", 1)[0].decode("utf-8", "replace")
    boot_ts = cur.u64() if cur.remaining >= 8 else None
    flags = cur.u64() if cur.remaining >= 8 else None
    return MachineInfo(num_cpus, memory, max_pid, hostname, boot_ts, flags)


# loginuid (4) + exe_writable (1) + cap_inheritable/permitted/effective (3 x 8).
_PRE_0_10_TAIL_SIZE = 29


def _proc_tail(cur: Cursor, entry: ProcEntry) -> None:
    """Fields appended to V9 entries over time; each is read only if the entry has room."""
    readers: list[tuple[str, int, bool]] = [
        ("pidns_init_start_ts", 8, False),
        ("tty", 4, False),
        ("loginuid", 4, False),
        ("exe_writable", 1, True),
        ("cap_inheritable", 8, False),
        ("cap_permitted", 8, False),
        ("cap_effective", 8, False),
        ("exe_upper_layer", 1, True),
        ("exe_ino", 8, False),
        ("exe_ino_ctime", 8, False),
        ("exe_ino_mtime", 8, False),
        ("exe_from_memfd", 1, True),
        ("exe_lower_layer", 1, True),
    ]
    if cur.remaining <= _PRE_0_10_TAIL_SIZE:
        # Writers before libs 0.10 put loginuid right after root; 0.10 inserted
        # pidns_init_start_ts and tty ahead of it. libscap tells them apart by the room
        # left: no more than the old tail (loginuid, exe_writable, three capability sets).
        readers = readers[2:]
    for name, size, is_bool in readers:
        if cur.remaining < size:
            return
        value = int.from_bytes(cur.take(size), "little")
        setattr(entry, name, bool(value) if is_bool else value)
    if cur.remaining >= 8:
        entry.pgid = cur.i64()


def parse_proc_list(body: bytes, version: int) -> list[ProcEntry]:
    cur = Cursor(body)
    entries: list[ProcEntry] = []
    # Bodies are padded to 4 bytes: fewer bytes than a minimal entry means we are done.
    while cur.remaining >= 32:
        entry_end = cur.end
        if version >= 9:
            entry_end = cur.pos + (entry_len := cur.u32())
            if entry_len < 28 or entry_end > cur.end:
                raise BodyError(f"process entry length {entry_len} out of bounds")
        sub = Cursor(cur.data, cur.pos, entry_end)
        entries.append(_parse_proc_entry(sub, version))
        cur.pos = entry_end if version >= 9 else sub.pos
    return entries


def _parse_proc_entry(cur: Cursor, version: int) -> ProcEntry:
    tid, pid, ptid = cur.u64(), cur.u64(), cur.u64()
    sid = cur.u64() if version >= 6 else None
    vpgid = cur.u64() if version >= 8 else None
    comm = cur.lstr()
    exe = cur.lstr()
    exepath = cur.lstr() if version >= 7 else None
    args = cur.lstrlist()
    cwd = cur.lstr()
    fdlimit, flags, uid, gid = cur.u64(), cur.u32(), cur.u32(), cur.u32()
    entry = ProcEntry(tid, pid, ptid, comm, exe, args, cwd, fdlimit, flags, uid, gid)
    entry.sid, entry.vpgid, entry.exepath = sid, vpgid, exepath
    if version >= 2:
        entry.vmsize_kb, entry.vmrss_kb, entry.vmswap_kb = cur.u32(), cur.u32(), cur.u32()
        entry.pfmajor, entry.pfminor = cur.u64(), cur.u64()
    if version >= 3:
        entry.env = cur.lstrlist()
    if version >= 4:
        entry.vtid, entry.vpid = cur.i64(), cur.i64()
        entry.cgroups = cur.lstrlist()
        if version >= 5:
            entry.root = cur.lstr()
    if version >= 9:
        _proc_tail(cur, entry)
    return entry


def parse_fd_list(body: bytes, version: int) -> list[FdEntry]:
    cur = Cursor(body)
    tid = cur.u64()
    entries: list[FdEntry] = []
    while cur.remaining >= 17:
        entry_end = cur.end
        if version >= 2:
            entry_end = cur.pos + (entry_len := cur.u32())
            if entry_len < 21 or entry_end > cur.end:
                raise BodyError(f"fd entry length {entry_len} out of bounds")
        sub = Cursor(cur.data, cur.pos, entry_end)
        entries.append(_parse_fd_entry(sub, tid, bounded=version >= 2))
        cur.pos = entry_end if version >= 2 else sub.pos
    return entries


def _parse_fd_entry(cur: Cursor, tid: int, *, bounded: bool) -> FdEntry:
    fd, ino, fdtype = cur.i64(), cur.u64(), cur.u8()
    entry = FdEntry(tid, fd, ino, fdtype)
    if fdtype == FD_IPV4_SOCK:
        entry.family = AF_INET
        entry.sip, entry.dip = ipv4_text(cur.take(4)), ipv4_text(cur.take(4))
        entry.sport, entry.dport, entry.l4proto = cur.u16(), cur.u16(), cur.u8()
    elif fdtype == FD_IPV6_SOCK:
        entry.family = AF_INET6
        entry.sip, entry.dip = ipv6_text(cur.take(16)), ipv6_text(cur.take(16))
        entry.sport, entry.dport, entry.l4proto = cur.u16(), cur.u16(), cur.u8()
    elif fdtype == FD_IPV4_SERVSOCK:
        entry.family = AF_INET
        entry.sip, entry.sport, entry.l4proto = ipv4_text(cur.take(4)), cur.u16(), cur.u8()
    elif fdtype == FD_IPV6_SERVSOCK:
        entry.family = AF_INET6
        entry.sip, entry.sport, entry.l4proto = ipv6_text(cur.take(16)), cur.u16(), cur.u8()
    elif fdtype == FD_UNIX_SOCK:
        entry.unix_src, entry.unix_dst = cur.u64(), cur.u64()
        entry.path = cur.lstr()
    elif fdtype == FD_FILE_V2:
        entry.open_flags = cur.u32()
        entry.path = cur.lstr()
        # Only length-prefixed entries can carry the optional device number.
        if bounded and cur.remaining >= 4:
            entry.dev = cur.u32()
    elif fdtype in (FD_FILE, FD_DIRECTORY):
        entry.path = cur.lstr()
    else:
        entry.name = cur.lstr()
    return entry


def parse_user_list(body: bytes, version: int) -> list[UserEntry | GroupEntry]:
    cur = Cursor(body)
    entries: list[UserEntry | GroupEntry] = []
    while cur.remaining >= 8:
        entry_end = cur.end
        if version >= 2:
            entry_end = cur.pos + (entry_len := cur.u32())
            if entry_len < 9 or entry_end > cur.end:
                raise BodyError(f"user entry length {entry_len} out of bounds")
        sub = Cursor(cur.data, cur.pos, entry_end)
        kind = sub.u8()
        if kind == 0:
            uid, gid = sub.u32(), sub.u32()
            name, home, shell = sub.lstr(), sub.lstr(), sub.lstr()
            container = sub.lstr() if version >= 2 and sub.remaining >= 2 else ""
            entries.append(UserEntry(uid, gid, name, home, shell, container))
        else:
            gid = sub.u32()
            name = sub.lstr()
            container = sub.lstr() if version >= 2 and sub.remaining >= 2 else ""
            entries.append(GroupEntry(gid, name, container))
        cur.pos = entry_end if version >= 2 else sub.pos
    return entries


# libscap scap_ifinfo_type: IPV4 = 1, IPV6 = 2, IPV4_NOINFO = 3, IPV6_NOINFO = 4.
_IF_IPV4, _IF_IPV6, _IF_IPV4_NOINFO, _IF_IPV6_NOINFO = 1, 2, 3, 4


def parse_interface_list(body: bytes, version: int) -> list[InterfaceEntry]:
    cur = Cursor(body)
    entries: list[InterfaceEntry] = []
    while cur.remaining >= 4:
        entry_end = cur.end
        if version >= 2:
            entry_len = cur.u32()
            entry_end = cur.pos + entry_len  # unlike other lists, not counting itself
            if entry_len < 2 or entry_end > cur.end:
                raise BodyError(f"interface entry length {entry_len} out of bounds")
        sub = Cursor(cur.data, cur.pos, entry_end)
        kind = sub.u16()
        if kind in (_IF_IPV4, _IF_IPV4_NOINFO):
            namelen = sub.u16()
            addr, mask, bcast = sub.take(4), sub.take(4), sub.take(4)
            sub.take(8)  # link speed
            name = sub.take(namelen).rstrip(b"\0").decode("utf-8", "replace")
            entries.append(
                InterfaceEntry(name, AF_INET, ipv4_text(addr), ipv4_text(mask), ipv4_text(bcast))
            )
        elif kind in (_IF_IPV6, _IF_IPV6_NOINFO):
            namelen = sub.u16()
            addr, mask, bcast = sub.take(16), sub.take(16), sub.take(16)
            sub.take(8)  # link speed
            name = sub.take(namelen).rstrip(b"\0").decode("utf-8", "replace")
            entries.append(
                InterfaceEntry(name, AF_INET6, ipv6_text(addr), ipv6_text(mask), ipv6_text(bcast))
            )
        else:
            # Trailing padding or an entry kind we do not know: nothing more to read here.
            break
        cur.pos = entry_end if version >= 2 else sub.pos
    return entries
