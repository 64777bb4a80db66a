"""Overhead of the live eBPF probe on real workloads, with the consumer running.

For each load, runs are interleaved (baseline, probe in tracepoint mode, probe in raw mode, ...)
and the median wall time of each is reported, with the slowdown ratio to the baseline, the events
per second the consumer drained, the kernel-side drops and the consumer's RSS.

Loads:
  find      find /usr > /dev/null (many openat/getdents/close)
  execloop  a shell loop spawning /bin/true (fork + exec + exit)
  getppid   a C loop of getppid syscalls, none of which the probe selects (the floor cost of a hook)

The selection is Falco's state-keeping syscalls (no read/write), as a default ruleset needs.
Per-syscall tracepoints need tracefs; the script mounts it when missing (as root). A mode
"X+latency" adds the sys_enter hook and an enter event per captured exit (metrics.latency).
Each probe is loaded for its own runs only and closed after them, so no idle hook of another mode
runs during the baseline or the other modes (loading takes ~0.15 s).

With --agent (the default), the consumer is the agent's pipeline: the state tables and the
stable Falco ruleset (compat corpus) through DetectionEngine, with the selection `lanner run`
would make (the rules' event types plus the state set). --no-agent only drains Event objects.

Load sweep (--sweep): a C loop doing open+close pairs of /dev/null at increasing target rates
(events/s), each for --sweep-seconds; reports the rate offered, the rate the agent processed,
and the kernel drops.

Usage: python bench/live_overhead.py [--runs N] [--loads find,execloop,getppid]
                                      [--sweep 20000,50000,100000,200000,0] [--no-agent]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from lanner.capture.ebpf import ProbeSource, check_environment
from lanner.capture.ebpf.source import tracefs_syscalls
from lanner.engine import DetectionEngine
from lanner.rules.loader import load_rules_files
from lanner.state.selection import STATE_EVENT_TYPES

COMPAT = Path(__file__).resolve().parents[2] / "shared" / "compat"
STABLE = COMPAT / "rules" / "falcosecurity-rules-c72713e" / "falco_rules.yaml"

STATE_SET = [
    "execve", "execveat", "clone", "clone3", "fork", "vfork", "procexit", "open", "openat",
    "openat2", "creat", "close", "socket", "connect", "accept", "accept4", "bind", "listen",
    "dup", "dup2", "dup3", "pipe", "pipe2", "socketpair", "chdir", "fchdir", "setuid", "setgid",
    "setresuid", "setresgid", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir",
    "mkdirat", "rmdir", "symlink", "symlinkat", "link", "linkat", "chmod", "fchmod", "fchmodat",
    "ptrace", "mount", "umount2", "unshare", "setns", "memfd_create", "userfaultfd", "bpf",
    "prctl", "capset", "kill", "init_module", "finit_module",
]  # fmt: skip

GETPPID_C = r"""
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return 0;
}
"""


OPENLOOP_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
/* open+close pairs of /dev/null at `rate` events/s (2 events a pair; 0 = as fast as possible)
 * for `seconds`; prints the events offered per second. */
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
    double rate = atof(argv[1]), seconds = atof(argv[2]);
    double start = now(), end = start + seconds;
    long pairs = 0;
    while (now() < end) {
        for (int i = 0; i < 100; i++) { close(open("/dev/null", O_RDONLY)); pairs++; }
        if (rate > 0) {
            double due = start + pairs * 2 / rate;
            double wait = due - now();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
                nanosleep(&ts, 0);
            }
        }
    }
    printf("%.0f\n", pairs * 2 / (now() - start));
    return 0;
}
"""


def compile_c(workdir: Path, name: str, source: str) -> Path | None:
    src = workdir / f"{name}.c"
    src.write_text(source)
    exe = workdir / name
    if (
        shutil.which("cc")
        and subprocess.run(["cc", "-O2", "-o", str(exe), str(src)], check=False).returncode == 0
    ):
        return exe
    print(f"{name}: no C compiler, load skipped")
    return None


