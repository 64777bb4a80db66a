"""Overhead of the live eBPF probe on real workloads, with the consumer running.

For each load, runs are interleaved (baseline, probe in tracepoint mode, probe in raw mode, ...)
and the median wall time of each is reported, with the slowdown ratio to the baseline, the events
per second the consumer drained, the kernel-side drops and the consumer's RSS.

Loads:
  find      find /usr > /dev/null (many openat/getdents/close)
  execloop  a shell loop spawning /bin/true (fork + exec + exit)
  getppid   a C loop of getppid syscalls, none of which the probe selects (the floor cost of a hook)

The selection is Falco's state-keeping syscalls (no read/write), as a default ruleset needs.
Per-syscall tracepoints need tracefs; the script mounts it when missing (as root).

Usage: python bench/live_overhead.py [--runs N] [--loads find,execloop,getppid]
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

from lanner.capture.ebpf import ProbeSource, check_environment
from lanner.capture.ebpf.source import tracefs_syscalls

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


def build_loads(workdir: Path, which: list[str]) -> dict[str, list[str]]:
    loads: dict[str, list[str]] = {}
    if "find" in which:
        loads["find"] = ["sh", "-c", "find /usr > /dev/null 2>&1"]
    if "execloop" in which:
        true = shutil.which("true") or "/bin/true"
        loads["execloop"] = ["sh", "-c", f"i=0; while [ $i -lt 1000 ]; do {true}; i=$((i+1)); done"]
    if "getppid" in which:
        src = workdir / "getppid.c"
        src.write_text(GETPPID_C)
        exe = workdir / "getppid"
        if (
            shutil.which("cc")
            and subprocess.run(["cc", "-O2", "-o", str(exe), str(src)], check=False).returncode == 0
        ):
            loads["getppid"] = [str(exe), "2000000"]
        else:
            print("getppid: no C compiler, load skipped")
    return loads


class Consumer:
    """Drains the probe in a thread, like the agent does: Event objects, params left lazy."""

    def __init__(self, src: ProbeSource) -> None:
        self.src = src
        self.events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self.src.poll()
            if batch:
                self.events += len(batch)
            else:
                time.sleep(self.src.poll_interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.events += len(self.src.poll(1 << 20))


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--loads", default="find,execloop,getppid")
    args = parser.parse_args()
    reason = check_environment()
    if reason:
        raise SystemExit(f"live_overhead: {reason}")
    if tracefs_syscalls() is None:
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=False)
    modes = ["tracepoint", "raw"] if tracefs_syscalls() is not None else ["raw"]
    with tempfile.TemporaryDirectory() as tmp:
        loads = build_loads(Path(tmp), args.loads.split(","))
        t0 = time.perf_counter()
        sources = {mode: ProbeSource(STATE_SET, mode=mode) for mode in modes}
        print(f"probe load+attach: {(time.perf_counter() - t0) / len(modes):.2f} s per mode")
        for src in sources.values():  # loaded but idle until its turn
            src.update_selection([])
        rss_before = rss_mib()
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
                for mode, src in sources.items():
                    src.update_selection(STATE_SET)
                    before = src.stats()
                    consumer = Consumer(src)
                    elapsed = timed(cmd)
                    consumer.stop()
                    src.update_selection([])
                    after = src.stats()
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
        print(f"consumer RSS: {rss_mib():.0f} MiB (before the runs {rss_before:.0f} MiB)")
        for src in sources.values():
            src.close()


if __name__ == "__main__":
    os.nice(0)
    main()
