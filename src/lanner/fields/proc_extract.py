"""Extractors of the ``proc`` and ``thread`` classes: the event's thread (``event.thread``),
its process's main thread and its lineage through the thread table (``event.state.threads``).

Lineage follows libsinsp: ``proc.*`` fields read the thread-group leader; the parent is the
leader's ``ptid`` thread; a missing parent ends the walk (the field is then unavailable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lanner.fields._spec import fixed, none_extractor
from lanner.fields.registry import Extractor, ExtractorFactory

MAX_LINEAGE = 256
NO_ID = 0xFFFFFFFF
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "ash"})

CAP_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip


def caps_text(mask: int) -> str:
    """Capability bit mask as space-separated CAP_ names, lowest bit first."""
    return " ".join(name for bit, name in enumerate(CAP_NAMES) if mask >> bit & 1)


# ---- lineage ------------------------------------------------------------------------------


def _table(e: Any) -> Any:
    state = e.state
    return None if state is None else getattr(state, "threads", None)


def main_thread(e: Any) -> Any:
    """The thread-group leader of the event's thread (the thread itself when unknown)."""
    thread = e.thread
    if thread is None or thread.tid == thread.pid:
        return thread
    table = _table(e)
    if table is None:
        return thread
    leader = table.threads.get(thread.pid)
    return thread if leader is None else leader


def parent_of(e: Any, info: Any) -> Any:
    """The thread ``info.ptid`` names, or None. As in libsinsp, that very thread (not its
    process's main thread): the walk up the lineage goes thread to creating thread."""
    table = _table(e)
    if table is None or info.ptid < 0 or info.ptid == info.tid:
        return None
    return table.threads.get(info.ptid)


def lineage(e: Any) -> list[Any]:
    """[process, parent, grandparent, ...] as far as the thread table knows."""
    current = main_thread(e)
    if current is None:
        return []
    chain = [current]
    seen = {current.tid}
    for _ in range(MAX_LINEAGE):
        current = parent_of(e, current)
        if current is None or current.tid in seen:
            break
        seen.add(current.tid)
        chain.append(current)
    return chain


# ---- value readers of one ThreadInfo ------------------------------------------------------


def _args_text(t: Any) -> str:
    return " ".join(t.args)


def cmdline(t: Any) -> str:
    """``name arg1 arg2``: what proc.cmdline shows."""
    return f"{t.comm} {_args_text(t)}" if t.args else str(t.comm)


def _exeline(t: Any) -> str:
    # libsinsp writes the exe, a space, then the arguments: a trailing space without arguments.
    return f"{t.exe} {_args_text(t)}"


ThreadReader = Callable[[Any], Any]

_NAME: ThreadReader = lambda t: t.comm  # noqa: E731
_EXE: ThreadReader = lambda t: t.exe  # noqa: E731
_EXEPATH: ThreadReader = lambda t: t.exepath  # noqa: E731
_PID: ThreadReader = lambda t: t.pid  # noqa: E731


def _of_process(read: ThreadReader) -> Extractor:
    def extract(e: Any) -> Any:
        t = main_thread(e)
        return None if t is None else read(t)

    return extract


def _of_thread(read: ThreadReader) -> Extractor:
    def extract(e: Any) -> Any:
        t = e.thread
        return None if t is None else read(t)

    return extract


def _of_parent(read: ThreadReader) -> Extractor:
    """proc.pname & co: the parent named by the event thread's own ptid (libsinsp reads the
    thread's, not its main thread's; proc.ppid reads the main thread's)."""

    def extract(e: Any) -> Any:
        t = e.thread
        if t is None:
            return None
        parent = parent_of(e, t)
        return None if parent is None else read(parent)

    return extract


def _ancestor_factory(read: ThreadReader) -> ExtractorFactory:
    def factory(arg: str | None) -> Extractor:
        if arg is None:

            def every_ancestor(e: Any) -> tuple[Any, ...] | None:
                chain = lineage(e)
                if not chain:
                    return None
                return tuple(read(t) for t in chain[1:])

            return every_ancestor
        depth = int(arg)

        def nth_ancestor(e: Any) -> Any:
            t = main_thread(e)
            for _ in range(depth):
                if t is None:
                    return None
                t = parent_of(e, t)
            return None if t is None else read(t)

        return nth_ancestor

    return factory


