"""Process-side parsing: clone (both sides), execve, exit and reparenting, cwd, creds."""

from __future__ import annotations

from lanner.events.event import Event
from lanner.state.state import State
from lanner.state.threads import ThreadInfo
from tests.state.evbuild import event

CLONE_THREAD = 1 << 13


def _state() -> State:
    state = State()
    bash = state.threads.add(_seeded(100, 100, 1, "bash"))
    bash.cwd = "/home/u/"
    bash.env = ["HOME=/home/u"]
    state.process(event("open", ">", 100, 1, name="/tmp/x", flags=2, mode=0))
    state.process(event("open", "<", 100, 2, fd=3, name="/tmp/x", flags=2, mode=0))
    return state


def _seeded(tid: int, pid: int, ptid: int, comm: str) -> ThreadInfo:
    info = ThreadInfo(tid, pid, ptid)
    info.comm = info.exe = comm
    return info


def _clone(tid: int, res: int, ts: int, *, pid: int, ptid: int, flags: int = 0) -> Event:
    return event(
        "clone",
        "<",
        tid,
        ts,
        res=res,
        exe="bash",
        args=["-c", "ls"],
        tid=tid,
        pid=pid,
        ptid=ptid,
        cwd="",
        fdlimit=1024,
        comm="bash",
        flags=flags,
        uid=1000,
        gid=1000,
        vtid=tid,
        vpid=pid,
    )


def test_fork_caller_side_copies_fds_cwd_env() -> None:
    state = _state()
    ev = _clone(100, 200, 10, pid=100, ptid=1)
    state.process(ev)
    child = state.thread(200)
    assert child is not None and ev.thread is state.thread(100)
    assert (child.pid, child.ptid, child.cwd, child.env) == (200, 100, "/home/u/", ["HOME=/home/u"])
    assert child.uid == 1000 and child.args == ["-c", "ls"]
    # The child's fd table is a copy: closing in the child leaves the parent's fd alone.
    assert child.fdtable is not state.thread(100).fdtable  # type: ignore[union-attr]
    assert child.fdtable.get(3).name == "/tmp/x"  # type: ignore[union-attr]
    state.process(event("close", ">", 200, 11, fd=3))
    state.process(event("close", "<", 200, 12, res=0))
    assert 3 not in child.fdtable and 3 in state.thread(100).fdtable  # type: ignore[union-attr]


def test_child_side_after_caller_is_not_duplicated() -> None:
    state = _state()
    state.process(_clone(100, 200, 10, pid=100, ptid=1))
    first = state.thread(200)
    ev = _clone(200, 0, 20, pid=200, ptid=100)
    state.process(ev)
    assert state.thread(200) is first and ev.thread is first


def test_child_side_first_builds_thread_from_parent() -> None:
    state = _state()
    ev = _clone(200, 0, 10, pid=200, ptid=100)
    state.process(ev)
    child = state.thread(200)
    assert child is not None and ev.thread is child
    assert child.ptid == 100 and child.cwd == "/home/u/" and 3 in child.fdtable
    # the late caller-side event must not replace the child
    state.process(_clone(100, 200, 11, pid=100, ptid=1))
    assert state.thread(200) is child


def test_thread_clone_shares_fd_table_and_parent() -> None:
    state = _state()
    state.process(_clone(100, 101, 10, pid=100, ptid=1, flags=CLONE_THREAD))
    thread = state.thread(101)
    assert thread is not None and thread.pid == 100 and thread.ptid == 1
    assert thread.fdtable is state.thread(100).fdtable  # type: ignore[union-attr]
    state.process(event("open", ">", 101, 11, name="/b", flags=1, mode=0))
    state.process(event("open", "<", 101, 12, fd=4, name="/b", flags=1, mode=0))
    assert state.thread(100).fdtable.get(4).name == "/b"  # type: ignore[union-attr]


