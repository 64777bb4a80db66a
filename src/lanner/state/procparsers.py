"""Process-side parsers: clone/fork, execve, exit, cwd, credentials, capabilities, limits.

Behaviour follows libsinsp's parsers (see falco.md §2.2); where old and new libsinsp differ,
the comments say which one is followed and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lanner.state.threads import ThreadInfo, make_unknown_thread
from lanner.state.values import (
    AT_FDCWD,
    O_CLOEXEC,
    as_int,
    as_str,
    concat_path,
    dir_with_slash,
    split_cgroups,
    split_nul,
)

if TYPE_CHECKING:
    from lanner.state.state import State
    from lanner.state.threads import ThreadTable

# PPM clone flags (ppm_events_public.h).
CL_CLONE_FILES = 1 << 0
CL_CLONE_NEWPID = 1 << 6
CL_CLONE_PARENT = 1 << 8
CL_CLONE_THREAD = 1 << 13
CL_CLONE_INVERTED = 1 << 16
CL_NAME_CHANGED = 1 << 17
CL_ACTIVE = 1 << 19
CL_CLONE_NEWUSER = 1 << 20
CL_PIPE_SRC = 1 << 21
CL_PIPE_DST = 1 << 22
CL_CLONE_VFORK = 1 << 27
CL_CHILD_IN_PIDNS = 1 << 29
CL_IS_MAIN_THREAD = 1 << 30

# execve "flags" bits about the executable.
EXE_WRITABLE = 1 << 0
EXE_UPPER_LAYER = 1 << 1
EXE_FROM_MEMFD = 1 << 2
EXE_LOWER_LAYER = 1 << 3
EXVAT_AT_EMPTY_PATH = 1 << 0

RLIMIT_NOFILE = 7
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
# Every capability bit of a 41-capability kernel (what a new user namespace grants).
MAX_CAPS = (1 << 41) - 1
# A child-side clone event this close to the caller-side one describes the same task.
CLONE_STALE_TIME_NS = 2_000_000_000
U32 = 0xFFFFFFFF


def ret(event: Any) -> int:
    """The syscall's return value (first exit parameter), -1 when missing."""
    if event.nparams == 0:
        return -1
    return as_int(event.param(0), -1)


def pget(event: Any, name: str) -> Any:
    """A parameter by name, falling back to the enter event when this event lacks it or
    carries it empty; None when neither has it."""
    # Inlined Event.param_by_name (a hot path): this event's own value first.
    index = event.info.param_names.get(name)
    if index is not None and index < event.nparams:
        value = event.param(index)
        if value is not None:
            return value
    enter = event.enter
    if enter is None or enter is event:
        return None
    return enter.param_by_name(name)


def own(event: Any, name: str) -> Any:
    """A parameter of this very event (no fallback to its enter event), None when absent."""
    index = event.param_index(name)
    if index is None or index >= event.nparams:
        return None
    return event.param(index)


def _pgid_indexes(event: Any) -> tuple[int | None, int | None]:
    """(vpgid, pgid) parameter positions of an execve exit. The event table may name both
    "pgid"; the first is then the namespace-local one."""
    found = [i for i, p in enumerate(event.info.params) if p.name in ("pgid", "vpgid")]
    vpgid = next((i for i in found if event.info.params[i].name == "vpgid"), None)
    if vpgid is None and len(found) >= 2:
        return found[0], found[1]
    rest = [i for i in found if i != vpgid]
    return vpgid, (rest[0] if rest else None)