def _env_lookup(env: list[str], key: str) -> str | None:
    prefix = key + "="
    for item in env:
        if item.startswith(prefix):
            return item[len(prefix) :]
    return None


def _env_factory(arg: str | None) -> Extractor:
    if arg is None:
        return _of_process(lambda t: " ".join(t.env))
    key = arg

    def env_var(e: Any) -> str | None:
        t = main_thread(e)
        return None if t is None else _env_lookup(t.env, key)

    return env_var


def _aenv_factory(arg: str | None) -> Extractor:
    if arg is None:

        def every_env(e: Any) -> tuple[str, ...] | None:
            chain = lineage(e)
            return tuple(" ".join(t.env) for t in chain[1:]) if chain else None

        return every_env
    key = arg

    def nearest_env(e: Any) -> str | None:
        for t in lineage(e):
            value = _env_lookup(t.env, key)
            if value is not None:
                return value
        return None

    return nearest_env


def _leader(e: Any, id_attr: str, own_attr: str) -> Any:
    """Eldest ancestor sharing the process's session (or group) id, stopping at its leader."""
    chain = lineage(e)
    if not chain:
        return None
    wanted = getattr(chain[0], id_attr)
    leader = chain[0]
    for t in chain:
        if getattr(t, id_attr) != wanted:
            break
        leader = t
        if getattr(t, own_attr) == wanted:
            break
    return leader


def _of_leader(id_attr: str, own_attr: str, read: ThreadReader) -> Extractor:
    def extract(e: Any) -> Any:
        t = _leader(e, id_attr, own_attr)
        return None if t is None else read(t)

    return extract


def _loginshellid(e: Any) -> int | None:
    found = None
    for t in lineage(e):
        if t.comm in SHELLS:
            found = t.pid
    return found


def _since(read: ThreadReader) -> Extractor:
    def extract(e: Any) -> int | None:
        t = main_thread(e)
        start = None if t is None else read(t)
        return None if not start else int(e.ts - start)

    return extract


def _positive_or_none(read: ThreadReader) -> ThreadReader:
    def wrapped(t: Any) -> Any:
        value = read(t)
        return value if isinstance(value, int) and value > 0 else None

    return wrapped


def _ctime_to_start(t: Any) -> int | None:
    if not t.exe_ino_ctime or not t.clone_ts:
        return None
    return int(t.clone_ts - t.exe_ino_ctime)


def _ctime_to_pidns(t: Any) -> int | None:
    if not t.exe_ino_ctime or not t.pidns_init_start_ts:
        return None
    return int(t.exe_ino_ctime - t.pidns_init_start_ts)


def _fdopencount(e: Any) -> int | None:
    """Open fds of the process. On a close exit libsinsp still counts the fd it closed (it is
    removed once the event is done with), so this does too."""
    t = main_thread(e)
    if t is None:
        return None
    count = len(t.fdtable)
    if e.fd is not None and e.direction == "<" and e.type_name == "close":
        count += 1
    return count


def _nthreads(e: Any) -> int | None:
    t = e.thread
    table = _table(e)
    if t is None:
        return None
    return len(table.group(t.pid)) if table is not None else 1


def _nchilds(e: Any) -> int | None:
    count = _nthreads(e)
    return None if count is None else count - 1


def _parent_since(e: Any) -> int | None:
    start = _of_parent(lambda t: t.clone_ts)(e)
    return int(e.ts - start) if start else None


def _std_fd(fdnum: int, what: str) -> Extractor:
    def extract(e: Any) -> str | None:
        t = main_thread(e)
        info = None if t is None else t.fdtable.get(fdnum)
        if info is None:
            return None
        return str(info.typestring) if what == "type" else str(info.name)

    return extract


