"""fd-side parsers: open*, close, dup, fcntl, pipes, socketpair and the single-fd creators
(eventfd, signalfd, timerfd, inotify, epoll, bpf, userfaultfd, io_uring, memfd, pidfd).
The socket calls are in sockparsers.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lanner.events.values import AF_UNIX
from lanner.state.fds import FDTYPE, FdInfo
from lanner.state.procparsers import ProcParsers, own, pget, ret
from lanner.state.values import (
    AT_FDCWD,
    O_CLOEXEC,
    O_DIRECTORY,
    O_F_CREATED,
    as_int,
    as_str,
    concat_path,
)

if TYPE_CHECKING:
    from lanner.state.threads import ThreadInfo

F_DUPFD = 1
F_DUPFD_CLOEXEC = 26


def _fd_copy(old: FdInfo, newfd: int, cloexec: bool) -> FdInfo:
    """`old` duplicated as `newfd` (dup*, fcntl F_DUPFD*): the copy never inherits close-on-exec;
    only the call may ask for it (dup3's O_CLOEXEC, F_DUPFD_CLOEXEC)."""
    info = old.copy(newfd)
    info.openflags = (info.openflags & ~O_CLOEXEC) | (O_CLOEXEC if cloexec else 0)
    return info


class FdParsers(ProcParsers):
    """Mixin of StateParser: the handlers that change fd tables."""

    # ---- helpers -------------------------------------------------------------------------

    @staticmethod
    def _add(event: Any, thread: ThreadInfo, info: FdInfo) -> FdInfo:
        thread.fdtable.fds[info.fd] = info
        event.fd = info
        event.fdnum = info.fd
        return info

    def _add_single(self, event: Any, thread: ThreadInfo | None, fdtype: int) -> None:
        if thread is None:
            return
        fd = ret(event)
        if fd < 0:
            return
        info = FdInfo(fd, fdtype)
        flags = own(event, "flags")
        if flags is not None:
            info.openflags = as_int(flags)
        self._add(event, thread, info)

    # ---- files ---------------------------------------------------------------------------

    def on_open_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        event.decode_all()  # fd, name, flags, dev, ino: nearly all of them are read
        fd = ret(event)
        kind = event.info.name
        name = as_str(own(event, "name")) if kind != "open_by_handle_at" else ""
        flags = as_int(own(event, "flags"))
        enter = event.enter
        base = thread.cwd
        if kind == "creat":
            flags = 0
        if kind in ("openat", "openat2"):
            name = name or "<NA>"
            dirfd = own(event, "dirfd")
            if enter is not None:
                enter_name = enter.param_by_name("name")
                if enter_name is not None and as_str(enter_name) != "<NA>":
                    name = as_str(enter_name)
                    added = flags & ~(O_F_CREATED - 1)
                    flags = as_int(enter.param_by_name("flags")) | added
                    dirfd = enter.param_by_name("dirfd")
            base = ""
            if dirfd is not None:
                base = self._dirfd_base(thread, name, as_int(dirfd, AT_FDCWD))
        elif kind == "open_by_handle_at":
            name = as_str(own(event, "path"))
            base = ""
        elif enter is not None:
            enter_name = enter.param_by_name("name")
            if enter_name is not None and as_str(enter_name) != "<NA>":
                name = as_str(enter_name)
                if kind == "open":
                    added = flags & ~(O_F_CREATED - 1)
                    flags = as_int(enter.param_by_name("flags")) | added
        if fd < 0:
            # A failed open names no fd: fd.num stays -1 (libsinsp), not the error code.
            return
        info = FdInfo(fd, FDTYPE.DIRECTORY if flags & O_DIRECTORY else FDTYPE.FILE_V2)
        info.openflags = flags
        info.dev = as_int(own(event, "dev"))
        info.ino = as_int(own(event, "ino"))
        info.nameraw = name
        info.name = concat_path(base, name)
        self._add(event, thread, info)

    def on_close_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        # The event keeps its FdInfo (fields still read it); only the table forgets it.
        if thread is None or event.fd is None or ret(event) < 0:
            return
        if thread.fdtable.fds.get(event.fdnum) is event.fd:
            del thread.fdtable.fds[event.fdnum]

    def on_dup_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        newfd = ret(event)
        if newfd < 0:
            return
        if newfd == 0:
            thread.flags |= 1 << 22  # shell-pipe destination heuristic (PPM_CL_PIPE_DST)
        elif newfd == 1:
            thread.flags |= 1 << 21  # shell-pipe source (PPM_CL_PIPE_SRC)
        old = event.fd
        if old is None:
            return
        cloexec = event.info.name == "dup3" and bool(as_int(pget(event, "flags")) & O_CLOEXEC)
        self._add(event, thread, _fd_copy(old, newfd, cloexec))

    def on_fcntl_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or event.fd is None:
            return
        cmd = as_int(pget(event, "cmd"), -1)
        if cmd not in (F_DUPFD, F_DUPFD_CLOEXEC):
            return
        newfd = ret(event)
        if newfd >= 0:
            self._add(event, thread, _fd_copy(event.fd, newfd, cmd == F_DUPFD_CLOEXEC))

    def on_pipe_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or ret(event) < 0:
            return
        ino = as_int(own(event, "ino"))
        flags = as_int(own(event, "flags"))
        for name in ("fd1", "fd2"):
            info = FdInfo(as_int(own(event, name), -1), FDTYPE.FIFO)
            info.ino = ino
            info.openflags = flags
            self._add(event, thread, info)

    def on_socketpair_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or ret(event) < 0:
            return
        fd1 = as_int(own(event, "fd1"), -1)
        fd2 = as_int(own(event, "fd2"), -1)
        if fd1 == fd2:
            return
        first = FdInfo(fd1, FDTYPE.UNIX_SOCK)
        first.family = AF_UNIX
        first.unix_src = as_int(own(event, "source"))
        first.unix_dst = as_int(own(event, "peer"))
        self._add(event, thread, first.copy(fd2))
        self._add(event, thread, first)

    def on_eventfd_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.EVENT)

    def on_signalfd_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.SIGNALFD)

    def on_timerfd_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.TIMERFD)

    def on_inotify_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.INOTIFY)

    def on_epoll_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.EVENTPOLL)

    def on_bpf_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.BPF)

    def on_userfaultfd_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.USERFAULTFD)

    def on_io_uring_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        self._add_single(event, thread, FDTYPE.IOURING)

    def on_memfd_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        fd = ret(event)
        if fd < 0:
            return
        info = FdInfo(fd, FDTYPE.MEMFD, as_str(own(event, "name")))
        info.openflags = as_int(own(event, "flags"))
        self._add(event, thread, info)

    def on_pidfd_open_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        fd = ret(event)
        if fd < 0:
            return
        pid = as_int(pget(event, "pid"), -1)
        info = FdInfo(fd, FDTYPE.PIDFD, f"/proc/{pid}")
        info.openflags = as_int(pget(event, "flags"))
        info.ino = pid  # a pidfd has no inode worth keeping: remember the target pid there
        self._add(event, thread, info)

    def on_pidfd_getfd_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        fd = ret(event)
        pidfd = thread.fdtable.fds.get(as_int(pget(event, "pid_fd"), -1))
        if fd < 0 or pidfd is None or pidfd.type != FDTYPE.PIDFD:
            return
        owner = self.threads.threads.get(pidfd.ino)
        if owner is None:
            return
        target = owner.fdtable.fds.get(as_int(pget(event, "target_fd"), -1))
        if target is not None:
            self._add(event, thread, target.copy(fd))
