"""Which state handlers matter, given the fields that will be read (field-aware selection).

Some parser handlers only keep up a part of the state that few fields read. When no rule,
output or consumer reads such a field, the events of those handlers change nothing anyone
sees, and a selective source may leave them out (they are then skipped like any other
unhandled syscall: the thread's enter/exit pairing is broken with a note, see capture/).

The parts, the events that feed them and the fields that read them:

* memory figures: brk, mmap, mmap2, munmap set a thread's vm size/rss/swap, read only by
  proc.vmsize, proc.vmrss, proc.vmswap, thread.vmsize, thread.vmrss.
* socket refinement by plain I/O: read/write and their vector, positional and socket
  variants change existing socket entries only (connected flag, the tuple a datagram
  reveals, hence name, type, role, l4proto). Read by every field that looks at an fd entry
  (fd.*, evt.args-style decoration, fd-table counts...), even on an event that creates its
  own fd: a failed openat names its path from its dirfd's entry, whatever that is. A
  socket is never a usable directory, so the working directory and executable paths
  (resolved through a fchdir'd or dirfd entry by calls that fail on a socket) do not
  depend on it.
* socket inference by send: send, sendto, sendmsg, sendmmsg also add a UDP entry for an fd
  never seen created. Such an entry can stand where a directory fd later sits (dup2 from an
  unknown fd keeps it), so this also matters to anything resolved through the fd table:
  fd.* on any event, and the working directory and executable paths.
Any field not classified below counts as reading everything (conservative).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "MEMORY_TYPES",
    "SEND_TYPES",
    "SOCKET_IO_TYPES",
    "field_reads_fd_table",
    "unneeded_state_types",
]

MEMORY_TYPES = frozenset({"brk", "mmap", "mmap2", "munmap"})
MEMORY_FIELDS = frozenset(
    {"proc.vmsize", "proc.vmrss", "proc.vmswap", "thread.vmsize", "thread.vmrss"}
)
SOCKET_IO_TYPES = frozenset(
    {
        "read", "readv", "pread", "preadv", "recv", "recvfrom", "recvmsg", "recvmmsg",
        "write", "writev", "pwrite", "pwritev",
    }
)  # fmt: skip
SEND_TYPES = frozenset({"send", "sendto", "sendmsg", "sendmmsg"})


# Fields that read no fd entry at all, directly or through a value derived from one.
# Families first; the exceptions below them read the fd table or a path resolved with it.
_FD_FREE_FAMILIES = ("user.", "group.", "container.", "k8s.", "proc.", "thread.", "syscall.")
_FD_READING_PROC = frozenset(
    {
        "proc.fdopencount", "proc.fdusage",
        "proc.stdin.type", "proc.stdin.name", "proc.stdout.type", "proc.stdout.name",
        "proc.stderr.type", "proc.stderr.name",
    }
)  # fmt: skip
# Paths that a fchdir or an execveat resolves through the fd table (see the send part above).
_TABLE_RESOLVED_PROC = frozenset(
    {
        "proc.cwd", "proc.exepath", "proc.aexepath", "proc.pexepath", "proc.sid.exepath",
        "proc.vpgid.exepath",
    }
)  # fmt: skip
_FD_FREE_EVT = frozenset(
    {
        "evt.asynctype", "evt.buffer", "evt.count", "evt.count.error", "evt.count.error.file",
        "evt.count.error.memory", "evt.count.error.net", "evt.count.error.other",
        "evt.count.exit", "evt.cpu", "evt.datetime", "evt.datetime.s", "evt.deltatime",
        "evt.deltatime.ns", "evt.deltatime.s", "evt.dir", "evt.failed", "evt.hostname",
        "evt.io_dir", "evt.is_async", "evt.is_io", "evt.is_io_read", "evt.is_io_write",
        "evt.is_open_create", "evt.is_open_exec", "evt.is_open_read", "evt.is_open_write",
        "evt.is_wait", "evt.latency", "evt.latency.human", "evt.latency.ns", "evt.latency.s",
        "evt.num", "evt.pluginname", "evt.rawarg", "evt.rawres", "evt.rawtime",
        "evt.rawtime.ns", "evt.rawtime.s", "evt.reltime", "evt.reltime.ns", "evt.reltime.s",
        "evt.res", "evt.source", "evt.time", "evt.time.iso8601", "evt.time.s", "evt.type",
        "evt.type.is", "evt.wait_latency",
    }
)  # fmt: skip


def field_reads_fd_table(name: str) -> bool:
    """Whether the field may read an fd entry (or a value resolved through the fd table)."""
    if name in _FD_FREE_EVT:
        return False
    if name.startswith(_FD_FREE_FAMILIES):
        return name in _FD_READING_PROC
    return True


def unneeded_state_types(fields: Iterable[str] | None) -> frozenset[str]:
    """Event types whose state handlers matter to none of the registered field names
    `fields` (what rules, outputs and consumers read); None means the reads are unknown, so
    every handler matters and nothing is returned."""
    if fields is None:
        return frozenset()
    unneeded = set(MEMORY_TYPES | SOCKET_IO_TYPES | SEND_TYPES)
    for name in fields:
        if name in MEMORY_FIELDS:
            unneeded -= MEMORY_TYPES
        if field_reads_fd_table(name):
            unneeded -= SEND_TYPES | SOCKET_IO_TYPES
        elif name in _TABLE_RESOLVED_PROC:
            unneeded -= SEND_TYPES
    return frozenset(unneeded)