def _fdusage(e: Any) -> float | None:
    """proc.fdopencount as a share of the limit; 0 while the limit is unknown (-1), as in
    libsinsp."""
    t = main_thread(e)
    count = _fdopencount(e)
    if t is None or count is None:
        return None
    if t.fdlimit is None or t.fdlimit <= 0:
        return 0.0
    return float(count * 100.0 / t.fdlimit)


def _cgroup_factory(arg: str | None) -> Extractor:
    if arg is None:
        return none_extractor
    subsystem = arg

    def cgroup(e: Any) -> str | None:
        t = e.thread
        if t is None:
            return None
        for name, path in t.cgroups:
            if name == subsystem:
                return str(path)
        return None

    return cgroup


def _signed64(value: int) -> int:
    """Event headers carry the tid unsigned; -1 (events of no thread) reads as 2**64 - 1."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def _vpid(t: Any) -> int | None:
    return t.vpid if t.vpid >= 0 else None


FACTORIES: dict[str, ExtractorFactory] = {
    "proc.pid": fixed(_of_thread(_PID)),
    "proc.vpid": fixed(_of_thread(_vpid)),
    "proc.ppid": fixed(_of_process(lambda t: t.ptid)),
    "proc.pvpid": fixed(_of_parent(_vpid)),
    "proc.sid": fixed(_of_thread(lambda t: t.sid)),
    "proc.sname": fixed(_of_leader("sid", "pid", _NAME)),
    "proc.sid.exe": fixed(_of_leader("sid", "pid", _EXE)),
    "proc.sid.exepath": fixed(_of_leader("sid", "pid", _EXEPATH)),
    "proc.vpgid": fixed(_of_thread(lambda t: t.vpgid)),
    "proc.vpgid.name": fixed(_of_leader("vpgid", "vpid", _NAME)),
    "proc.vpgid.exe": fixed(_of_leader("vpgid", "vpid", _EXE)),
    "proc.vpgid.exepath": fixed(_of_leader("vpgid", "vpid", _EXEPATH)),
    "proc.pgid": fixed(_of_thread(lambda t: t.pgid)),
    "proc.is_sid_leader": fixed(_of_thread(lambda t: t.sid == t.pid)),
    "proc.is_vpgid_leader": fixed(_of_thread(lambda t: t.vpgid == t.vpid and t.vpid >= 0)),
    "proc.pid.ts": fixed(_of_process(_positive_or_none(lambda t: t.clone_ts))),
    "proc.ppid.ts": fixed(_of_parent(_positive_or_none(lambda t: t.clone_ts))),
    "proc.ppid.duration": fixed(_parent_since),
    "proc.duration": fixed(_since(lambda t: t.clone_ts)),
    "proc.pidns_init_start_ts": fixed(
        _of_process(_positive_or_none(lambda t: t.pidns_init_start_ts))
    ),
    "proc.name": fixed(_of_thread(_NAME)),
    "proc.exe": fixed(_of_thread(_EXE)),
    "proc.exepath": fixed(_of_thread(_EXEPATH)),
    "proc.args": fixed(_of_thread(_args_text)),
    "proc.cmdline": fixed(_of_thread(cmdline)),
    "proc.exeline": fixed(_of_thread(_exeline)),
    "proc.cmdnargs": fixed(_of_thread(lambda t: len(t.args))),
    "proc.cmdlenargs": fixed(_of_thread(lambda t: len(_args_text(t)))),
    "proc.env": _env_factory,
    "proc.aenv": _aenv_factory,
    "proc.cwd": fixed(_of_thread(lambda t: t.cwd)),
    "proc.tty": fixed(_of_thread(lambda t: t.tty)),
    "proc.loginshellid": fixed(_loginshellid),
    "proc.pname": fixed(_of_parent(_NAME)),
    "proc.pexe": fixed(_of_parent(_EXE)),
    "proc.pexepath": fixed(_of_parent(_EXEPATH)),
    "proc.pcmdline": fixed(_of_parent(cmdline)),
    "proc.apid": _ancestor_factory(_PID),
    "proc.aname": _ancestor_factory(_NAME),
    "proc.aexe": _ancestor_factory(_EXE),
    "proc.aexepath": _ancestor_factory(_EXEPATH),
    "proc.acmdline": _ancestor_factory(cmdline),
    "proc.is_exe_writable": fixed(_of_thread(lambda t: bool(t.exe_writable))),
    "proc.is_exe_upper_layer": fixed(_of_thread(lambda t: bool(t.exe_upper_layer))),
    "proc.is_exe_lower_layer": fixed(_of_thread(lambda t: bool(t.exe_lower_layer))),
    "proc.is_exe_from_memfd": fixed(_of_thread(lambda t: bool(t.exe_from_memfd))),
    "proc.exe_ino": fixed(_of_thread(_positive_or_none(lambda t: t.exe_ino))),
    "proc.exe_ino.ctime": fixed(_of_thread(_positive_or_none(lambda t: t.exe_ino_ctime))),
    "proc.exe_ino.mtime": fixed(_of_thread(_positive_or_none(lambda t: t.exe_ino_mtime))),
    "proc.exe_ino.ctime_duration_proc_start": fixed(_of_thread(_ctime_to_start)),
    "proc.exe_ino.ctime_duration_pidns_start": fixed(_of_thread(_ctime_to_pidns)),
    "proc.nthreads": fixed(_nthreads),
    "proc.nchilds": fixed(_nchilds),
    "proc.fdopencount": fixed(_fdopencount),
    "proc.fdlimit": fixed(_of_process(lambda t: t.fdlimit)),
    "proc.fdusage": fixed(_fdusage),
    "proc.vmsize": fixed(_of_process(lambda t: t.vmsize_kb)),
    "proc.vmrss": fixed(_of_process(lambda t: t.vmrss_kb)),
    "proc.vmswap": fixed(_of_process(lambda t: t.vmswap_kb)),
    "proc.stdin.type": fixed(_std_fd(0, "type")),
    "proc.stdin.name": fixed(_std_fd(0, "name")),
    "proc.stdout.type": fixed(_std_fd(1, "type")),
    "proc.stdout.name": fixed(_std_fd(1, "name")),
    "proc.stderr.type": fixed(_std_fd(2, "type")),
    "proc.stderr.name": fixed(_std_fd(2, "name")),
    "proc.is_container_healthcheck": fixed(_of_thread(lambda t: False)),
    "proc.is_container_liveness_probe": fixed(_of_thread(lambda t: False)),
    "proc.is_container_readiness_probe": fixed(_of_thread(lambda t: False)),
    "thread.tid": fixed(lambda e: _signed64(e.tid)),
    "thread.vtid": fixed(_of_thread(lambda t: t.vtid if t.vtid >= 0 else None)),
    "thread.ismain": fixed(_of_thread(lambda t: t.tid == t.pid)),
    "thread.nametid": fixed(_of_thread(lambda t: f"{t.comm}{t.tid}")),
    "thread.pfmajor": fixed(_of_thread(lambda t: t.pfmajor)),
    "thread.pfminor": fixed(_of_thread(lambda t: t.pfminor)),
    "thread.cgroups": fixed(_of_thread(lambda t: " ".join(f"{s}={p}" for s, p in t.cgroups))),
    "thread.cgroup": _cgroup_factory,
    "thread.vmsize": fixed(_of_thread(lambda t: t.vmsize_kb if t.tid == t.pid else 0)),
    "thread.vmrss": fixed(_of_thread(lambda t: t.vmrss_kb if t.tid == t.pid else 0)),
    "thread.cap_permitted": fixed(_of_thread(lambda t: caps_text(t.cap_permitted))),
    "thread.cap_effective": fixed(_of_thread(lambda t: caps_text(t.cap_effective))),
    "thread.cap_inheritable": fixed(_of_thread(lambda t: caps_text(t.cap_inheritable))),
    # user and group ids live on the thread too; names come from user.py's table lookups
    "user.uid": fixed(_of_thread(lambda t: t.uid)),
    "user.loginuid": fixed(_of_thread(lambda t: _signed32(t.loginuid))),
    "group.gid": fixed(_of_thread(lambda t: t.gid)),
}
