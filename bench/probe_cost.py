"""The probe's own CPU time per event, from the kernel's BPF statistics (exact, unlike wall-clock
ratios on a shared VM): `find /usr` runs under the probe with one event type selected at a
time, and `bpftool prog show` reports the sys_exit program's run count and run time; the cost
of an emitted event is the extra time over the nothing-selected run, per event.

    sudo .venv/bin/python bench/probe_cost.py [--types close,fcntl:fd,openat] [--repeat 3]

Turns on kernel.bpf_stats_enabled for its run (and back off). Needs root and bpftool.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from lanner.capture.ebpf import ProbeSource

STATS = Path("/proc/sys/kernel/bpf_stats_enabled")
PROGRAM = "lanner_sys_exit"


def _program_stats() -> tuple[int, int]:
    listing = subprocess.run(
        ["bpftool", "-j", "prog", "show"], capture_output=True, text=True, check=True
    ).stdout
    # The newest one: a probe closed a moment ago may still be listed while it is freed.
    ours = [prog for prog in json.loads(listing) if prog.get("name") == PROGRAM]
    if not ours:
        raise SystemExit(f"{PROGRAM} is not loaded")
    prog = max(ours, key=lambda p: int(p["id"]))
    return int(prog.get("run_time_ns", 0)), int(prog.get("run_cnt", 0))


def _measure(selection: list[str], repeat: int) -> tuple[int, int, int]:
    """(run time ns, runs, events) of the cheapest of `repeat` find runs."""
    best: tuple[int, int, int] | None = None
    for _ in range(repeat):
        with ProbeSource(selection, mode="raw", ring_bytes=64 << 20) as source:
            time_before, runs_before = _program_stats()
            subprocess.run(["find", "/usr"], stdout=subprocess.DEVNULL, check=False)
            time_after, runs_after = _program_stats()
            events = source.stats().events
        sample = (time_after - time_before, runs_after - runs_before, events)
        if best is None or sample[0] < best[0]:
            best = sample
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--types", default="close,fcntl:fd,openat")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    previous = STATS.read_text().strip()
    STATS.write_text("1")
    try:
        subprocess.run(["find", "/usr"], stdout=subprocess.DEVNULL, check=False)  # warm cache
        base_time, base_runs, _ = _measure([], args.repeat)
        per_run = base_time / base_runs
        print(f"{'nothing selected':18s} {per_run:5.0f} ns per syscall ({base_runs} syscalls)")
        for name in args.types.split(","):
            run_time, runs, events = _measure([name], args.repeat)
            extra = run_time - per_run * runs
            print(f"{name:18s} {run_time / runs:5.0f} ns per syscall, {events:7d} events, "
                  f"{extra / max(events, 1):5.0f} ns per event emitted")  # fmt: skip
    finally:
        STATS.write_text(previous)


if __name__ == "__main__":
    main()