def test_execve_updates_identity_and_unknown_thread_learns_parent() -> None:
    state = _state()
    ev = event(
        "execve",
        "<",
        300,
        10,
        res=0,
        exe="/usr/bin/cat",
        args=["/etc/hosts"],
        tid=300,
        pid=300,
        ptid=100,
        cwd="/",
        fdlimit=1024,
        comm="cat",
        env=["A=1"],
        trusted_exepath="/usr/bin/cat",
        loginuid=1000,
        uid=0,
        gid=0,
        pgid=300,
    )
    state.process(ev)
    cat = state.thread(300)
    assert cat is not None and ev.thread is cat
    assert (cat.comm, cat.exe, cat.args, cat.exepath) == (
        "cat",
        "/usr/bin/cat",
        ["/etc/hosts"],
        "/usr/bin/cat",
    )
    assert cat.ptid == 100 and not cat.incomplete and cat.env == ["A=1"]
    assert cat.loginuid == 1000 and cat.pgid == 300
    parent = state.threads.parent(cat)
    assert parent is not None and parent.comm == "bash"


def test_failed_execve_changes_nothing() -> None:
    state = _state()
    state.process(event("execve", "<", 100, 10, res=-2, exe="nope", comm="nope"))
    assert state.thread(100).comm == "bash"  # type: ignore[union-attr]


def test_execve_exepath_from_enter_filename_against_cwd() -> None:
    state = _state()
    state.process(event("execve", ">", 100, 9, filename="bin/tool"))
    state.process(event("execve", "<", 100, 10, res=0, exe="tool", comm="tool", pid=100, ptid=1))
    assert state.thread(100).exepath == "/home/u/bin/tool"  # type: ignore[union-attr]


def test_unknown_tid_gets_placeholder_thread() -> None:
    state = State()
    ev = event("brk", ">", 555, 1, addr=0)
    state.process(ev)
    assert ev.thread is not None and ev.thread.comm == "<NA>" and ev.thread.incomplete
    assert state.parser.unknown_threads == 1


def test_procexit_removes_and_reparents_children() -> None:
    state = _state()
    state.process(_clone(100, 200, 10, pid=100, ptid=1))
    state.process(_clone(200, 300, 11, pid=200, ptid=100))
    ev = event("procexit", ">", 200, 12, status=0)
    state.process(ev)
    assert state.thread(200) is None and ev.thread is not None and ev.thread.exited
    assert state.thread(300).ptid == 1  # type: ignore[union-attr]


def test_main_thread_exit_kept_while_threads_live() -> None:
    state = _state()
    state.process(_clone(100, 101, 10, pid=100, ptid=1, flags=CLONE_THREAD))
    state.process(event("procexit", ">", 100, 11, status=0))
    assert state.thread(100) is not None and state.thread(100).exited  # type: ignore[union-attr]
    state.process(event("procexit", ">", 101, 12, status=0))
    assert state.thread(100) is None and state.thread(101) is None


def test_chdir_relative_and_fchdir() -> None:
    state = _state()
    state.process(_clone(100, 101, 10, pid=100, ptid=1, flags=CLONE_THREAD))
    state.process(event("chdir", "<", 100, 11, res=0, path="src/../lib"))
    assert state.thread(100).cwd == "/home/u/lib/"  # type: ignore[union-attr]
    assert state.thread(101).cwd == "/home/u/lib/"  # type: ignore[union-attr]
    state.process(event("fchdir", ">", 100, 12, fd=3))
    state.process(event("fchdir", "<", 100, 13, res=0))
    assert state.thread(100).cwd == "/tmp/x/"  # type: ignore[union-attr]
    state.process(event("chdir", "<", 100, 14, res=-2, path="/nowhere"))
    assert state.thread(100).cwd == "/tmp/x/"  # type: ignore[union-attr]


def test_credentials_session_caps() -> None:
    state = _state()
    state.process(event("setuid", ">", 100, 10, uid=0))
    state.process(event("setuid", "<", 100, 11, res=0))
    assert state.thread(100).uid == 0  # type: ignore[union-attr]
    state.process(event("setresgid", ">", 100, 12, rgid=5, egid=6, sgid=7))
    state.process(event("setresgid", "<", 100, 13, res=0))
    assert state.thread(100).gid == 6  # type: ignore[union-attr]
    state.process(event("setsid", "<", 100, 14, res=100))
    assert state.thread(100).sid == 100  # type: ignore[union-attr]
    state.process(
        event("capset", "<", 100, 15, res=0, cap_inheritable=1, cap_permitted=3, cap_effective=2)
    )
    bash = state.thread(100)
    assert bash is not None and (bash.cap_permitted, bash.cap_effective) == (3, 2)
    state.process(event("prctl", "<", 100, 16, res=0, option=36, arg2_int=1))
    assert bash.is_subreaper
