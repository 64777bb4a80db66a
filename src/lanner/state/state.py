"""State: the thread table, users and groups, interfaces and machine facts, seeded from a
trace's snapshot records (or /proc) and kept current by the parser, one event at a time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lanner.events.table import codes_for_name
from lanner.events.values import AF_INET, AF_INET6, AF_UNIX
from lanner.state.fds import FdInfo, FdRole, FdTable, FdType, L4Proto
from lanner.state.parser import StateParser
from lanner.state.threads import NO_ID, ThreadInfo, ThreadTable
from lanner.state.values import (
    as_str,
    dir_with_slash,
    is_loopback,
    is_unspecified,
    split_cgroups,
)


@dataclass(slots=True)
class UserInfo:
    uid: int
    gid: int
    name: str
    homedir: str = ""
    shell: str = ""


@dataclass(slots=True)
class GroupInfo:
    gid: int
    name: str


@dataclass(slots=True)
class Interface:
    name: str
    family: int
    addr: str
    netmask: str | None = None


def should_deliver(event: Any, legacy: bool) -> bool:
    """Whether rules see this event: every event in the legacy (enter + exit) model, only
    exit and single-direction events in the modern one (Falco >= 0.42). The state parser
    consumes both directions either way."""
    if legacy or event.direction != ">":
        return True
    # Enter-only events (procexit, signaldeliver, container...) have no exit to wait for.
    return event.info.name in _ENTER_ONLY


_ENTER_ONLY = frozenset(
    {
        "procexit",
        "signaldeliver",
        "switch",
        "container",
        "pluginevent",
        "asyncevent",
        "notification",
        "page_fault",
        "cpu_hotplug",
        "drop",
        "infra",
        "tracer",
        "k8s",
        "mesos",
    }
)

_FD_TYPES = {int(t) for t in FdType}


# Metadata events some captures open with (their container and user lists, written as events
# when the capture starts): state only, not part of the event stream's timeline.
OPENING_DUMP_CODES = frozenset(
    code
    for name in ("container", "useradded", "userdeleted", "groupadded", "groupdeleted")
    for code in codes_for_name(name)
)


class State:
    """Everything the parser maintains. `process(event)` is the per-event entry point."""

    def __init__(self, max_threads: int = 262144) -> None:
        self.threads = ThreadTable(max_threads)
        self.users: dict[int, UserInfo] = {}
        self.groups: dict[int, GroupInfo] = {}
        self.interfaces: list[Interface] = []
        self._local_addresses: tuple[list[Interface], int, dict[tuple[str, bool], str | None]]
        self._local_addresses = (self.interfaces, 0, {})
        # container id -> metadata object; the enrich layer fills it, fields read it.
        self.containers: dict[str, Any] = {}
        self.machine: Any = None
        self.boot_ts = 0
        # Time of the stream's first timed event (evt.reltime); set by `note_start`.
        self.start_ts: int | None = None
        # Called with the JSON text of old captures' container events (enrich layer hook).
        self.container_hook: Callable[[str], None] | None = None
        # Watched domain names (lanner.enrich.dns.DnsNames) for fd.*ip.name; None: no names.
        self.dns: Any = None
        self._seeded_links = True
        self._server_ports: set[int] = set()
        self.parser = StateParser(self)

    # ---- per event -----------------------------------------------------------------------

    def process(self, event: Any) -> None:
        """Apply one event (enter or exit) and fill its thread/fd/enter/state slots."""
        if not self._seeded_links:
            self.link_thread_groups()
        self.parser.process(event)

    def note_start(self, events: Sequence[Any]) -> None:
        """Remember the stream's first event time from a batch (once), as libsinsp: the first
        timed event, not counting the container and user lists some captures open with
        (written as events when the capture starts)."""
        if self.start_ts is None:
            for event in events:
                if event.ts and event.code not in OPENING_DUMP_CODES:
                    self.start_ts = event.ts
                    return

    def batch_processor(self) -> Callable[[Any], None]:
        """The per-event entry point for a batch: `process` without its per-event check for
        pending snapshot records (seeding happens between batches, never inside one).

        A wrapper installed over this State's `process` (the enrich layer's) is returned
        as is: it must see every event."""
        if not self._seeded_links:
            self.link_thread_groups()
        wrapper: Callable[[Any], None] | None = self.__dict__.get("process")
        if wrapper is not None:
            return wrapper
        return self.parser.process

    def process_batch(self, events: Iterable[Any]) -> None:
        process = self.batch_processor()
        for event in events:
            process(event)

    # ---- lookups -------------------------------------------------------------------------

    def thread(self, tid: int) -> ThreadInfo | None:
        return self.threads.threads.get(tid)

    def user_name(self, uid: int) -> str | None:
        user = self.users.get(uid)
        return user.name if user is not None else None

    def group_name(self, gid: int) -> str | None:
        group = self.groups.get(gid)
        return group.name if group is not None else None

    def local_address_for(self, remote: str | None, ipv6: bool) -> str | None:
        """Our address toward remote, from the interface list (patches "0.0.0.0" sources)."""
        if remote is None:
            return None
        # Asked for every datagram from an unbound socket: remember the answers for as long
        # as the interface list stays the same.
        interfaces = self.interfaces
        known = self._local_addresses
        if known[0] is not interfaces or known[1] != len(interfaces):
            known = self._local_addresses = (interfaces, len(interfaces), {})
        key = (remote, ipv6)
        cache = known[2]
        if key in cache:
            return cache[key]
        found = cache[key] = self._find_local_address(remote, ipv6)
        return found

    def _find_local_address(self, remote: str, ipv6: bool) -> str | None:
        family = AF_INET6 if ipv6 else AF_INET
        try:
            target = ipaddress.ip_address(remote)
        except ValueError:
            return None
        for iface in self.interfaces:
            if iface.family != family or iface.netmask is None or is_unspecified(iface.addr):
                continue
            try:
                net = ipaddress.ip_network(f"{iface.addr}/{iface.netmask}", strict=False)
            except ValueError:
                continue
            if target in net:
                return iface.addr
        if is_loopback(remote):
            return "::1" if ipv6 else "127.0.0.1"
        for iface in self.interfaces:
            usable = not is_loopback(iface.addr) and not is_unspecified(iface.addr)
            if iface.family == family and usable:
                return iface.addr
        return None

    # ---- seeding from snapshot records (scap PL/FDL/UL/IL blocks, /proc) ------------------

    def seed_machine(self, machine: Any) -> None:
        self.machine = machine
        boot = getattr(machine, "boot_ts_epoch", None)
        self.boot_ts = int(boot) if boot else 0

    def seed_proc(self, entry: Any) -> ThreadInfo:
        """Add a thread from a process-list record (attributes as in capture's ProcEntry;
        None means "this record version lacks it")."""
        tid = int(entry.tid)
        info = ThreadInfo(tid, int(entry.pid), int(entry.ptid))
        info.comm = as_str(entry.comm)
        info.exe = as_str(entry.exe)
        info.exepath = as_str(_opt(entry, "exepath", ""))
        info.args = list(entry.args or [])
        info.env = list(_opt(entry, "env", None) or [])
        info.cwd = dir_with_slash(as_str(entry.cwd))
        info.fdlimit = int(entry.fdlimit)
        info.flags = int(entry.flags)
        info.uid = int(entry.uid) & NO_ID
        info.gid = int(entry.gid) & NO_ID
        info.sid = _int(entry, "sid", -1)
        info.vpgid = _int(entry, "vpgid", -1)
        info.pgid = _int(entry, "pgid", -1)
        info.vtid = _int(entry, "vtid", tid)
        info.vpid = _int(entry, "vpid", info.pid)
        info.cgroups = split_cgroups(list(_opt(entry, "cgroups", None) or []))
        info.root = as_str(_opt(entry, "root", None) or "/")
        info.tty = _int(entry, "tty", 0)
        info.loginuid = _int(entry, "loginuid", NO_ID) & NO_ID
        info.cap_inheritable = _int(entry, "cap_inheritable", 0)
        info.cap_permitted = _int(entry, "cap_permitted", 0)
        info.cap_effective = _int(entry, "cap_effective", 0)
        info.exe_ino = _int(entry, "exe_ino", 0)
        info.exe_ino_ctime = _int(entry, "exe_ino_ctime", 0)
        info.exe_ino_mtime = _int(entry, "exe_ino_mtime", 0)
        info.exe_writable = bool(_opt(entry, "exe_writable", False))
        info.exe_upper_layer = bool(_opt(entry, "exe_upper_layer", False))
        info.exe_lower_layer = bool(_opt(entry, "exe_lower_layer", False))
        info.exe_from_memfd = bool(_opt(entry, "exe_from_memfd", False))
        info.pidns_init_start_ts = _int(entry, "pidns_init_start_ts", 0)
        info.vmsize_kb = _int(entry, "vmsize_kb", 0)
        info.vmrss_kb = _int(entry, "vmrss_kb", 0)
        info.vmswap_kb = _int(entry, "vmswap_kb", 0)
        info.pfmajor = _int(entry, "pfmajor", 0)
        info.pfminor = _int(entry, "pfminor", 0)
        self.threads.add(info)
        # Threads share their main thread's fd table; the main one may come later.
        self._seeded_links = False
        return info

    def seed_fd(self, entry: Any) -> FdInfo | None:
        """Add an fd from an fd-list record to the table of entry.tid's process."""
        thread = self.threads.threads.get(int(entry.tid))
        if thread is None:
            return None
        fdtype = int(entry.type)
        info = FdInfo(int(entry.fd), fdtype if fdtype in _FD_TYPES else int(FdType.UNKNOWN))
        info.ino = int(entry.ino or 0)
        if fdtype in (FdType.IPV4_SOCK, FdType.IPV6_SOCK):
            info.family = AF_INET if fdtype == FdType.IPV4_SOCK else AF_INET6
            info.cip, info.cport = entry.sip, entry.sport
            info.sip, info.sport = entry.dip, entry.dport
            info.transport = int(entry.l4proto if entry.l4proto is not None else L4Proto.UNKNOWN)
            info.connected = info.transport == L4Proto.TCP
            info.name = f"{entry.sip}:{entry.sport}->{entry.dip}:{entry.dport}"
        elif fdtype in (FdType.IPV4_SERVSOCK, FdType.IPV6_SERVSOCK):
            info.family = AF_INET if fdtype == FdType.IPV4_SERVSOCK else AF_INET6
            info.sip, info.sport = entry.sip, entry.sport
            info.transport = int(entry.l4proto if entry.l4proto is not None else L4Proto.UNKNOWN)
            # A TCP listener serves; a UDP socket with only a local address may as well be a
            # client that sent from it (syslog, DNS lookups): its role is left for the first
            # datagram's tuple to tell, as libsinsp does.
            if info.transport != L4Proto.UDP:
                info.role = int(FdRole.SERVER)
            info.name = f"{entry.sip}:{entry.sport}"
            if fdtype == FdType.IPV4_SERVSOCK and entry.sport is not None:
                self._server_ports.add(int(entry.sport))
        elif fdtype == FdType.UNIX_SOCK:
            info.family = AF_UNIX
            info.unix_src = int(entry.unix_src or 0)
            info.unix_dst = int(entry.unix_dst or 0)
            info.name = as_str(entry.path)
            info.role = int(FdRole.SERVER if info.name else FdRole.CLIENT)
        elif fdtype in (FdType.FILE, FdType.FILE_V2):
            info.name = as_str(entry.path)
            info.dev = int(entry.dev or 0)
        else:
            info.name = as_str(entry.name if entry.name is not None else entry.path)
        info.openflags = int(entry.open_flags or 0)
        info.nameraw = info.name
        thread.fdtable.fds[info.fd] = info
        return info

    def seed_user(self, entry: Any) -> None:
        if hasattr(entry, "uid"):
            self.users[int(entry.uid)] = UserInfo(
                int(entry.uid),
                int(entry.gid),
                as_str(entry.name),
                as_str(getattr(entry, "homedir", "")),
                as_str(getattr(entry, "shell", "")),
            )
        else:
            self.groups[int(entry.gid)] = GroupInfo(int(entry.gid), as_str(entry.name))

    def seed_interface(self, entry: Any) -> None:
        self.interfaces.append(
            Interface(
                as_str(entry.name),
                int(entry.family),
                as_str(entry.addr),
                getattr(entry, "netmask", None),
            )
        )

    def seed(self, record: Any) -> bool:
        """Route any snapshot record to its seeder by shape; False if it is not one."""
        if hasattr(record, "boot_ts_epoch") or hasattr(record, "num_cpus"):
            self.seed_machine(record)
        elif hasattr(record, "fdlimit") and hasattr(record, "ptid"):
            self.seed_proc(record)
        elif hasattr(record, "fd") and hasattr(record, "ino") and hasattr(record, "tid"):
            self.seed_fd(record)
        elif hasattr(record, "family") and hasattr(record, "addr") and hasattr(record, "name"):
            self.seed_interface(record)
        elif hasattr(record, "gid") and hasattr(record, "name"):
            self.seed_user(record)
        else:
            return False
        return True

    def link_thread_groups(self) -> None:
        """Finish seeding: every thread uses its main thread's fd table and cwd, and IPv4
        connections are oriented client -> server (a snapshot lists them local -> remote)."""
        self._seeded_links = True
        threads = self.threads.threads
        self._orient_snapshot_sockets()
        for info in threads.values():
            if info.tid == info.pid:
                continue
            main = threads.get(info.pid)
            if main is None:
                continue
            if info.fdtable is not main.fdtable:
                for num, fd in info.fdtable.fds.items():
                    main.fdtable.fds.setdefault(num, fd)
                info.fdtable = main.fdtable
            info.cwd = main.cwd

    def _orient_snapshot_sockets(self) -> None:
        # As libsinsp does: a local port some process listens on makes us the server.
        seen: set[int] = set()
        for thread in self.threads.threads.values():
            table = thread.fdtable
            if id(table) in seen:
                continue
            seen.add(id(table))
            for info in table.fds.values():
                if info.type != FdType.IPV4_SOCK or info.role != FdRole.NONE:
                    continue
                if info.cport in self._server_ports:
                    info.cip, info.cport, info.sip, info.sport = (
                        info.sip,
                        info.sport,
                        info.cip,
                        info.cport,
                    )
                    info.name = f"{info.cip}:{info.cport}->{info.sip}:{info.sport}"
                    info.role = int(FdRole.SERVER)
                else:
                    info.role = int(FdRole.CLIENT)

    def new_fdtable(self, pid: int) -> FdTable:
        return FdTable(pid)


def _opt(entry: Any, name: str, default: Any) -> Any:
    value = getattr(entry, name, None)
    return default if value is None else value


def _int(entry: Any, name: str, default: int) -> int:
    value = getattr(entry, name, None)
    return default if value is None else int(value)
