"""`lanner run`'s once-a-minute housekeeping, on the real /proc: threads whose exit was never
seen leave the table once idle and gone; containers no thread belongs to leave theirs."""

from __future__ import annotations

import os
import subprocess
import time

from lanner.cli.run_cmd import housekeep
from lanner.enrich.pipeline import ContainerEnricher
from lanner.state.state import State
from lanner.state.threads import ThreadInfo
from tests.enrich.test_pipeline import CID, POD_PATH, proc_entry

NOW = 1_800_000_000 * 1_000_000_000
MINUTES = 60 * 1_000_000_000


def _exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    assert not os.path.exists(f"/proc/{child.pid}")
    return child.pid


def test_gone_threads_go_and_living_or_recent_ones_stay() -> None:
    state = State()
    enricher = ContainerEnricher().attach(state)
    gone, recent_gone = _exited_pid(), _exited_pid()
    for tid, last in ((gone, NOW - 5 * MINUTES), (recent_gone, NOW - 1_000), (os.getpid(), 0)):
        thread = ThreadInfo(tid, tid)
        thread.lastevent_ts = last
        state.threads.add(thread)
    assert housekeep(state, enricher, NOW) == (1, 0)
    assert gone not in state.threads
    # Recently active (its exit may still be in the ring), or alive however idle: kept.
    assert recent_gone in state.threads and os.getpid() in state.threads
    assert state.threads.dropped == 1


def test_a_container_whose_threads_all_ended_is_forgotten_after_its_grace() -> None:
    state = State()
    requested: list[str] = []
    forgotten: list[str] = []

    class Source:
        def request(self, cid: str) -> None:
            requested.append(cid)

        def wait_for(self, cid: str, timeout: float) -> bool:
            return True

        def forget(self, cid: str) -> None:
            forgotten.append(cid)

    enricher = ContainerEnricher().attach(state, Source())
    dead = _exited_pid()
    state.seed(proc_entry(dead, [f"memory={POD_PATH}"]))
    assert state.containers.get(CID) is not None and requested == [CID]
    # Still used by a thread: kept, however old.
    assert enricher.forget_unused(grace_s=0) == 0
    # The thread's exit was lost; housekeeping drops it, then the container (grace over).
    state.threads.threads[dead].lastevent_ts = NOW - 5 * MINUTES
    threads, _ = housekeep(state, enricher, NOW)
    assert threads == 1
    assert enricher.forget_unused(grace_s=0) == 1
    assert state.containers.get(CID) is None and forgotten == [CID]
    # Seen again: a new entry and a new lookup.
    state.seed(proc_entry(dead + 1_000_000, [f"memory={POD_PATH}"]))
    assert requested == [CID, CID] and state.containers.get(CID) is not None


def test_a_new_container_without_threads_waits_out_its_grace() -> None:
    state = State()
    enricher = ContainerEnricher().attach(state)
    state.seed(proc_entry(_exited_pid(), [f"memory={POD_PATH}"]))
    state.threads.threads.clear()
    assert enricher.forget_unused(grace_s=60) == 0  # added a moment ago: kept
    assert state.containers.get(CID) is not None
    assert enricher.forget_unused(grace_s=60, now=time.monotonic() + 61) == 1
    assert state.containers.get(CID) is None


def test_the_metric_series_of_a_forgotten_container_go_with_it() -> None:
    from lanner.metrics.aggregates import MetricsEngine
    from tests.state.evbuild import event

    state = State()
    enricher = ContainerEnricher().attach(state)
    metrics = MetricsEngine()
    dead = _exited_pid()
    state.seed(proc_entry(dead, [f"memory={POD_PATH}"]))
    state.threads.add(ThreadInfo(os.getpid(), os.getpid()))
    for tid in (dead, os.getpid()):
        ev = event("close", "<", tid, NOW - 5 * MINUTES, res=0, fd=3)
        state.process(ev)
        metrics.process_batch([ev])
    assert {key[0] for key in metrics.syscalls} == {CID, "host"}
    state.threads.threads[dead].lastevent_ts = NOW - 5 * MINUTES
    state.threads.threads[os.getpid()].lastevent_ts = NOW
    enricher._added_at[CID[:12]] = 0.0  # its grace period is long over
    assert housekeep(state, enricher, NOW, metrics) == (1, 1)
    assert {key[0] for key in metrics.syscalls} == {"host"}
