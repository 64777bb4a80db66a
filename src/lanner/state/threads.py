"""Threads and processes: one ThreadInfo per kernel task, the table of them, lineage walks.

A process is its thread group: the main thread (tid == pid) and its threads share one fd table,
like the kernel's files_struct and libsinsp's main-thread-owned fd table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from lanner.state.fds import FdTable

# libsinsp's value for "unknown" uid/gid/loginuid (the u32 -1).
NO_ID = 0xFFFFFFFF


class ThreadInfo:
    """What is known of one task. Ids follow libsinsp: -1 when unknown.

    `incomplete` marks a thread made up on first sight of its tid (no process-list entry, no
    clone seen): its name is "<NA>" until an execve tells more.
    """

    __slots__ = (
        "args",
        "cap_effective",
        "cap_inheritable",
        "cap_permitted",
        "cgroups",
        "clone_ts",
        "comm",
        "container_id",
        "cwd",
        "egid",
        "env",
        "euid",
        "exe",
        "exe_from_memfd",
        "exe_ino",
        "exe_ino_ctime",
        "exe_ino_mtime",
        "exe_lower_layer",
        "exe_upper_layer",
        "exe_writable",
        "exepath",
        "exited",
        "fdlimit",
        "fdtable",
        "flags",
        "gid",
        "incomplete",
        "is_subreaper",
        "last_enter",
        "last_fd",
        "lastevent_ts",
        "lastexec_ts",
        "loginuid",
        "pfmajor",
        "pfminor",
        "pgid",
        "pid",
        "pidns_init_start_ts",
        "ptid",
        "root",
        "sid",
        "tid",
        "tty",
        "uid",
        "vmrss_kb",
        "vmsize_kb",
        "vmswap_kb",
        "vpgid",
        "vpid",
        "vtid",
    )

    def __init__(self, tid: int, pid: int | None = None, ptid: int = -1) -> None:
        self.tid = tid
        self.pid = tid if pid is None else pid
        self.ptid = ptid
        self.sid = -1
        self.vpgid = -1
        self.pgid = -1
        self.vtid = -1
        self.vpid = -1
        self.comm = ""
        self.exe = ""
        self.exepath = ""
        self.args: list[str] = []
        self.env: list[str] = []
        self.cwd = ""
        self.root = "/"
        self.uid = NO_ID
        self.gid = NO_ID
        self.euid = NO_ID
        self.egid = NO_ID
        self.loginuid = NO_ID
        self.tty = 0
        self.cgroups: list[tuple[str, str]] = []
        self.cap_permitted = 0
        self.cap_effective = 0
        self.cap_inheritable = 0
        self.flags = 0
        self.fdlimit = -1
        self.clone_ts = 0
        self.pidns_init_start_ts = 0
        self.lastexec_ts = 0
        self.lastevent_ts = 0
        self.exe_ino = 0
        self.exe_ino_ctime = 0
        self.exe_ino_mtime = 0
        self.exe_writable = False
        self.exe_upper_layer = False
        self.exe_lower_layer = False
        self.exe_from_memfd = False
        self.vmsize_kb = 0
        self.vmrss_kb = 0
        self.vmswap_kb = 0
        self.pfmajor = 0
        self.pfminor = 0
        # Filled by the enrich layer (containers); None = not resolved yet.
        self.container_id: str | None = None
        self.fdtable = FdTable(self.pid)
        self.incomplete = False
        self.exited = False
        self.is_subreaper = False
        # Parser bookkeeping: the last enter event of this tid and the fd it referred to.
        self.last_enter: Any = None
        self.last_fd: int | None = None

    @property
    def is_main_thread(self) -> bool:
        return self.tid == self.pid

    def __repr__(self) -> str:
        return f"ThreadInfo(tid={self.tid}, pid={self.pid}, ptid={self.ptid}, comm={self.comm!r})"


def make_unknown_thread(tid: int) -> ThreadInfo:
    """The placeholder libsinsp invents for a tid it has never heard of (comm "<NA>")."""
    info = ThreadInfo(tid, tid, -1)
    info.comm = "<NA>"
    info.exe = "<NA>"
    info.incomplete = True
    return info


class ThreadTable:
    """tid → ThreadInfo, with thread-group and parent/child indexes and counters.

    `max_size` bounds the table: when it is reached, exited and incomplete threads are purged
    first, then the least recently active ones (as libsinsp's auto-purge would eventually do).
    """

    __slots__ = (
        "_children",
        "_groups",
        "added",
        "dropped",
        "lookups",
        "max_size",
        "misses",
        "removed",
        "threads",
    )

    def __init__(self, max_size: int = 262144) -> None:
        self.threads: dict[int, ThreadInfo] = {}
        self._groups: dict[int, set[int]] = {}
        self._children: dict[int, set[int]] = {}
        self.max_size = max_size
        self.added = 0
        self.removed = 0
        self.lookups = 0
        self.misses = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.threads)

    def __contains__(self, tid: object) -> bool:
        return tid in self.threads

    def __iter__(self) -> Iterator[ThreadInfo]:
        return iter(list(self.threads.values()))

    def get(self, tid: int) -> ThreadInfo | None:
        """Counted lookup."""
        self.lookups += 1
        info = self.threads.get(tid)
        if info is None:
            self.misses += 1
        return info

    def add(self, info: ThreadInfo) -> ThreadInfo:
        """Insert or replace the thread info.tid; returns it."""
        old = self.threads.get(info.tid)
        if old is not None:
            self._unlink(old)
        elif len(self.threads) >= self.max_size:
            self.purge(len(self.threads) - self.max_size + 1 + self.max_size // 16)
        self.threads[info.tid] = info
        self._link(info)
        self.added += 1
        return info

    def remove(self, tid: int) -> ThreadInfo | None:
        info = self.threads.pop(tid, None)
        if info is not None:
            self._unlink(info)
            self.removed += 1
        return info

    def _link(self, info: ThreadInfo) -> None:
        self._groups.setdefault(info.pid, set()).add(info.tid)
        self._children.setdefault(info.ptid, set()).add(info.tid)

    def _unlink(self, info: ThreadInfo) -> None:
        group = self._groups.get(info.pid)
        if group is not None:
            group.discard(info.tid)
            if not group:
                del self._groups[info.pid]
        kids = self._children.get(info.ptid)
        if kids is not None:
            kids.discard(info.tid)
            if not kids:
                del self._children[info.ptid]

    def set_pid(self, info: ThreadInfo, pid: int) -> None:
        """Move a thread to another thread group (keeps the indexes right)."""
        if info.pid == pid:
            return
        present = self.threads.get(info.tid) is info
        if present:
            self._unlink(info)
        info.pid = pid
        if present:
            self._link(info)

    def set_ptid(self, info: ThreadInfo, ptid: int) -> None:
        """Give a thread a new parent (keeps the child index right)."""
        if info.ptid == ptid:
            return
        present = self.threads.get(info.tid) is info
        if present:
            self._unlink(info)
        info.ptid = ptid
        if present:
            self._link(info)

    def main_thread(self, info: ThreadInfo) -> ThreadInfo | None:
        """The thread-group leader of info (info itself for a main thread)."""
        if info.tid == info.pid:
            return info
        return self.threads.get(info.pid)

    def group(self, pid: int) -> list[ThreadInfo]:
        """Every known thread of process pid."""
        return [self.threads[t] for t in self._groups.get(pid, ()) if t in self.threads]

    def children(self, tid: int) -> list[ThreadInfo]:
        """Threads whose parent is tid."""
        return [self.threads[t] for t in self._children.get(tid, ()) if t in self.threads]

    def parent(self, info: ThreadInfo) -> ThreadInfo | None:
        """The parent process's thread (ptid), or None when unknown."""
        if info.ptid < 0 or info.ptid == info.tid:
            return None
        return self.threads.get(info.ptid)

    def ancestors(self, info: ThreadInfo, limit: int = 256) -> Iterator[ThreadInfo]:
        """Parent, grandparent... Stops at an unknown parent, at a loop, or after limit steps."""
        seen = {info.tid}
        current = info
        for _ in range(limit):
            parent = self.parent(current)
            if parent is None or parent.tid in seen:
                return
            seen.add(parent.tid)
            yield parent
            current = parent

    def find_reaper(self, info: ThreadInfo) -> int:
        """Who inherits the children of a dying info: a live thread of its own group, else the
        closest subreaper ancestor, else init (1), as the kernel's find_new_reaper does."""
        for tid in self._groups.get(info.pid, ()):
            other = self.threads.get(tid)
            if other is not None and other is not info and not other.exited:
                return tid
        for ancestor in self.ancestors(info):
            if ancestor.is_subreaper and not ancestor.exited:
                return ancestor.pid
        return 1

    def reparent_children(self, info: ThreadInfo) -> int:
        """Hand info's children over to its reaper; returns the new parent tid."""
        kids = self._children.get(info.tid)
        reaper = self.find_reaper(info)
        if kids:
            for tid in list(kids):
                child = self.threads.get(tid)
                if child is not None and child is not info:
                    self.set_ptid(child, reaper)
        return reaper

    def purge(self, count: int) -> int:
        """Drop up to count threads: exited and incomplete ones first, then the least recently
        active. Returns how many went."""
        if count <= 0:
            return 0
        ranked = sorted(
            self.threads.values(),
            key=lambda t: (not t.exited, not t.incomplete, t.lastevent_ts),
        )
        gone = 0
        for info in ranked[:count]:
            self.remove(info.tid)
            gone += 1
        self.dropped += gone
        return gone

    def purge_inactive(self, now_ts: int, timeout_ns: int) -> int:
        """Drop threads with no event for timeout_ns (libsinsp's periodic auto-purge)."""
        limit = now_ts - timeout_ns
        stale = [t.tid for t in self.threads.values() if t.lastevent_ts and t.lastevent_ts < limit]
        for tid in stale:
            self.remove(tid)
        self.dropped += len(stale)
        return len(stale)

    def purge_gone(self, now_ts: int, idle_ns: int, alive: Callable[[int], bool]) -> int:
        """Drop threads without an event for `idle_ns` that `alive(tid)` says no longer exist
        (live capture: their exit was among dropped events). A thread that only sleeps stays.
        Returns how many went."""
        limit = now_ts - idle_ns
        gone = [
            t.tid
            for t in self.threads.values()
            if t.lastevent_ts < limit and t.tid > 0 and not alive(t.tid)
        ]
        for tid in gone:
            self.remove(tid)
        self.dropped += len(gone)
        return len(gone)

    def counters(self) -> dict[str, int]:
        return {
            "threads": len(self.threads),
            "added": self.added,
            "removed": self.removed,
            "dropped": self.dropped,
            "lookups": self.lookups,
            "misses": self.misses,
        }
