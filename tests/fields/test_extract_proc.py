"""proc.*/thread.*/user.*/group.* extractors: lineage walks, ancestors, ids and names."""

from __future__ import annotations

import pytest

from lanner.fields.proc_extract import caps_text
from lanner.state.threads import make_unknown_thread
from tests.fields.builders import FakeState, User, attach, extract, i64, make_event, thread

NO_ID = 0xFFFFFFFF


@pytest.fixture
def chain() -> tuple[FakeState, object]:
    """systemd(1) → sshd(100) → bash(200) → cat(300), cat's worker thread 301."""
    state = FakeState()
    thread(state, 1, "systemd", exepath="/lib/systemd/systemd")
    thread(state, 100, "sshd", ptid=1, args=("-D",), sid=100)
    thread(state, 200, "bash", ptid=100, args=("-i",), sid=200, tty=34816)
    cat = thread(state, 300, "cat", ptid=200, args=("/etc/passwd",), sid=200, tty=34816,
                 cwd="/root", env=["HOME=/root", "TERM=xterm"], clone_ts=1_000, uid=0, gid=0,
                 loginuid=1000)  # fmt: skip
    thread(state, 301, "cat", pid=300, ptid=200)
    state.users[0] = User("root")
    state.users[1000] = User("alice", "/home/alice", "/bin/bash")
    state.groups[0] = User("root")
    event = attach(make_event("close", ">", [i64(3)], tid=301, ts=5_000), state, cat)
    event.thread = state.threads.get(301)
    return state, event


def test_process_fields(chain: tuple[FakeState, object]) -> None:
    _, event = chain
    assert extract("proc.name", event) == "cat"
    assert extract("proc.pid", event) == 300
    assert extract("thread.tid", event) == 301
    assert extract("thread.ismain", event) is False
    assert extract("proc.args", event) == ""  # the worker thread has its own (empty) args
    assert extract("proc.ppid", event) == 200
    assert extract("proc.pname", event) == "bash"
    assert extract("proc.pcmdline", event) == "bash -i"
    assert extract("proc.pexepath", event) == "/usr/bin/bash"


def test_main_thread_fields(chain: tuple[FakeState, object]) -> None:
    state, event = chain
    event.thread = state.threads.get(300)  # type: ignore[attr-defined]
    assert extract("proc.cmdline", event) == "cat /etc/passwd"
    assert extract("proc.exeline", event) == "cat /etc/passwd"
    assert extract("proc.cwd", event) == "/root"
    assert extract("proc.tty", event) == 34816
    assert extract("proc.env", event) == "HOME=/root TERM=xterm"
    assert extract("proc.env", event, "HOME") == "/root"
    assert extract("proc.env", event, "NOPE") is None
    assert extract("proc.duration", event) == 4_000
    assert extract("proc.cmdnargs", event) == 1
    assert extract("thread.ismain", event) is True


def test_ancestors_by_index(chain: tuple[FakeState, object]) -> None:
    _, event = chain
    assert extract("proc.aname", event, "0") == "cat"
    assert extract("proc.aname", event, "1") == "bash"
    assert extract("proc.aname", event, "2") == "sshd"
    assert extract("proc.aname", event, "3") == "systemd"
    assert extract("proc.aname", event, "4") is None
    assert extract("proc.apid", event, "2") == 100
    assert extract("proc.acmdline", event, "2") == "sshd -D"


def test_ancestors_without_index_list_every_ancestor_parent_first(
    chain: tuple[FakeState, object],
) -> None:
    _, event = chain
    assert extract("proc.aname", event) == ("bash", "sshd", "systemd")
    assert extract("proc.apid", event) == (200, 100, 1)
    assert extract("proc.aexepath", event) == ("/usr/bin/bash", "/usr/bin/sshd",
                                                 "/lib/systemd/systemd")  # fmt: skip


def test_session_leader_name(chain: tuple[FakeState, object]) -> None:
    _, event = chain
    assert extract("proc.sname", event) == "bash"
    assert extract("proc.sid", event) == -1  # the worker thread itself carries no sid
    assert extract("proc.loginshellid", event) == 200


def test_unknown_parent_makes_parent_fields_unavailable() -> None:
    state = FakeState()
    orphan = make_unknown_thread(31699)
    state.threads.add(orphan)
    event = attach(make_event("close", ">", [i64(3)], tid=31699), state, orphan)
    assert extract("proc.name", event) == "<NA>"
    assert extract("proc.ppid", event) == -1
    assert extract("proc.pname", event) is None
    assert extract("proc.aname", event, "2") is None
    assert extract("proc.aname", event) == ()
    assert extract("proc.vpid", event) is None
    assert extract("proc.sname", event) == "<NA>"


def test_no_thread_means_unavailable() -> None:
    event = attach(make_event("close", ">", [i64(3)], tid=5), FakeState(), None)
    for name in ("proc.name", "proc.pid", "proc.pname", "user.uid", "user.name", "proc.aname"):
        assert extract(name, event) is None, name
    assert extract("thread.tid", event) == 5


def test_users_and_groups(chain: tuple[FakeState, object]) -> None:
    state, event = chain
    event.thread = state.threads.get(300)  # type: ignore[attr-defined]
    assert extract("user.uid", event) == 0
    assert extract("user.name", event) == "root"
    assert extract("user.loginuid", event) == 1000
    assert extract("user.loginname", event) == "alice"
    assert extract("group.gid", event) == 0
    assert extract("group.name", event) == "root"


def test_unknown_user_like_sysdig() -> None:
    state = FakeState()
    info = thread(state, 8, "cat")  # ids default to the u32 -1 of libsinsp
    event = attach(make_event("close", ">", [i64(3)], tid=8), state, info)
    assert extract("user.uid", event) == NO_ID
    assert extract("user.loginuid", event) == -1
    assert extract("user.name", event) is None
    assert extract("group.gid", event) == NO_ID


def test_capabilities_render_as_names() -> None:
    assert caps_text(0) == ""
    assert caps_text(1 << 21 | 1) == "CAP_CHOWN CAP_SYS_ADMIN"
    state = FakeState()
    info = thread(state, 8, "cat", cap_effective=1 << 21, cap_permitted=(1 << 41) - 1)
    event = attach(make_event("close", ">", [i64(3)], tid=8), state, info)
    assert extract("thread.cap_effective", event) == "CAP_SYS_ADMIN"
    assert "CAP_BPF" in extract("thread.cap_permitted", event)


def test_cgroups() -> None:
    state = FakeState()
    info = thread(state, 8, "cat", cgroups=[("cpu", "/a"), ("memory", "/b")])
    event = attach(make_event("close", ">", [i64(3)], tid=8), state, info)
    assert extract("thread.cgroups", event) == "cpu=/a memory=/b"
    assert extract("thread.cgroup.memory", event) == "/b"
    assert extract("thread.cgroup.blkio", event) is None
