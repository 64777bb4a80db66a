"""A snapshot of the live system from /proc, in the .scap reader's record types.

Live capture starts with the processes and open fds that already exist, as libscap does from
/proc: the records below feed ``State.seed`` exactly like a trace's process/fd/user lists, so
the state code has one path for both. Everything is best effort: a process that exits while
it is read is skipped, unreadable files give defaults.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

from lanner.capture.scap_records import (
    FD_DIRECTORY,
    FD_EVENT,
    FD_EVENTPOLL,
    FD_FIFO,
    FD_FILE_V2,
    FD_INOTIFY,
    FD_IPV4_SERVSOCK,
    FD_IPV4_SOCK,
    FD_IPV6_SERVSOCK,
    FD_IPV6_SOCK,
    FD_MEMFD,
    FD_NETLINK,
    FD_PIDFD,
    FD_SIGNALFD,
    FD_TIMERFD,
    FD_UNIX_SOCK,
    FD_UNKNOWN,
    FdEntry,
    GroupEntry,
    InterfaceEntry,
    MachineInfo,
    ProcEntry,
    UserEntry,
)
from lanner.events.values import AF_INET, AF_INET6

SnapshotRecord = MachineInfo | ProcEntry | FdEntry | UserEntry | GroupEntry | InterfaceEntry

_ANON_TYPES = {
    "[eventfd]": FD_EVENT,
    "[eventpoll]": FD_EVENTPOLL,
    "[signalfd]": FD_SIGNALFD,
    "[timerfd]": FD_TIMERFD,
    "inotify": FD_INOTIFY,
    "[pidfd]": FD_PIDFD,
}
_TCP_LISTEN = "0A"
_L4_TCP, _L4_UDP = 2, 3  # scap l4proto codes used in fd lists


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _readlink(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _hex_ipv4(text: str) -> str:
    return socket.inet_ntop(socket.AF_INET, bytes.fromhex(text)[::-1])


def _hex_ipv6(text: str) -> str:
    raw = bytes.fromhex(text)
    # /proc/net/tcp6 prints the address as four host-order 32-bit words.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def socket_table(proc_root: Path) -> dict[int, FdEntry]:
    """Socket inode → a template FdEntry (tid/fd filled by the caller)."""
    table: dict[int, FdEntry] = {}
    for name, v6, l4 in (
        ("tcp", False, _L4_TCP),
        ("udp", False, _L4_UDP),
        ("tcp6", True, _L4_TCP),
        ("udp6", True, _L4_UDP),
    ):
        text = _read(proc_root / "net" / name)
        if not isinstance(text, str):
            continue
        for line in text.splitlines()[1:]:
            cols = line.split()
            if len(cols) < 10:
                continue
            local, remote, state, inode = cols[1], cols[2], cols[3], int(cols[9])
            lip, lport = local.split(":")
            rip, rport = remote.split(":")
            conv = _hex_ipv6 if v6 else _hex_ipv4
            listening = (l4 == _L4_TCP and state == _TCP_LISTEN) or (
                l4 == _L4_UDP and int(rport, 16) == 0
            )
            if listening:
                kind = FD_IPV6_SERVSOCK if v6 else FD_IPV4_SERVSOCK
                table[inode] = FdEntry(
                    0, 0, inode, kind, sip=conv(lip), sport=int(lport, 16), l4proto=l4
                )
            else:
                kind = FD_IPV6_SOCK if v6 else FD_IPV4_SOCK
                table[inode] = FdEntry(
                    0,
                    0,
                    inode,
                    kind,
                    sip=conv(lip),
                    sport=int(lport, 16),
                    dip=conv(rip),
                    dport=int(rport, 16),
                    l4proto=l4,
                )
    text = _read(proc_root / "net" / "unix")
    if isinstance(text, str):
        for line in text.splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 7:
                path = cols[7] if len(cols) > 7 else ""
                table[int(cols[6])] = FdEntry(0, 0, int(cols[6]), FD_UNIX_SOCK, path=path)
    return table


def _fd_entry(tid: int, fd: int, target: str, sockets: dict[int, FdEntry]) -> FdEntry:
    if target.startswith("socket:["):
        inode = int(target[8:-1])
        tpl = sockets.get(inode)
        if tpl is None:
            return FdEntry(tid, fd, inode, FD_UNKNOWN, name=target)
        return FdEntry(
            tid,
            fd,
            inode,
            tpl.type,
            sip=tpl.sip,
            sport=tpl.sport,
            dip=tpl.dip,
            dport=tpl.dport,
            l4proto=tpl.l4proto,
            path=tpl.path,
            unix_src=inode if tpl.type == FD_UNIX_SOCK else None,
            unix_dst=0 if tpl.type == FD_UNIX_SOCK else None,
        )
    if target.startswith("pipe:["):
        return FdEntry(tid, fd, int(target[6:-1]), FD_FIFO, name=target)
    if target.startswith("anon_inode:"):
        kind = _ANON_TYPES.get(target[11:], FD_UNKNOWN)
        return FdEntry(tid, fd, 0, kind, name=target)
    if target.startswith("/memfd:"):
        return FdEntry(tid, fd, 0, FD_MEMFD, name=target)
    if target.startswith("net:[") or target.startswith("netlink"):
        return FdEntry(tid, fd, 0, FD_NETLINK, name=target)
    path = target.removesuffix(" (deleted)")
    kind = FD_DIRECTORY if os.path.isdir(path) else FD_FILE_V2
    return FdEntry(tid, fd, 0, kind, path=path, open_flags=0)


# Kernel open(2) flag bits (x86_64) -> the PPM bits events carry (open_flags_to_ppm in the probe).
_PPM_OPEN_BITS = (
    (0o100, 1 << 2),  # O_CREAT
    (0o2000, 1 << 3),  # O_APPEND
    (0o10000, 1 << 4),  # O_DSYNC
    (0o200, 1 << 5),  # O_EXCL
    (0o4000, 1 << 6),  # O_NONBLOCK
    (0o4000000, 1 << 7),  # O_SYNC (__O_SYNC, as the probe reads it)
    (0o1000, 1 << 8),  # O_TRUNC
    (0o40000, 1 << 9),  # O_DIRECT
    (0o200000, 1 << 10),  # O_DIRECTORY
    (0o100000, 1 << 11),  # O_LARGEFILE
    (0o2000000, 1 << 12),  # O_CLOEXEC
)


def open_flags_to_ppm(flags: int) -> int:
    """Kernel open flags (as /proc/<pid>/fdinfo shows them) in the event table's PPM bits."""
    access = flags & 3
    ppm = {0: 1, 1: 2, 2: 3}.get(access, 0)  # O_RDONLY, O_WRONLY, O_RDWR
    for bit, ppm_bit in _PPM_OPEN_BITS:
        if flags & bit == bit:
            ppm |= ppm_bit
    return ppm


