""".scap writing: section header, machine info, the process/fd/user snapshot and event blocks.

`ScapWriter` records a live capture (`lanner capture -w`): the /proc snapshot first, then
events as they arrive; `write_scap` builds small synthetic captures for tests and benchmarks.
Block versions are chosen so that both `ScapReader` and Debian's sysdig 0.29.3 (libs of March
2022) read them: PL V9, FDL V2, UL V2 and EV V2 blocks, each with per-entry lengths so a reader
skips what it does not know. Events keep the layout of the one event table; an old reader that
knows fewer parameters for a code simply does not show the extra ones.
"""

from __future__ import annotations

import gzip
import ipaddress
import struct
from collections.abc import Iterable
from typing import BinaryIO

from lanner.capture.scap_records import (
    FD_DIRECTORY,
    FD_FILE,
    FD_FILE_V2,
    FD_IPV4_SERVSOCK,
    FD_IPV4_SOCK,
    FD_IPV6_SERVSOCK,
    FD_IPV6_SOCK,
    FD_UNIX_SOCK,
    FdEntry,
    GroupEntry,
    InterfaceEntry,
    MachineInfo,
    ProcEntry,
    UserEntry,
)
from lanner.events.event import Event
from lanner.events.values import AF_INET6

_SHB = 0x0A0D0D0A
_MI = 0x201
_PL_V9 = 0x215
_FDL_V2 = 0x218
_UL_V2 = 0x220
_IL_V1 = 0x205
_EV_V2 = 0x216
_EV_V2_LARGE = 0x221
_U16_MAX = 0xFFFF
# What libscap accepts (its SCAP_MAX_*_SIZE and MAX_CREDENTIALS_STR_LEN limits):
# a longer value makes sysdig refuse the whole file ("invalid envlen 7284"), so values are cut
# to fit, as libscap's own /proc scan cuts them (a shell or CI job with many exported variables
# easily has an environment over 4 KiB).
_PATH_MAX = 1023
_LIST_MAX = 4096
_CREDENTIAL_MAX = 255


def _block(block_type: int, body: bytes) -> bytes:
    padding = -len(body) % 4
    total = 12 + len(body) + padding
    return struct.pack("<II", block_type, total) + body + b"\0" * padding + struct.pack("<I", total)


def section_header_block() -> bytes:
    return _block(_SHB, struct.pack("<IHHq", 0x1A2B3C4D, 1, 2, -1))


def machine_info_block(
    hostname: str = "lanner", num_cpus: int = 1, machine: MachineInfo | None = None
) -> bytes:
    """The MI block; `machine` (e.g. from the /proc snapshot) overrides the other arguments."""
    memory, max_pid, boot = 1 << 30, 1 << 22, 0
    if machine is not None:
        hostname, num_cpus = machine.hostname, machine.num_cpus
        memory, max_pid, boot = (
            machine.memory_size_bytes,
            machine.max_pid,
            machine.boot_ts_epoch or 0,
        )
    name = hostname.encode()[:127].ljust(128, b"\0")
    head = struct.pack("<IQQ", num_cpus, memory, max_pid)
    return _block(_MI, head + name + struct.pack("<QQQQ", boot, 0, 0, 0))


# ---- length-prefixed values of the list blocks ---------------------------------------------


def _lstr(text: str | None, limit: int = _PATH_MAX) -> bytes:
    raw = (text or "").encode()[:limit]
    return struct.pack("<H", len(raw)) + raw


def _lstrlist(items: list[str] | None, limit: int = _LIST_MAX) -> bytes:
    """NUL-terminated items behind one u16 length (args, env, cgroups), within `limit` bytes:
    whole items while they fit; a first item longer than that is cut (and still terminated)."""
    out = bytearray()
    for item in items or ():
        raw = item.encode() + b"\0"
        if len(out) + len(raw) > limit:
            if not out:
                out += raw[: limit - 1] + b"\0"
            break
        out += raw
    return struct.pack("<H", len(out)) + bytes(out)


def _with_length(body: bytes) -> bytes:
    """An entry preceded by its u32 length, the length field included."""
    return struct.pack("<I", 4 + len(body)) + body


def _u(value: int | None, default: int = 0) -> int:
    return default if value is None else value