def build_loads(workdir: Path, which: list[str]) -> dict[str, list[str]]:
    loads: dict[str, list[str]] = {}
    if "find" in which:
        loads["find"] = ["sh", "-c", "find /usr > /dev/null 2>&1"]
    if "execloop" in which:
        true = shutil.which("true") or "/bin/true"
        loads["execloop"] = ["sh", "-c", f"i=0; while [ $i -lt 1000 ]; do {true}; i=$((i+1)); done"]
    if "getppid" in which:
        exe = compile_c(workdir, "getppid", GETPPID_C)
        if exe is not None:
            loads["getppid"] = [str(exe), "2000000"]
    return loads


class Consumer:
    """Drains the probe in a thread, like the agent does: Event objects, params left lazy, and
    with an engine, the state tables and the rules on every batch."""

    def __init__(self, src: ProbeSource, engine: DetectionEngine | None = None) -> None:
        self.src = src
        self.engine = engine
        self.events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self.src.poll()
            if batch:
                self.events += len(batch)
                if self.engine is not None:
                    self.engine.process_batch(batch)
            else:
                time.sleep(self.src.poll_interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        while rest := self.src.poll():  # the backlog, in the agent's batch size
            self.events += len(rest)
            if self.engine is not None:
                self.engine.process_batch(rest)


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def rss_mib(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS), or its peak (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class AgentFactory:
    """Builds a fresh DetectionEngine (stable ruleset, state seeded from /proc) per run."""

    def __init__(self) -> None:
        loaded = load_rules_files([STABLE])
        assert loaded.successful, [m.one_line() for m in loaded.result.errors]
        self.ruleset = loaded.ruleset()
        self.alerts = 0
        needed = self.ruleset.needed_event_types()
        self.selection = sorted(
            set(STATE_EVENT_TYPES) | (set(needed) if needed is not None else set(STATE_SET))
        )

    def _on_alert(self, _alert: Any) -> None:
        self.alerts += 1

    def engine(self) -> DetectionEngine:
        from lanner.capture.procfs import snapshot
        from lanner.state.state import State

        state = State()
        for record in snapshot(skip_pid=os.getpid()):
            state.seed(record)
        return DetectionEngine(self.ruleset, self._on_alert, state=state)


def sweep(  # noqa: PLR0917
    src: ProbeSource, selection: list[str], agent: AgentFactory | None, exe: Path, rates: list[int],
    seconds: float,
) -> None:  # fmt: skip
    print(f"\nload sweep ({src.mode} mode, open+close pairs, {seconds:.0f} s per rate)")
    print(
        f"{'target ev/s':>11} {'offered ev/s':>12} {'processed ev/s':>14} "
        f"{'drops':>8} {'drop %':>7}"
    )
    for rate in rates:
        src.update_selection(selection)
        consumer = Consumer(src, agent.engine() if agent is not None else None)
        before = src.stats()
        t0 = time.perf_counter()
        out = subprocess.run(
            [str(exe), str(rate), str(seconds)], check=True, capture_output=True, text=True
        )
        offered = float(out.stdout.strip() or 0)
        consumer.stop()  # drains the ring: the agent catches up after the load ends
        elapsed = time.perf_counter() - t0
        src.update_selection([])
        after = src.stats()
        dropped = after.drops - before.drops
        total = consumer.events + dropped
        label = "max" if rate == 0 else str(rate)
        print(
            f"{label:>11} {offered:12.0f} {consumer.events / elapsed:14.0f} {dropped:8d} "
            f"{100 * dropped / total if total else 0:6.1f}%"
        )


def agent_rss(seconds: float, loads: dict[str, list[str]]) -> None:
    """Peak RSS of a real `lanner run -r falco_rules.yaml` while the loads run in a loop."""
    import sys

    with tempfile.TemporaryDirectory() as state_dir:
        agent = subprocess.Popen(
            [sys.executable, "-m", "lanner", "run", "-r", str(STABLE), "--duration", str(seconds),
             "-o", "stdout_output.enabled=false"],
            env={**os.environ, "LANNER_STATE_DIR": state_dir},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        status = Path(f"/proc/{agent.pid}/status")
        time.sleep(min(8.0, seconds / 3))  # load + attach
        peak = 0.0
        runs = 0
        while agent.poll() is None:
            for cmd in loads.values():
                if agent.poll() is not None:
                    break
                subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
                runs += 1
                try:
                    for line in status.read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]) / 1024)
                except OSError:
                    break
        print(f"lanner run (stable ruleset) peak RSS: {peak:.0f} MiB over {runs} load runs")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--loads", default="find,execloop,getppid")
    parser.add_argument("--agent", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--modes", default="tracepoint,raw,raw+latency")
    parser.add_argument("--sweep", default="", help="target events/s list, 0 = max")
    parser.add_argument("--sweep-seconds", type=float, default=3.0)
    parser.add_argument("--agent-rss", type=float, default=0, help="seconds of `lanner run`")
    args = parser.parse_args()
    reason = check_environment()
    if reason:
        raise SystemExit(f"live_overhead: {reason}")
    if tracefs_syscalls() is None:
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=False)
    have_tracefs = tracefs_syscalls() is not None
    modes = [m for m in args.modes.split(",") if not m.startswith("tracepoint") or have_tracefs]
    rss_start = rss_mib()
    agent = AgentFactory() if args.agent else None
    selection = agent.selection if agent is not None else STATE_SET
    print(
        f"consumer: {'agent (state + stable ruleset)' if agent else 'drain only'}; "
        f"{len(selection)} event types selected"
    )
    with tempfile.TemporaryDirectory() as tmp:
        loads = build_loads(Path(tmp), [x for x in args.loads.split(",") if x])

        def open_source(mode: str) -> ProbeSource:
            base, _, extra = mode.partition("+")
            return ProbeSource(selection, mode=base, latency=extra == "latency")

        t0 = time.perf_counter()
        for mode in modes:
            open_source(mode).close()
        print(f"probe load+attach+close: {(time.perf_counter() - t0) / len(modes):.2f} s per mode")
        print(
            f"{'load':9} {'config':11} {'median s':>9} {'ratio':>6} {'events/s':>10} {'drops':>6}"
        )
        for load, cmd in loads.items():
            times: dict[str, list[float]] = {"baseline": [], **{m: [] for m in modes}}
            rates: dict[str, list[float]] = {m: [] for m in modes}
            drops: dict[str, int] = dict.fromkeys(modes, 0)
            timed(cmd)  # warm caches
            for _ in range(args.runs):
                times["baseline"].append(timed(cmd))
                for mode in modes:
                    src = open_source(mode)
                    before = src.stats()
                    consumer = Consumer(src, agent.engine() if agent is not None else None)
                    elapsed = timed(cmd)
                    consumer.stop()
                    after = src.stats()
                    src.close()
                    times[mode].append(elapsed)
                    rates[mode].append(consumer.events / elapsed)
                    drops[mode] += after.drops - before.drops
            base = statistics.median(times["baseline"])
            print(f"{load:9} {'baseline':11} {base:9.3f} {1.0:6.2f}")
            for mode in modes:
                med = statistics.median(times[mode])
                rate = statistics.median(rates[mode])
                print(
                    f"{load:9} {mode:11} {med:9.3f} {med / base:6.2f} {rate:10.0f} {drops[mode]:6d}"
                )
        if args.agent_rss:
            agent_rss(args.agent_rss, loads)
        if args.sweep:
            exe = compile_c(Path(tmp), "openloop", OPENLOOP_C)
            if exe is not None:
                src = open_source("raw")
                targets = [int(x) for x in args.sweep.split(",")]
                sweep(src, selection, agent, exe, targets, args.sweep_seconds)
                src.close()
        print(
            f"bench process RSS: {rss_mib():.0f} MiB now, peak {rss_mib('VmHWM'):.0f} MiB "
            f"(Python + libs before the probes: {rss_start:.0f} MiB)"
        )
        if agent is not None:
            print(f"alerts raised during the runs: {agent.alerts}")


if __name__ == "__main__":
    os.nice(0)
    main()
