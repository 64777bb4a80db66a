"""The live probe against real processes: the right events arrive with the right decoded params."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.ebpf.source import tracefs_syscalls
from lanner.events.event import Event
from lanner.events.table import event_info
from tests.capture.bpf_support import collect, drain, params, require_bpf

pytestmark = pytest.mark.bpf

PPM_O_RDONLY = 1 << 0
PPM_O_WRONLY = 1 << 1
PPM_O_CREAT = 1 << 2
PPM_O_TRUNC = 1 << 8


_NAMES = [
    "execve",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "procexit",
    "open",
    "openat",
    "connect",
    "accept",
    "accept4",
    "mkdir",
    "mkdirat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "close",
]


@pytest.fixture(scope="module")
def shared_probe() -> Iterator[ProbeSource]:
    """One loaded probe for the module (loading verifies ~2 s of BPF); tests set its selection."""
    require_bpf()
    with ProbeSource(_NAMES) as src:
        yield src


@pytest.fixture
def src(shared_probe: ProbeSource) -> ProbeSource:
    shared_probe.update_selection(_NAMES)
    drain(shared_probe, settle=0.02)  # leftovers of earlier tests
    return shared_probe


def well_formed(events: list[Event]) -> None:
    """Every record has exactly the params its layout says, and lengths add up to the record."""
    for ev in events:
        info = event_info(ev.code)
        assert info is not None and ev.info is info
        assert ev.nparams == info.nparams, (info.name, ev.nparams)
        total = sum(len(ev.param_raw(i)) for i in range(ev.nparams))
        assert ev._end == 26 + 2 * ev.nparams + total


def of_type(events: list[Event], *names: str) -> list[Event]:
    return [e for e in events if e.type_name in names]


def test_cat_shadow_exec_and_open(src: ProbeSource) -> None:
    t0 = time.time_ns()
    proc = subprocess.run(["sh", "-c", "cat /etc/shadow > /dev/null"], check=True)
    assert proc.returncode == 0
    events = collect(src, lambda evs: any(e.param_by_name("name") == "/etc/shadow" for e in evs))
    events += drain(src)
    t1 = time.time_ns()
    well_formed(events)
    execs = [e for e in of_type(events, "execve") if b"/etc/shadow" in params(e)["args"]]
    assert execs, "no execve of cat seen"
    cat = params(execs[-1])
    assert cat["res"] == 0
    assert cat["comm"] == "cat"
    assert cat["exe"] == "cat"
    assert cat["args"] == b"/etc/shadow\0"
    assert cat["trusted_exepath"] == os.path.realpath(shutil.which("cat") or "/bin/cat")
    assert cat["uid"] == os.geteuid()
    assert cat["tid"] == cat["pid"] == execs[-1].tid
    assert cat["cgroups"] and b"=/" in cat["cgroups"]  # subsys=/path entries
    assert t0 <= execs[-1].ts <= t1
    opens = [
        e for e in of_type(events, "openat", "open") if e.param_by_name("name") == "/etc/shadow"
    ]
    assert opens and opens[0].tid == cat["tid"]
    op = params(opens[0])
    assert op["fd"] >= 0
    assert op["flags"] & PPM_O_RDONLY and not op["flags"] & PPM_O_WRONLY
    assert op["ino"] == os.stat("/etc/shadow").st_ino
    exits = [e for e in of_type(events, "procexit") if e.tid == cat["tid"]]
    assert exits and params(exits[0])["status"] == 0


def test_exec_of_renamed_true_copy(src: ProbeSource, tmp_path: Path) -> None:
    copy = tmp_path / "lanner-true-xyz"
    shutil.copy2(shutil.which("true") or "/bin/true", copy)
    # the environment given explicitly: the test's own may be anything (a CI runner's is large)
    env = {"LANNER_MARK": "yes", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([str(copy), "--lanner-marker", "two words"], env=env)
    proc.wait()
    events = collect(src, lambda evs: any(e.param_by_name("filename") == str(copy) for e in evs))
    well_formed(events)
    execs = [e for e in of_type(events, "execve") if e.param_by_name("filename") == str(copy)]
    assert len(execs) == 1
    p = params(execs[0])
    assert p["res"] == 0
    assert p["pid"] == proc.pid
    assert p["ptid"] == os.getpid()
    assert p["exe"] == str(copy)
    assert p["args"] == b"--lanner-marker\0two words\0"
    assert p["trusted_exepath"] == str(copy.resolve())
    assert p["comm"] == copy.name[:15]
    assert p["exe_ino"] == copy.stat().st_ino
    assert p["exe_ino_mtime"] // 10**9 == int(copy.stat().st_mtime)
    assert p["fdlimit"] > 0 and p["vm_size"] > 0
    assert p["env"] == b"LANNER_MARK=yes\0PATH=/usr/bin:/bin\0"


def test_a_large_environment_is_cut_at_4096_bytes(src: ProbeSource, tmp_path: Path) -> None:
    """As scap cuts it (SCAP_MAX_ENV_SIZE): the first 4096 bytes, the rest dropped."""
    copy = tmp_path / "lanner-true-env"
    shutil.copy2(shutil.which("true") or "/bin/true", copy)
    env = {"A_FIRST": "1", "B_BIG": "x" * 6000, "C_LAST": "1"}
    subprocess.run([str(copy)], env=env, check=True)
    events = collect(src, lambda evs: any(e.param_by_name("filename") == str(copy) for e in evs))
    (execve,) = [e for e in of_type(events, "execve") if e.param_by_name("filename") == str(copy)]
    seen = params(execve)["env"]
    assert seen.startswith(b"A_FIRST=1\0B_BIG=xxx") and b"C_LAST" not in seen
    assert 4000 <= len(seen) <= 4096


def test_failed_exec_is_captured_at_syscall_exit(src: ProbeSource, tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    script = f"import os\ntry:\n os.execv({str(missing)!r}, ['x'])\nexcept OSError:\n pass\n"
    subprocess.run([sys.executable, "-c", script], check=True)
    events = collect(src, lambda evs: any(e.param_by_name("filename") == str(missing) for e in evs))
    fails = [e for e in of_type(events, "execve") if e.param_by_name("filename") == str(missing)]
    assert fails and fails[0].param_by_name("res") == -2  # ENOENT
    assert fails[0].param_by_name("exe") == str(missing)


def test_connect_and_accept_tuples(src: ProbeSource) -> None:
    script = (
        "import socket\n"
        "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\n"
        "cli = socket.create_connection(srv.getsockname())\n"
        "conn, peer = srv.accept()\n"
        "print(srv.getsockname()[1], cli.getsockname()[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    server_port, client_port = map(int, out.stdout.split())
    events = collect(
        src,
        lambda evs: bool(of_type(evs, "connect")) and bool(of_type(evs, "accept", "accept4")),
    )
    well_formed(events)
    connects = [
        e
        for e in of_type(events, "connect")
        if getattr(e.param_by_name("tuple"), "dport", 0) == server_port
    ]
    assert connects
    c = params(connects[0])
    assert c["res"] == 0 and c["fd"] >= 0
    tup = c["tuple"]
    assert (tup.sip, tup.sport, tup.dip, tup.dport) == (
        "127.0.0.1",
        client_port,
        "127.0.0.1",
        server_port,
    )
    assert (c["addr"].addr, c["addr"].port) == ("127.0.0.1", server_port)
    accepts = [
        e
        for e in of_type(events, "accept", "accept4")
        if getattr(e.param_by_name("tuple"), "dport", 0) == server_port
    ]
    assert accepts
    a = params(accepts[0])
    assert a["fd"] >= 0
    # accept tuples are oriented client -> server too
    assert (a["tuple"].sip, a["tuple"].sport) == ("127.0.0.1", client_port)


def test_file_changes_below_a_temp_dir(src: ProbeSource, tmp_path: Path) -> None:
    script = "mkdir d && echo hi > d/f && mv d/f d/g && rm d/g && rmdir d"
    subprocess.run(["sh", "-c", script], cwd=tmp_path, check=True)
    events = collect(src, lambda evs: bool(of_type(evs, "rmdir", "unlinkat") and len(evs) > 5))
    events += drain(src)
    well_formed(events)
    mkdirs = [e for e in of_type(events, "mkdir", "mkdirat") if e.param_by_name("path") == "d"]
    assert mkdirs and mkdirs[0].param_by_name("res") == 0
    created = [e for e in of_type(events, "openat", "open") if e.param_by_name("name") == "d/f"]
    assert created
    flags = created[0].param_by_name("flags")
    assert flags & PPM_O_CREAT and flags & PPM_O_WRONLY and flags & PPM_O_TRUNC
    assert created[0].param_by_name("dirfd") == -100  # AT_FDCWD
    renames = [
        e
        for e in of_type(events, "rename", "renameat", "renameat2")
        if e.param_by_name("newpath") == "d/g"
    ]
    assert renames and renames[0].param_by_name("oldpath") == "d/f"
    removed = [
        e
        for e in of_type(events, "unlink", "unlinkat")
        if e.param_by_name("name") == "d/g" or e.param_by_name("path") == "d/g"
    ]
    assert removed and removed[0].param_by_name("res") == 0
    rmdirs = [
        e
        for e in of_type(events, "rmdir", "unlinkat")
        if (e.param_by_name("path") or e.param_by_name("name")) == "d"
    ]
    assert rmdirs


def test_own_process_is_never_traced(src: ProbeSource, tmp_path: Path) -> None:
    mine = tmp_path / "opened-by-lanner"
    theirs = tmp_path / "opened-by-child"
    mine.write_text("x")
    mine.read_text()
    subprocess.run(["sh", "-c", f"echo y > {theirs}"], check=True)
    events = collect(src, lambda evs: any(e.param_by_name("name") == str(theirs) for e in evs))
    events += drain(src)
    names = {e.param_by_name("name") for e in of_type(events, "open", "openat")}
    assert str(theirs) in names
    assert str(mine) not in names
    assert all(e.tid != os.getpid() for e in events)


def test_sock_io_data_only_on_sockets(src: ProbeSource, tmp_path: Path) -> None:
    script = (
        "import socket\n"
        "a, b = socket.socketpair()\n"
        "a.sendall(b'hello-lanner-sock'); b.recv(100)\n"
        f"open({str(tmp_path / 'plain')!r}, 'w').write('not-a-socket')\n"
    )
    src.update_selection(["write", "read", "sendto", "recvfrom"])
    src.snaplen = 8
    try:
        subprocess.run([sys.executable, "-c", script], check=True)
        events = drain(src, settle=0.2)
    finally:
        src.snaplen = 80
    well_formed(events)
    data = [e.param_by_name("data") for e in of_type(events, "write", "sendto", "read", "recvfrom")]
    assert b"hello-la" in data  # first snaplen bytes of the socket write
    assert not any(b"not-a-so" in d for d in data if d)


@pytest.mark.parametrize("mode", ["tracepoint", "raw"])
def test_selection_and_runtime_update(mode: str, tmp_path: Path) -> None:
    require_bpf()
    if mode == "tracepoint" and tracefs_syscalls() is None:
        pytest.skip("tracefs is not mounted: per-syscall tracepoints unavailable")
    script = f"mkdir {tmp_path}/a; cat /etc/hostname > /dev/null; mkdir {tmp_path}/b"
    with ProbeSource(["openat", "open"], mode=mode) as src:
        assert src.mode == mode
        subprocess.run(["sh", "-c", script], check=True)
        first = drain(src)
        assert of_type(first, "openat", "open")
        assert not of_type(first, "mkdir", "mkdirat")
        src.update_selection(["mkdir", "mkdirat"])
        updated_at = time.time_ns()  # (other processes' opens may still be in flight before)
        subprocess.run(["sh", "-c", script.replace("/a", "/c").replace("/b", "/d")], check=True)
        second = drain(src)
    assert not [e for e in of_type(second, "openat", "open") if e.ts > updated_at]
    paths = {e.param_by_name("path") for e in of_type(second, "mkdir", "mkdirat")}
    assert {f"{tmp_path}/c", f"{tmp_path}/d"} <= paths


def test_stats_counts_events_and_drops() -> None:
    require_bpf()
    cpus = os.cpu_count() or 1
    script = "import os\nfor _ in range(20000):\n os.close(os.open('/dev/null', os.O_RDONLY))\n"
    with ProbeSource(["openat"], ring_bytes=4096) as src:  # one page: fills at once
        before = src.stats()
        assert len(before.per_cpu) >= 1 and len(before.per_cpu) <= cpus
        subprocess.run([sys.executable, "-c", script], check=True)
        after = src.stats()  # nothing consumed yet: most records could not fit
        assert after.drops - before.drops > 10000
        assert after.events - before.events > 0
        assert after.events + after.drops >= 20000
        got = drain(src)
        final = src.stats()  # other processes keep the counters moving: compare with the final ones
        assert 0 < len(got) <= final.events
        assert final.consumed == len(got)
        assert src.stats().undecodable == 0


def test_close_detaches_everything(tmp_path: Path) -> None:
    require_bpf()
    src = ProbeSource(["openat"])
    src.close()
    src.close()  # idempotent
    assert list(src.batches(idle_timeout=0.05)) == []


def test_socket_server_in_own_process_is_not_traced(src: ProbeSource) -> None:
    src.update_selection(["accept", "accept4", "listen", "bind", "socket"])
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.close()
    assert not [e for e in drain(src) if e.tid == os.getpid()]


def test_clone_parent_and_child_events(src: ProbeSource) -> None:
    proc = subprocess.Popen(["sh", "-c", "sleep 0 & wait"])
    proc.wait()
    events = collect(
        src,
        lambda evs: any(
            e.param_by_name("res") == 0 and e.param_by_name("ptid") == proc.pid
            for e in of_type(evs, "clone", "clone3", "fork", "vfork")
        ),
    )
    well_formed(events)
    clones = [
        e
        for e in of_type(events, "clone", "clone3", "fork", "vfork")
        if e.param_by_name("pid") == proc.pid and e.param_by_name("res") > 0
    ]
    assert clones, "no clone by the shell seen"  # (its own birth, res=0, came from our clone)
    child_tid = clones[0].param_by_name("res")
    assert child_tid > 0
    children = [
        e for e in of_type(events, "clone", "clone3", "fork", "vfork") if e.tid == child_tid
    ]
    assert children and children[0].param_by_name("res") == 0
    child = params(children[0])
    assert child["pid"] == child_tid and child["ptid"] == proc.pid
    assert child["comm"] == "sh" and child["exe"] == "sh"
    assert child["args"] == b"-c\0sleep 0 & wait\0"


def test_batches_yield_events_then_end_when_idle(src: ProbeSource) -> None:
    src.update_selection(["execve"])
    subprocess.run(["true"], check=True)
    batches = list(src.batches(idle_timeout=0.3))
    assert batches and all(batches)
    assert any(e.type_name == "execve" for batch in batches for e in batch)