def proc_entry_bytes(entry: ProcEntry) -> bytes:
    """One PL V9 entry (the reader's `_parse_proc_entry` read in reverse)."""
    parts = [
        struct.pack("<QQq", entry.tid, entry.pid, entry.ptid),
        struct.pack("<qq", _u(entry.sid), _u(entry.vpgid)),
        _lstr(entry.comm),
        _lstr(entry.exe),
        _lstr(entry.exepath or entry.exe),
        _lstrlist(entry.args),
        _lstr(entry.cwd),
        struct.pack(
            "<QIII", entry.fdlimit, entry.flags, entry.uid & 0xFFFFFFFF, entry.gid & 0xFFFFFFFF
        ),
        struct.pack("<III", _u(entry.vmsize_kb), _u(entry.vmrss_kb), _u(entry.vmswap_kb)),
        struct.pack("<QQ", _u(entry.pfmajor), _u(entry.pfminor)),
        _lstrlist(entry.env),
        struct.pack("<qq", _u(entry.vtid, entry.tid), _u(entry.vpid, entry.pid)),
        _lstrlist(entry.cgroups),
        _lstr(entry.root or "/"),
        # the tail later libs appended, each field read only when present
        struct.pack(
            "<QII", _u(entry.pidns_init_start_ts), _u(entry.tty), _u(entry.loginuid, 0xFFFFFFFF)
        ),
        struct.pack("<B", bool(entry.exe_writable)),
        struct.pack(
            "<QQQ", _u(entry.cap_inheritable), _u(entry.cap_permitted), _u(entry.cap_effective)
        ),
        struct.pack("<B", bool(entry.exe_upper_layer)),
        struct.pack("<QQQ", _u(entry.exe_ino), _u(entry.exe_ino_ctime), _u(entry.exe_ino_mtime)),
        struct.pack("<BB", bool(entry.exe_from_memfd), bool(entry.exe_lower_layer)),
        struct.pack("<q", _u(entry.pgid, -1)),
    ]
    return _with_length(b"".join(parts))


def proc_list_block(entries: Iterable[ProcEntry]) -> bytes:
    return _block(_PL_V9, b"".join(proc_entry_bytes(e) for e in entries))


def _ip_bytes(text: str | None, size: int) -> bytes:
    if not text:
        return bytes(size)
    try:
        return ipaddress.ip_address(text).packed.rjust(size, b"\0")[-size:]
    except ValueError:
        return bytes(size)


def fd_entry_bytes(entry: FdEntry) -> bytes:
    """One FDL V2 entry."""
    body = struct.pack("<qQB", entry.fd, entry.ino, entry.type)
    kind = entry.type
    if kind in (FD_IPV4_SOCK, FD_IPV6_SOCK):
        size = 4 if kind == FD_IPV4_SOCK else 16
        body += _ip_bytes(entry.sip, size) + _ip_bytes(entry.dip, size)
        body += struct.pack("<HHB", _u(entry.sport), _u(entry.dport), _u(entry.l4proto))
    elif kind in (FD_IPV4_SERVSOCK, FD_IPV6_SERVSOCK):
        size = 4 if kind == FD_IPV4_SERVSOCK else 16
        body += _ip_bytes(entry.sip, size) + struct.pack("<HB", _u(entry.sport), _u(entry.l4proto))
    elif kind == FD_UNIX_SOCK:
        body += struct.pack("<QQ", _u(entry.unix_src), _u(entry.unix_dst)) + _lstr(entry.path)
    elif kind == FD_FILE_V2:
        body += struct.pack("<I", _u(entry.open_flags)) + _lstr(entry.path)
        body += struct.pack("<I", _u(entry.dev))
    elif kind in (FD_FILE, FD_DIRECTORY):
        body += _lstr(entry.path)
    else:
        body += _lstr(entry.name)
    return _with_length(body)


def fd_list_block(tid: int, entries: Iterable[FdEntry]) -> bytes:
    """The open fds of one process (entries of that tid)."""
    return _block(_FDL_V2, struct.pack("<Q", tid) + b"".join(fd_entry_bytes(e) for e in entries))