def _fd_flags(fdinfo: Path) -> int:
    """An fd's open flags (close-on-exec included) from its fdinfo; 0 when unreadable."""
    text = _read(fdinfo)
    if text:
        for line in text.splitlines():
            if line.startswith("flags:"):
                try:
                    return open_flags_to_ppm(int(line.split()[1], 8))
                except (IndexError, ValueError):
                    return 0
    return 0


def _status_fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _proc_entry(pid: int, tid: int, task: Path) -> ProcEntry | None:
    stat = _read(task / "stat")
    status = _read(task / "status")
    if not isinstance(stat, str) or not isinstance(status, str):
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    comm = stat[stat.find("(") + 1 : stat.rfind(")")]
    rest = stat[stat.rfind(")") + 2 :].split()
    fields = _status_fields(status)
    cmdline = _read_bytes(task / "cmdline")
    argv = [a.decode(errors="replace") for a in cmdline.split(b"\0")]
    if argv and argv[-1] == "":
        argv.pop()
    environ = _read_bytes(task / "environ")
    env = [e.decode(errors="replace") for e in environ.split(b"\0") if e]
    cgroup = _read(task / "cgroup")
    cgroups = []
    if isinstance(cgroup, str):
        for line in cgroup.splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3:
                cgroups.append(f"{parts[1] or 'unified'}={parts[2]}")
    loginuid = _read(task / "loginuid")
    nspid = fields.get("NSpid", "").split()
    ns_tgid = fields.get("NStgid", "").split()
    uids = fields.get("Uid", "0").split()
    gids = fields.get("Gid", "0").split()
    tty = int(rest[4]) if len(rest) > 4 else 0
    return ProcEntry(
        tid=tid,
        pid=pid,
        ptid=int(fields.get("PPid", "0") or 0),
        comm=comm,
        exe=argv[0] if argv else comm,
        args=argv[1:],
        cwd=_readlink(task / "cwd") or "",
        fdlimit=1024,
        flags=0,
        uid=int(uids[1] if len(uids) > 1 else uids[0]),
        gid=int(gids[1] if len(gids) > 1 else gids[0]),
        sid=int(rest[3]) if len(rest) > 3 else None,
        vpgid=int(rest[2]) if len(rest) > 2 else None,
        pgid=int(rest[2]) if len(rest) > 2 else None,
        exepath=_readlink(Path(task) / "exe") or "",
        env=env,
        vtid=int(nspid[-1]) if nspid else tid,
        vpid=int(ns_tgid[-1]) if ns_tgid else pid,
        cgroups=cgroups,
        root=_readlink(task / "root") or "/",
        tty=tty,
        loginuid=int(loginuid) if isinstance(loginuid, str) and loginuid.strip() else None,
        cap_inheritable=int(fields.get("CapInh", "0"), 16),
        cap_permitted=int(fields.get("CapPrm", "0"), 16),
        cap_effective=int(fields.get("CapEff", "0"), 16),
    )