class ProcParsers:
    """Mixin of StateParser: the handlers that change threads."""

    state: State
    threads: ThreadTable

    # ---- helpers -------------------------------------------------------------------------

    def _get_or_invent(self, tid: int) -> ThreadInfo:
        thread = self.threads.threads.get(tid)
        if thread is None:
            thread = self.threads.add(make_unknown_thread(tid))
        return thread

    def _set_cwd(self, thread: ThreadInfo, path: str) -> None:
        """chdir semantics: the working directory belongs to the whole process."""
        cwd = dir_with_slash(concat_path(thread.cwd, path)) if path else thread.cwd
        thread.cwd = cwd
        for other in self.threads.group(thread.pid):
            other.cwd = cwd

    @staticmethod
    def _fill_common(child: ThreadInfo, event: Any) -> None:
        child.exe = as_str(pget(event, "exe"))
        child.args = split_nul(pget(event, "args"))
        comm = pget(event, "comm")
        child.comm = as_str(comm) if comm is not None else child.exe
        child.fdlimit = as_int(pget(event, "fdlimit"), -1)
        vm_swap = pget(event, "vm_swap")
        if vm_swap is not None:
            child.pfmajor = as_int(pget(event, "pgft_maj"))
            child.pfminor = as_int(pget(event, "pgft_min"))
            child.vmsize_kb = as_int(pget(event, "vm_size"))
            child.vmrss_kb = as_int(pget(event, "vm_rss"))
            child.vmswap_kb = as_int(vm_swap)
        child.uid = as_int(pget(event, "uid"), U32) & U32
        child.gid = as_int(pget(event, "gid"), U32) & U32
        cgroups = pget(event, "cgroups")
        if cgroups is not None:
            child.cgroups = split_cgroups(split_nul(cgroups))
        child.clone_ts = event.ts

    @staticmethod
    def _inherit(child: ThreadInfo, source: ThreadInfo) -> None:
        child.exepath = source.exepath
        child.exe_writable = source.exe_writable
        child.exe_upper_layer = source.exe_upper_layer
        child.exe_lower_layer = source.exe_lower_layer
        child.exe_from_memfd = source.exe_from_memfd
        child.root = source.root
        child.sid = source.sid
        child.vpgid = source.vpgid
        child.pgid = source.pgid
        child.tty = source.tty
        child.loginuid = source.loginuid
        child.cap_permitted = source.cap_permitted
        child.cap_inheritable = source.cap_inheritable
        child.cap_effective = source.cap_effective
        child.exe_ino = source.exe_ino
        child.exe_ino_ctime = source.exe_ino_ctime
        child.exe_ino_mtime = source.exe_ino_mtime
        child.container_id = source.container_id

    def _pidns_start(self, child: ThreadInfo, event: Any) -> None:
        boot = self.state.boot_ts
        in_ns = child.flags & (CL_CHILD_IN_PIDNS | CL_CLONE_NEWPID) or child.tid != child.vtid
        if in_ns:
            start = pget(event, "pidns_init_start_ts")
            if start is not None:
                child.pidns_init_start_ts = as_int(start) + boot
        else:
            child.pidns_init_start_ts = boot

    # ---- clone / fork / vfork / clone3 ---------------------------------------------------

    def on_clone_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        event.decode_all()  # most of its ~20 parameters are read below
        child_tid = ret(event)
        if child_tid < 0:
            return
        if child_tid == 0:
            self._clone_child_side(event, thread)
        else:
            self._clone_caller_side(event, thread, child_tid)

    def _clone_caller_side(self, event: Any, caller: ThreadInfo | None, child_tid: int) -> None:
        if caller is None:
            caller = self._get_or_invent(event.tid)
            event.thread = caller
        valid_caller = not caller.incomplete
        if not valid_caller:
            self.threads.set_pid(caller, as_int(pget(event, "pid"), caller.pid))
            self.threads.set_ptid(caller, as_int(pget(event, "ptid"), -1))
            vpid = pget(event, "vpid")
            if vpid is not None:
                caller.vtid = as_int(pget(event, "vtid"), caller.tid)
                caller.vpid = as_int(vpid, -1)
            else:
                caller.vtid = caller.tid
                caller.vpid = -1
        flags = as_int(pget(event, "flags"))
        # A child in another pid namespace (or created on behalf of the grandparent) is only
        # described correctly by its own child-side event.
        if flags & (CL_CHILD_IN_PIDNS | CL_CLONE_NEWPID | CL_CLONE_PARENT):
            return
        if caller.vtid not in (-1, caller.tid):
            return
        # vfork: the child may run (and even exit) before the parent returns; let its own
        # event create it, as modern libsinsp does.
        if flags & CL_CLONE_VFORK or event.info.name == "vfork":
            return
        existing = self.threads.threads.get(child_tid)
        if existing is not None:
            if existing.flags & CL_CLONE_INVERTED:
                return
            self.threads.remove(child_tid)
        child = ThreadInfo(child_tid)
        child.flags = flags
        if not flags & CL_CLONE_THREAD:
            if valid_caller:
                child.fdtable = caller.fdtable.clone(child_tid)
                child.cwd = caller.cwd
                child.env = caller.env
            child.pid = child_tid
            child.ptid = caller.tid
        else:
            child.pid = caller.pid
            child.ptid = caller.ptid
            child.fdtable = caller.fdtable
            child.cwd = caller.cwd
            child.env = caller.env
            child.flags |= CL_CLONE_FILES
            child.lastexec_ts = caller.lastexec_ts
        child.vtid = child.tid
        child.vpid = child.pid
        self._fill_common(child, event)
        child.pidns_init_start_ts = self.state.boot_ts
        if valid_caller:
            self._inherit(child, caller)
        else:
            caller.exe = child.exe
            caller.comm = child.comm
            caller.args = list(child.args)
        self.threads.add(child)

    def _clone_child_side(self, event: Any, existing: ThreadInfo | None) -> None:
        tid = event.tid
        if existing is not None and existing.clone_ts:
            if event.ts - existing.clone_ts < CLONE_STALE_TIME_NS:
                return
            self.threads.remove(tid)
        child = ThreadInfo(tid)
        child.pid = as_int(pget(event, "pid"), tid)
        child.ptid = as_int(pget(event, "ptid"), -1)
        vpid = pget(event, "vpid")
        if vpid is not None:
            child.vtid = as_int(pget(event, "vtid"), tid)
            child.vpid = as_int(vpid, -1)
        else:
            child.vtid = tid
            child.vpid = -1
        child.flags = as_int(pget(event, "flags")) | CL_CLONE_INVERTED
        leader = not child.flags & CL_CLONE_THREAD
        if not leader:
            child.flags |= CL_CLONE_FILES
        lookup = self._get_or_invent(child.ptid if leader else child.pid)
        valid = not lookup.incomplete
        if not valid and not leader:
            self.threads.set_pid(lookup, child.pid)
            self.threads.set_ptid(lookup, child.ptid)
            lookup.vpid = child.vpid
            lookup.vtid = lookup.vpid
        self._fill_common(child, event)
        if valid:
            self._inherit(child, lookup)
            if leader:
                child.fdtable = lookup.fdtable.clone(tid)
                child.cwd = lookup.cwd
                child.env = lookup.env
            else:
                child.lastexec_ts = lookup.lastexec_ts
        elif not leader:
            lookup.exe = child.exe
            lookup.comm = child.comm
            lookup.args = list(child.args)
        if not leader:
            child.fdtable = lookup.fdtable
            child.cwd = lookup.cwd
            child.env = lookup.env
        self._pidns_start(child, event)
        self.threads.add(child)
        event.thread = child

    # ---- execve / execveat ---------------------------------------------------------------

    def on_execve_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or ret(event) < 0:
            return
        event.decode_all()  # most of its parameters are read below
        thread.exited = False
        thread.exe = as_str(pget(event, "exe"))
        thread.lastexec_ts = event.ts
        comm = pget(event, "comm")
        thread.comm = as_str(comm) if comm is not None else thread.exe
        thread.args = split_nul(pget(event, "args"))
        self.threads.set_pid(thread, as_int(pget(event, "pid"), thread.pid))
        if thread.incomplete:
            # A thread first seen here: the exec tells us its parent.
            self.threads.set_ptid(thread, as_int(pget(event, "ptid"), -1))
            if not thread.flags & CL_CHILD_IN_PIDNS:
                thread.vtid = thread.tid
                thread.vpid = thread.pid
            thread.incomplete = False
        thread.fdlimit = as_int(pget(event, "fdlimit"), thread.fdlimit)
        vm_swap = pget(event, "vm_swap")
        if vm_swap is not None:
            thread.pfmajor = as_int(pget(event, "pgft_maj"))
            thread.pfminor = as_int(pget(event, "pgft_min"))
            thread.vmsize_kb = as_int(pget(event, "vm_size"))
            thread.vmrss_kb = as_int(pget(event, "vm_rss"))
            thread.vmswap_kb = as_int(vm_swap)
        env = pget(event, "env")
        if env is not None:
            thread.env = split_nul(env)
        cgroups = pget(event, "cgroups")
        if cgroups is not None:
            thread.cgroups = split_cgroups(split_nul(cgroups))
        tty = pget(event, "tty")
        if tty is not None:
            thread.tty = as_int(tty)
        self._exec_path(event, thread)
        self._exec_tail(event, thread)
        keep = thread.flags & (CL_PIPE_SRC | CL_PIPE_DST | CL_IS_MAIN_THREAD)
        inverted = thread.flags & CL_CLONE_INVERTED
        thread.flags = CL_ACTIVE | keep | inverted | CL_NAME_CHANGED
        # execve by any thread leaves only the (new) main thread alive in the group.
        for other in self.threads.group(thread.pid):
            if other is not thread and not other.is_main_thread:
                self.threads.remove(other.tid)
        # The kernel closes the close-on-exec fds of the new image (as libsinsp does).
        fds = thread.fdtable.fds
        for num in [num for num, info in fds.items() if info.openflags & O_CLOEXEC]:
            del fds[num]

    def _exec_path(self, event: Any, thread: ThreadInfo) -> None:
        trusted = as_str(own(event, "trusted_exepath"))
        if trusted:
            thread.exepath = trusted
            return
        enter = event.enter
        if enter is None:
            return
        if enter.info.name == "execve":
            filename = enter.param_by_name("filename")
            if filename is None:
                return
            name = as_str(filename)
            thread.exepath = "<NA>" if name == "<NA>" else concat_path(thread.cwd, name)
        elif enter.info.name == "execveat":
            dirfd = as_int(enter.param_by_name("dirfd"), AT_FDCWD)
            flags = as_int(enter.param_by_name("flags"))
            pathname = as_str(enter.param_by_name("pathname"))
            base = self._dirfd_base(thread, pathname, dirfd)
            if (not flags & EXVAT_AT_EMPTY_PATH and pathname == "<NA>") or base == "<UNKNOWN>":
                thread.exepath = "<NA>"
            elif flags & EXVAT_AT_EMPTY_PATH:
                thread.exepath = concat_path("", base)
            else:
                thread.exepath = concat_path(base, pathname)

    @staticmethod
    def _dirfd_base(thread: ThreadInfo, name: str, dirfd: int) -> str:
        """The directory a relative path of an *at() call resolves against."""
        if name.startswith("/"):
            return ""
        if dirfd == AT_FDCWD:
            return thread.cwd
        info = thread.fdtable.fds.get(dirfd)
        if info is None:
            return "<UNKNOWN>"
        return dir_with_slash(info.name)

    @staticmethod
    def _exec_tail(event: Any, thread: ThreadInfo) -> None:
        """The parameters newer execve events append (ids, caps, exe inode...)."""
        if event.nparams <= 17:
            return
        vpgid_i, pgid_i = _pgid_indexes(event)
        if vpgid_i is not None and vpgid_i < event.nparams:
            value = event.param(vpgid_i)
            if value is not None:
                thread.vpgid = as_int(value, -1)
        loginuid = own(event, "loginuid")
        if loginuid is not None:
            thread.loginuid = as_int(loginuid) & U32
        flags = own(event, "flags")
        if flags is not None:
            bits = as_int(flags)
            thread.exe_writable = bool(bits & EXE_WRITABLE)
            thread.exe_upper_layer = bool(bits & EXE_UPPER_LAYER)
            thread.exe_from_memfd = bool(bits & EXE_FROM_MEMFD)
            thread.exe_lower_layer = bool(bits & EXE_LOWER_LAYER)
        cap_effective = own(event, "cap_effective")
        if cap_effective is not None:
            thread.cap_inheritable = as_int(own(event, "cap_inheritable"))
            thread.cap_permitted = as_int(own(event, "cap_permitted"))
            thread.cap_effective = as_int(cap_effective)
        mtime = own(event, "exe_ino_mtime")
        if mtime is not None:
            thread.exe_ino = as_int(own(event, "exe_ino"))
            thread.exe_ino_ctime = as_int(own(event, "exe_ino_ctime"))
            thread.exe_ino_mtime = as_int(mtime)
        uid = own(event, "uid")
        if uid is not None:
            thread.uid = as_int(uid) & U32
        pgid = -1
        if pgid_i is not None and pgid_i < event.nparams:
            pgid = as_int(event.param(pgid_i), -1)
        thread.pgid = pgid
        gid = own(event, "gid")
        if gid is not None:
            thread.gid = as_int(gid) & U32

    # ---- exit ----------------------------------------------------------------------------

    def on_procexit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        thread.exited = True
        reaper = as_int(pget(event, "reaper_tid"), 0) if event.nparams > 4 else 0
        self._retire(thread, reaper)

    def _retire(self, thread: ThreadInfo, reaper: int) -> None:
        """Drop an exited thread: children go to the reaper; a main thread stays (marked
        exited) while other threads of its group live, since they use its fd table."""
        table = self.threads
        new_parent = reaper if reaper > 0 else table.find_reaper(thread)
        for child in table.children(thread.tid):
            if child is not thread:
                table.set_ptid(child, new_parent)
        if thread.is_main_thread:
            if any(not t.exited for t in table.group(thread.pid) if t is not thread):
                return
            table.remove(thread.tid)
            return
        table.remove(thread.tid)
        main = table.threads.get(thread.pid)
        if main is not None and main.exited and len(table.group(thread.pid)) == 1:
            table.remove(main.tid)

    # ---- working directory, root ---------------------------------------------------------

    def on_chdir_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) >= 0:
            self._set_cwd(thread, as_str(pget(event, "path")))

    def on_getcwd_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) >= 0:
            self._set_cwd(thread, as_str(pget(event, "path")))

    def on_fchdir_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) >= 0 and event.fd is not None:
            self._set_cwd(thread, event.fd.name)

    def on_chroot_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) == 0:
            thread.root = concat_path(thread.cwd, as_str(pget(event, "path")))

    # ---- credentials, session, capabilities ---------------------------------------------

    def on_setuid_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) == 0:
            uid = pget(event, "uid")
            if uid is not None:
                thread.uid = as_int(uid) & U32

    def on_setgid_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) == 0:
            gid = pget(event, "gid")
            if gid is not None:
                thread.gid = as_int(gid) & U32

    def on_setresuid_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        # libsinsp's user.uid follows the effective uid.
        if thread is not None and ret(event) == 0:
            euid = pget(event, "euid")
            if euid is not None and as_int(euid) & U32 != U32:
                thread.uid = as_int(euid) & U32
                thread.euid = thread.uid

    def on_setresgid_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) == 0:
            egid = pget(event, "egid")
            if egid is not None and as_int(egid) & U32 != U32:
                thread.gid = as_int(egid) & U32
                thread.egid = thread.gid

    def on_setsid_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        sid = ret(event)
        if thread is not None and sid >= 0:
            thread.sid = sid

    def on_setpgid_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or ret(event) != 0:
            return
        pid = as_int(pget(event, "pid"))
        target = thread if pid in (0, thread.vpid, thread.pid) else self.threads.threads.get(pid)
        if target is None:
            return
        pgid = as_int(pget(event, "pgid"))
        pgid = pgid or (target.vpid if target.vpid > 0 else target.pid)
        target.vpgid = pgid
        if target.vtid in (-1, target.tid):
            target.pgid = pgid

    def on_capset_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is not None and ret(event) >= 0:
            thread.cap_inheritable = as_int(pget(event, "cap_inheritable"))
            thread.cap_permitted = as_int(pget(event, "cap_permitted"))
            thread.cap_effective = as_int(pget(event, "cap_effective"))

    def on_unshare_setns_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or ret(event) < 0:
            return
        flags = as_int(pget(event, "flags") if event.info.name == "unshare" else None)
        if event.info.name == "setns":
            flags = as_int(pget(event, "nstype"))
        if flags & CL_CLONE_NEWUSER:
            thread.cap_inheritable = thread.cap_permitted = thread.cap_effective = MAX_CAPS

    def on_prctl_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or thread.incomplete or ret(event) < 0:
            return
        option = as_int(pget(event, "option"))
        if option in (PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER):
            main = self.threads.main_thread(thread) or thread
            main.is_subreaper = as_int(pget(event, "arg2_int")) != 0

    # ---- limits, memory ------------------------------------------------------------------

    def on_rlimit_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or ret(event) < 0:
            return
        if as_int(pget(event, "resource"), -1) != RLIMIT_NOFILE:
            return
        cur = as_int(pget(event, "cur"), -1)
        main = self.threads.main_thread(thread)
        if cur != -1 and main is not None:
            main.fdlimit = cur

    def on_prlimit_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None or ret(event) != 0:
            return
        if as_int(pget(event, "resource"), -1) != RLIMIT_NOFILE:
            return
        newcur = as_int(pget(event, "newcur"), -1)
        if newcur == -1:
            return
        tid = as_int(pget(event, "pid")) or event.tid
        target = self.threads.threads.get(tid)
        main = self.threads.main_thread(target) if target is not None else None
        if main is not None and not main.incomplete:
            main.fdlimit = newcur

    def on_memory_exit(self, event: Any, thread: ThreadInfo | None) -> None:
        if thread is None:
            return
        vm_size = pget(event, "vm_size")
        if vm_size is not None:
            thread.vmsize_kb = as_int(vm_size)
        vm_swap = pget(event, "vm_swap")
        if vm_swap is not None:
            thread.vmrss_kb = as_int(pget(event, "vm_rss"))
            thread.vmswap_kb = as_int(vm_swap)

    # ---- container metadata (old captures) -----------------------------------------------

    def on_container_event(self, event: Any, thread: ThreadInfo | None) -> None:
        """Old captures carry container metadata as JSON events; the enrich layer owns
        their meaning, so they are only handed to the State's hook."""
        hook = self.state.container_hook
        if hook is not None and event.nparams:
            hook(as_str(event.param(0)))