def user_list_block(entries: Iterable[UserEntry | GroupEntry]) -> bytes:
    """Users (type 0) and groups (type 1), UL V2 entries with their container id."""
    body = bytearray()
    for entry in entries:
        if isinstance(entry, UserEntry):
            item = struct.pack("<BII", 0, entry.uid & 0xFFFFFFFF, entry.gid & 0xFFFFFFFF)
            item += b"".join(
                _lstr(text, _CREDENTIAL_MAX) for text in (entry.name, entry.homedir, entry.shell)
            )
        else:
            item = struct.pack("<BI", 1, entry.gid & 0xFFFFFFFF)
            item += _lstr(entry.name, _CREDENTIAL_MAX)
        body += _with_length(item + _lstr(entry.container_id))
    return _block(_UL_V2, bytes(body))


def interface_list_block(entries: Iterable[InterfaceEntry]) -> bytes:
    """IL V1: per address u16 kind (1 IPv4, 2 IPv6), u16 name length, address, netmask,
    broadcast, u64 link speed (0: unknown), name."""
    body = bytearray()
    for entry in entries:
        name = entry.name.encode()[:_PATH_MAX]
        if entry.family == AF_INET6:
            size, kind = 16, 2
        else:
            size, kind = 4, 1
        parts = []
        for text in (entry.addr, entry.netmask, entry.broadcast):
            try:
                parts.append(ipaddress.ip_address(text).packed if text else bytes(size))
            except ValueError:
                parts.append(bytes(size))
        body += struct.pack("<HH", kind, len(name)) + b"".join(parts) + bytes(8) + name
    return _block(_IL_V1, bytes(body))


def event_block(event: Event) -> bytes:
    """The event re-encoded as an EV_V2 block (u16 or u32 lengths per its table entry)."""
    params = [event.param_raw(i) for i in range(event.nparams)]
    large = event.info.large_payload
    lens = struct.pack(f"<{len(params)}{'I' if large else 'H'}", *(len(p) for p in params))
    data = b"".join(params)
    length = 26 + len(lens) + len(data)
    header = struct.pack("<HQQIHI", event.cpu, event.ts, event.tid, length, event.code, len(params))
    return _block(_EV_V2_LARGE if large else _EV_V2, header + lens + data)


def write_scap(stream: BinaryIO, events: Iterable[Event], hostname: str = "lanner") -> int:
    """Write a plain capture holding `events`; returns the number of events written."""
    stream.write(section_header_block())
    stream.write(machine_info_block(hostname))
    count = 0
    for event in events:
        stream.write(event_block(event))
        count += 1
    return count


SnapshotItem = MachineInfo | ProcEntry | FdEntry | UserEntry | GroupEntry | InterfaceEntry


class ScapWriter:
    """A capture file being recorded: header and snapshot first, then events as they come.

    With `compress`, the file is gzip (what sysdig and `ScapReader` both open transparently).
    """

    def __init__(self, path: str, *, compress: bool = False) -> None:
        self.path = path
        raw: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed by close())
        self._stream: BinaryIO | gzip.GzipFile = (
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5) if compress else raw
        )
        self._raw = raw
        self.events = 0
        self.bytes = 0
        self._write(section_header_block())

    def _write(self, data: bytes) -> None:
        self._stream.write(data)
        self.bytes += len(data)

    def write_snapshot(self, records: Iterable[SnapshotItem], hostname: str = "lanner") -> None:
        """MI, PL, one FDL per process, UL — from /proc snapshot records in any order."""
        machine: MachineInfo | None = None
        procs: list[ProcEntry] = []
        fds: dict[int, list[FdEntry]] = {}
        users: list[UserEntry | GroupEntry] = []
        interfaces: list[InterfaceEntry] = []
        for record in records:
            if isinstance(record, MachineInfo):
                machine = record
            elif isinstance(record, InterfaceEntry):
                interfaces.append(record)
            elif isinstance(record, ProcEntry):
                procs.append(record)
            elif isinstance(record, FdEntry):
                fds.setdefault(record.tid, []).append(record)
            else:
                users.append(record)
        self._write(machine_info_block(hostname, machine=machine))
        if interfaces:
            self._write(interface_list_block(interfaces))
        self._write(proc_list_block(procs))
        for tid, entries in fds.items():
            self._write(fd_list_block(tid, entries))
        self._write(user_list_block(users))

    def write_event(self, event: Event) -> None:
        self._write(event_block(event))
        self.events += 1

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        if self._stream is not self._raw:
            self._stream.close()
        self._raw.close()
