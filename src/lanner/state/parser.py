"""The state parser: applies each event to the thread and fd tables before rules see it.

It mirrors what libsinsp's parsers do (clone/execve/exit build the process tree; open, socket,
connect, accept, dup, pipe... build the fd tables) and fills the Event's state slots:
`thread`, `enter`, `fd`, `fdnum`, `state`. Dispatch is by event code through a per-code
`_CodeSpec` built once, so the per-event cost is a few dict lookups plus the handler, if any.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from lanner.events.table import (
    EF_CREATES_FD,
    EF_SKIPPARSERESET,
    EF_USES_FD,
    EVENT_TABLE,
    ParamType,
    codes_for_name,
    event_info,
)
from lanner.state.sockparsers import SocketParsers
from lanner.state.threads import ThreadInfo, make_unknown_thread

if TYPE_CHECKING:
    from lanner.state.state import State

Handler = Callable[[Any, ThreadInfo | None], None]

# Events that carry no thread of their own (metadata, plugins).
_THREADLESS_KINDS = frozenset({"metaevent", "plugin"})
# Exit events whose tid may be a brand-new child: never invent a thread for them up front.
_NO_AUTOCREATE = frozenset({"clone", "fork", "vfork", "clone3", "procexit"})
# Scheduler events land between a syscall's enter and exit without being part of it. The older
# switch event (146) carries the skip-parse-reset flag; the newer one (152) does not, but it
# must not replace the pending enter either.
_NO_PAIRING_RESET = frozenset({"switch"})
# Events whose thread is only looked up, never invented: libsinsp does not query for (nor make
# up) the thread of a switch event -- most are kernel threads or the idle task (tid 0) -- so an
# unknown thread's switch has no proc/user/container fields and adds no '<NA>' entry.
_LOOKUP_ONLY = frozenset({"switch"})


class _CodeSpec:
    """What the parser needs to know about one event code, computed once."""

    __slots__ = (
        "creates_fd",
        "enter",
        "exit_fd_param",
        "fd_param",
        "handler",
        "mode",
        "name",
        "pairs",
    )

    def __init__(self) -> None:
        self.name = ""
        self.enter = False
        self.pairs = True  # an enter event that becomes its thread's pending enter
        # mode: 0 normal, 1 lookup only (skip-parse-reset events), 2 no thread at all,
        # 3 no thread invented (clone child side, procexit)
        self.mode = 0
        self.fd_param: int | None = None
        self.exit_fd_param: int | None = None
        self.creates_fd = False
        self.handler: Handler | None = None


def _first_fd_param(info: Any, skip_res: bool) -> int | None:
    for index, param in enumerate(info.params):
        if param.type in (ParamType.FD, ParamType.FD32):
            if skip_res and param.name == "res":
                continue
            return index
    return None


class StateParser(SocketParsers):
    """Feeds events into a State. Use `State.process(event)`; this class holds the dispatch."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.threads = state.threads
        self._specs: dict[int, _CodeSpec] = {}
        self._handlers: dict[tuple[str, str], Handler] = self._handler_table()
        self.events = 0
        self.unknown_threads = 0

    def _handler_table(self) -> dict[tuple[str, str], Handler]:
        exits: dict[str, Handler] = {
            "clone": self.on_clone_exit,
            "fork": self.on_clone_exit,
            "vfork": self.on_clone_exit,
            "clone3": self.on_clone_exit,
            "execve": self.on_execve_exit,
            "execveat": self.on_execve_exit,
            "chdir": self.on_chdir_exit,
            "fchdir": self.on_fchdir_exit,
            "getcwd": self.on_getcwd_exit,
            "chroot": self.on_chroot_exit,
            "setuid": self.on_setuid_exit,
            "setgid": self.on_setgid_exit,
            "setresuid": self.on_setresuid_exit,
            "setresgid": self.on_setresgid_exit,
            "setreuid": self.on_setresuid_exit,
            "setregid": self.on_setresgid_exit,
            "setsid": self.on_setsid_exit,
            "setpgid": self.on_setpgid_exit,
            "capset": self.on_capset_exit,
            "prctl": self.on_prctl_exit,
            "unshare": self.on_unshare_setns_exit,
            "setns": self.on_unshare_setns_exit,
            "getrlimit": self.on_rlimit_exit,
            "setrlimit": self.on_rlimit_exit,
            "prlimit": self.on_prlimit_exit,
            "brk": self.on_memory_exit,
            "mmap": self.on_memory_exit,
            "mmap2": self.on_memory_exit,
            "munmap": self.on_memory_exit,
            "open": self.on_open_exit,
            "openat": self.on_open_exit,
            "openat2": self.on_open_exit,
            "creat": self.on_open_exit,
            "open_by_handle_at": self.on_open_exit,
            "socket": self.on_socket_exit,
            "bind": self.on_bind_exit,
            "connect": self.on_connect_exit,
            "accept": self.on_accept_exit,
            "accept4": self.on_accept_exit,
            "close": self.on_close_exit,
            "dup": self.on_dup_exit,
            "dup2": self.on_dup_exit,
            "dup3": self.on_dup_exit,
            "fcntl": self.on_fcntl_exit,
            "pipe": self.on_pipe_exit,
            "pipe2": self.on_pipe_exit,
            "socketpair": self.on_socketpair_exit,
            "eventfd": self.on_eventfd_exit,
            "eventfd2": self.on_eventfd_exit,
            "signalfd": self.on_signalfd_exit,
            "signalfd4": self.on_signalfd_exit,
            "timerfd_create": self.on_timerfd_exit,
            "inotify_init": self.on_inotify_exit,
            "inotify_init1": self.on_inotify_exit,
            "epoll_create": self.on_epoll_exit,
            "epoll_create1": self.on_epoll_exit,
            "bpf": self.on_bpf_exit,
            "userfaultfd": self.on_userfaultfd_exit,
            "io_uring_setup": self.on_io_uring_exit,
            "memfd_create": self.on_memfd_exit,
            "pidfd_open": self.on_pidfd_open_exit,
            "pidfd_getfd": self.on_pidfd_getfd_exit,
            "read": self.on_read_exit,
            "readv": self.on_read_exit,
            "pread": self.on_read_exit,
            "preadv": self.on_read_exit,
            "recv": self.on_read_exit,
            "recvfrom": self.on_read_exit,
            "recvmsg": self.on_read_exit,
            "recvmmsg": self.on_read_exit,
            "write": self.on_write_exit,
            "writev": self.on_write_exit,
            "pwrite": self.on_write_exit,
            "pwritev": self.on_write_exit,
            "send": self.on_write_exit,
            "sendto": self.on_write_exit,
            "sendmsg": self.on_write_exit,
            "sendmmsg": self.on_write_exit,
        }
        table: dict[tuple[str, str], Handler] = {(name, "<"): h for name, h in exits.items()}
        table[("procexit", ">")] = self.on_procexit
        table[("connect", ">")] = self.on_connect_enter
        table[("container", ">")] = self.on_container_event
        return table

    def needed_codes(self, unneeded_types: Collection[str] = ()) -> frozenset[int]:
        """The event codes that change the state: those with a handler, in both directions
        (an exit handler falls back on its enter event's parameters), except the event types
        in `unneeded_types` (handlers of state nobody reads: see state/needs.py).

        Any other event only pairs enter and exit events: its thread's next event will not
        pair with what came before it. A source that skips such an event says so on that
        thread's next event it delivers (`Event.after_skip`), which keeps the pairing exact.
        """
        names = {name for name, _direction in self._handlers} - set(unneeded_types)
        return frozenset(code for name in names for code in codes_for_name(name))

    def quiet_codes(self) -> frozenset[int]:
        """The event codes whose only effect is to make their thread known (no handler, no
        part in enter/exit pairing, like the newer switch event): a source may skip them
        without a note when their thread is known."""
        return frozenset(
            info.code
            for info in EVENT_TABLE
            if (spec := self._spec_or_new(info)).mode == 0
            and not spec.pairs
            and spec.handler is None
        )

    def neutral_codes(self) -> frozenset[int]:
        """The event codes the parser ignores altogether (no handler, no effect on enter/exit
        pairing): a source may skip them without a trace."""
        neutral = []
        for info in EVENT_TABLE:
            spec = self._spec_or_new(info)
            if spec.mode in (1, 2) and spec.handler is None:
                neutral.append(info.code)
        return frozenset(neutral)

    def _spec_or_new(self, info: Any) -> _CodeSpec:
        return self._specs.get(info.code) or self._spec_for(info.code, info)

    def barrier_codes(self) -> frozenset[int]:
        """The event codes whose handling may remove threads from the table (a selective
        source must let the parser apply them before it judges which threads are known).
        Clone events replace a thread at once, so they remove none for good."""
        names = ("procexit", "execve", "execveat")
        return frozenset(code for name in names for code in codes_for_name(name))

    def _spec(self, event: Any) -> _CodeSpec:
        return self._spec_for(event.code, event.info)

    def _spec_for(self, code: int, fallback: Any) -> _CodeSpec:
        spec = _CodeSpec()
        info = event_info(code)
        if info is None:
            info = fallback
        spec.name = info.name
        spec.enter = info.direction == ">"
        spec.pairs = info.name not in _NO_PAIRING_RESET
        flags = info.flags
        kind = getattr(info, "kind", "syscall")
        if kind in _THREADLESS_KINDS or info.name == "container":
            spec.mode = 2
        elif flags & EF_SKIPPARSERESET or info.name in _LOOKUP_ONLY:
            spec.mode = 1
        elif info.name in _NO_AUTOCREATE:
            spec.mode = 3
        if flags & EF_USES_FD:
            if spec.enter:
                spec.fd_param = _first_fd_param(info, skip_res=False)
            else:
                spec.exit_fd_param = _first_fd_param(info, skip_res=True)
        spec.creates_fd = bool(flags & EF_CREATES_FD)
        spec.handler = self._handlers.get((info.name, info.direction))
        self._specs[code] = spec
        return spec

    def process(self, event: Any) -> None:
        """Apply one event to the state and fill its state slots."""
        self.events += 1
        spec = self._specs.get(event.code)
        if spec is None:
            spec = self._spec(event)
        event.state = self.state
        event.enter = None
        event.fd = None
        event.fdnum = None
        mode = spec.mode
        if mode == 2:
            if event.after_skip:
                self._after_skip(event.tid, self.threads.threads.get(event.tid))
            event.thread = None
            if spec.handler is not None:
                spec.handler(event, None)
            return
        tid = event.tid
        table = self.threads
        thread = table.threads.get(tid)
        table.lookups += 1
        if thread is None and mode == 0:
            thread = make_unknown_thread(tid)
            table.add(thread)
            self.unknown_threads += 1
        if event.after_skip:
            thread = self._after_skip(tid, thread)
        event.thread = thread
        handler = spec.handler
        if thread is None or mode == 1:
            if handler is not None:
                handler(event, thread)
            return
        thread.lastevent_ts = event.ts
        if not spec.pairs:
            pass
        elif spec.enter:
            thread.last_enter = event
            thread.last_fd = -1 if spec.creates_fd else None
            index = spec.fd_param
            if index is not None and index < event.nparams:
                fdnum = event.param(index)
                if isinstance(fdnum, int):
                    thread.last_fd = fdnum
                    event.fdnum = fdnum
                    event.fd = thread.fdtable.fds.get(fdnum)
            elif spec.creates_fd:
                event.fdnum = -1
        else:
            self._pair_exit(event, thread, spec)
        fd = event.fd
        if handler is None:
            # fd.name_changed describes this event only.
            if fd is not None:
                fd.name_changed = False
            return
        old_name = fd.name if fd is not None else ""
        handler(event, thread)
        fd = event.fd
        if fd is not None:
            fd.name_changed = fd.name != old_name

    def _after_skip(self, tid: int, thread: ThreadInfo | None) -> ThreadInfo:
        """The source skipped events of this thread: do what they would have done to the
        state -- make the thread known, and break any pending enter/exit pairing."""
        if thread is None:
            thread = make_unknown_thread(tid)
            self.threads.add(thread)
            self.unknown_threads += 1
        thread.last_enter = None
        return thread

    def _pair_exit(self, event: Any, thread: ThreadInfo, spec: _CodeSpec) -> None:
        enter = thread.last_enter
        last_fd = thread.last_fd
        thread.last_enter = None
        code = event.code
        if enter is not None and (
            enter.code == code - 1 or (spec.name == "execve" and enter.info.name == "execveat")
        ):
            event.enter = enter
        else:
            last_fd = None
        if spec.exit_fd_param is None and spec.fd_param is None:
            if spec.creates_fd or last_fd is not None:
                event.fdnum = last_fd
            if last_fd is not None and last_fd >= 0:
                event.fd = thread.fdtable.fds.get(last_fd)
            return
        if last_fd is None or last_fd < 0:
            index = spec.exit_fd_param
            if index is not None and index < event.nparams:
                value = event.param(index)
                if isinstance(value, int):
                    last_fd = value
        # An fd-using event whose fd is unknown reports -1, as libsinsp's fd.num does.
        event.fdnum = -1 if last_fd is None else last_fd
        if last_fd is not None:
            event.fd = thread.fdtable.fds.get(last_fd)