def _users(etc: Path) -> Iterator[UserEntry | GroupEntry]:
    passwd = _read(etc / "passwd")
    if isinstance(passwd, str):
        for line in passwd.splitlines():
            cols = line.split(":")
            if len(cols) >= 7 and cols[2].isdigit() and cols[3].isdigit():
                yield UserEntry(int(cols[2]), int(cols[3]), cols[0], cols[5], cols[6])
    group = _read(etc / "group")
    if isinstance(group, str):
        for line in group.splitlines():
            cols = line.split(":")
            if len(cols) >= 3 and cols[2].isdigit():
                yield GroupEntry(int(cols[2]), cols[0])


def interfaces(proc_root: Path = Path("/proc")) -> Iterator[InterfaceEntry]:
    """The host's IPv4 and IPv6 addresses (the state tells local from remote ends by them)."""
    import fcntl
    import struct

    siocgifaddr, siocgifnetmask = 0x8915, 0x891B
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            packed = struct.pack("256s", name.encode()[:15])
            try:
                addr = fcntl.ioctl(probe.fileno(), siocgifaddr, packed)[20:24]
                mask = fcntl.ioctl(probe.fileno(), siocgifnetmask, packed)[20:24]
            except OSError:
                continue  # no IPv4 address on this interface
            yield InterfaceEntry(
                name, AF_INET, socket.inet_ntoa(addr), socket.inet_ntoa(mask), None
            )
    text = _read(proc_root / "net" / "if_inet6")
    if isinstance(text, str):
        for line in text.splitlines():
            cols = line.split()
            if len(cols) >= 6:
                addr6 = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(cols[0]))
                yield InterfaceEntry(cols[5], AF_INET6, addr6, None, None)


def machine_info(proc_root: Path = Path("/proc")) -> MachineInfo:
    boot = None
    stat = _read(proc_root / "stat")
    if isinstance(stat, str):
        for line in stat.splitlines():
            if line.startswith("btime "):
                boot = int(line.split()[1]) * 1_000_000_000
    mem = 0
    meminfo = _read(proc_root / "meminfo")
    if isinstance(meminfo, str) and meminfo.startswith("MemTotal:"):
        mem = int(meminfo.split()[1]) * 1024
    return MachineInfo(os.cpu_count() or 1, mem, 4194304, socket.gethostname(), boot)


def snapshot(
    proc_root: Path = Path("/proc"), etc: Path = Path("/etc"), skip_pid: int | None = None
) -> Iterator[SnapshotRecord]:
    """Machine, users/groups, then every thread and the fds of each process."""
    yield machine_info(proc_root)
    yield from interfaces(proc_root)
    yield from _users(etc)
    sockets = socket_table(proc_root)
    try:
        pids = sorted(int(name) for name in os.listdir(proc_root) if name.isdigit())
    except OSError:
        return
    for pid in pids:
        if pid == skip_pid:
            continue
        base = proc_root / str(pid)
        try:
            tids = sorted(int(t) for t in os.listdir(base / "task") if t.isdigit())
        except OSError:
            continue
        entries = [_proc_entry(pid, tid, base / "task" / str(tid)) for tid in tids]
        if not any(entries):
            continue
        for entry in entries:
            if entry is not None:
                yield entry
        try:
            fds = os.listdir(base / "fd")
        except OSError:
            continue
        for name in fds:
            if not name.isdigit():
                continue
            target = _readlink(base / "fd" / name)
            if target is not None:
                fd_entry = _fd_entry(pid, int(name), target, sockets)
                fd_entry.open_flags = _fd_flags(base / "fdinfo" / name)
                yield fd_entry
