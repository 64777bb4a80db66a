"""The live probe and the fd table for the calls that make fds in other ways than open/socket:
fcntl's F_DUPFD (find, rm -r, tar... walk directories through such copies, and a path opened
relative to one is only known if the copy is), eventfd, signalfd, timerfd, inotify, epoll,
pidfd_open/pidfd_getfd; and setsid, chroot.

A small C program makes each call once (by syscall number, so the exact syscall is known) and
prints the fds it got; the events go through a State seeded from /proc."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lanner.capture.ebpf import ProbeSource
from lanner.capture.procfs import snapshot
from lanner.state.state import State
from tests.capture.bpf_support import collect, drain, state_probe
from tests.enrich.test_pipeline import field

__all__ = ["state_probe"]  # the module-scoped `probe` fixture
pytestmark = pytest.mark.bpf

PROGRAM = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *dir = argv[1];
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    int flags = fcntl(d, F_GETFL);                   /* not an fd change: filtered in the kernel */
    int copy = syscall(SYS_fcntl, d, F_DUPFD_CLOEXEC, 100);
    close(d);
    int f = openat(copy, "inside.txt", O_RDONLY);    /* relative to the copy */
    sigset_t mask;
    sigemptyset(&mask);
    int ev1 = syscall(SYS_eventfd, 0);
    int ev2 = syscall(SYS_eventfd2, 0, O_CLOEXEC);
    int sg1 = syscall(SYS_signalfd, -1, &mask, 8);
    int sg4 = syscall(SYS_signalfd4, -1, &mask, 8, O_CLOEXEC);
    int tm = syscall(SYS_timerfd_create, CLOCK_MONOTONIC, 0);
    int in0 = syscall(SYS_inotify_init);
    int in1 = syscall(SYS_inotify_init1, O_CLOEXEC);
    int ep0 = syscall(SYS_epoll_create, 1);
    int ep1 = syscall(SYS_epoll_create1, 0);
    int pfd = syscall(SYS_pidfd_open, getpid(), 0);
    int stolen = syscall(SYS_pidfd_getfd, pfd, copy, 0);
    printf("%d %d %d %d %d %d %d %d %d %d %d %d %d %d\n", flags >= 0, copy, f, ev1, ev2, sg1, sg4,
           tm, in0, in1, ep0, ep1, pfd, stolen);
    fflush(stdout);
    int fds[] = {f, ev1, ev2, sg1, sg4, tm, in0, in1, ep0, ep1, pfd, stolen, copy};
    for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) close(fds[i]);
    pid_t child = fork();
    if (child == 0) {
        setsid();
        if (chroot(dir) == 0) {
            int g = open("/inside.txt", O_RDONLY);
            close(g);
        }
        _exit(0);
    }
    waitpid(child, 0, 0);
    return 0;
}
"""


@pytest.fixture(scope="module")
def fd_maker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler")
    work = tmp_path_factory.mktemp("fdkinds")
    (work / "fdkinds.c").write_text(PROGRAM)
    subprocess.run(
        [gcc, "-O1", "-o", str(work / "fdkinds"), str(work / "fdkinds.c")],
        check=True,
        capture_output=True,
    )
    return work / "fdkinds"


def test_fd_kinds_and_session_calls_reach_the_state(
    probe: ProbeSource, fd_maker: Path, tmp_path: Path
) -> None:
    target = tmp_path / "walk"
    target.mkdir()
    (target / "inside.txt").write_text("x")
    drain(probe, settle=0.02)
    state = State()
    for record in snapshot():
        state.seed(record)
    done = subprocess.run([str(fd_maker), str(target)], check=True, capture_output=True, text=True)
    got_flags, copy, f, *special, pfd, stolen = (int(v) for v in done.stdout.split())
    assert got_flags == 1 and copy >= 100 and f >= 0 and min(special) >= 0 and stolen >= 0

    events = collect(probe, lambda evs: any(e.type_name == "chroot" for e in evs)) + drain(probe)
    mine = []
    for event in events:
        state.process(event)
        thread = event.thread
        if thread is not None and thread.exepath == str(fd_maker):
            mine.append(event)
    types = [e.type_name for e in mine]

    fcntls = [e for e in mine if e.type_name == "fcntl"]
    # Only the fd-duplicating command: F_GETFL was dropped in the kernel.
    assert [(e.param_by_name("cmd"), e.param_by_name("res")) for e in fcntls] == [(26, copy)]
    opened = next(
        e for e in mine if e.type_name == "openat" and e.param_by_name("name") == "inside.txt"
    )
    assert opened.param_by_name("fd") == f
    # The relative open resolves through the copy the fd table got from fcntl.
    assert field("fd.name", opened) == f"{target}/inside.txt"

    closes = {e.param_by_name("fd"): e for e in mine if e.type_name == "close"}
    kinds = [str(field("fd.type", closes[fd])) for fd in special]
    assert kinds == [
        "event", "event", "signalfd", "signalfd", "timerfd", "inotify", "inotify",
        "eventpoll", "eventpoll",
    ]  # fmt: skip
    assert field("fd.type", closes[pfd]) == "pidfd"
    # pidfd_getfd copied the directory fd out of the (same) process.
    assert field("fd.name", closes[stolen]) == str(target)
    assert field("fd.name", closes[copy]) == str(target)

    for name in ("eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create"):
        assert name in types, name
    for name in ("inotify_init", "inotify_init1", "epoll_create", "epoll_create1"):
        assert name in types, name
    assert "pidfd_open" in types and "pidfd_getfd" in types

    setsid = next(e for e in mine if e.type_name == "setsid")
    child = setsid.thread
    assert child is not None and setsid.param_by_name("res") == child.pid
    assert field("proc.sid", setsid) == child.pid
    chroot = next(e for e in mine if e.type_name == "chroot")
    assert chroot.param_by_name("res") == 0 and str(chroot.param_by_name("path")) == str(target)
