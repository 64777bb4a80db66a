"""The cost of the probe's syscall hook itself on a real server: nginx loaded by wrk, with no
probe, with the raw tp_btf hook attached and nothing selected, and with the state selection
(raw hook, or per-syscall tracepoints) drained by a thread (no rules, no state), in interleaved
rounds. What `lanner run` with rules only costs nginx is mostly this floor.

    .venv/bin/python bench/hook_floor.py [--rounds 3] [--seconds 4] [--connections 4]

Needs root (eBPF), nginx and wrk (scripts/install-deps.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.metrics.servers import nginx_server  # noqa: E402

from lanner.capture.ebpf import ProbeSource  # noqa: E402
from lanner.state.selection import STATE_EVENT_TYPES  # noqa: E402

CONFIGS = ("baseline", "raw, nothing selected", "raw, state set", "tracepoint, state set")


def _wrk(port: int, seconds: float, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise SystemExit(f"wrk printed no rate:\n{out}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in CONFIGS}
    with contextlib.contextmanager(nginx_server)(Path(tempfile.mkdtemp())) as port:
        for _ in range(args.rounds):
            for name in CONFIGS:
                if name == "baseline":
                    rates[name].append(_wrk(port, args.seconds, args.connections))
                    continue
                mode = name.split(",")[0]
                selection = STATE_EVENT_TYPES if name.endswith("state set") else frozenset()
                with ProbeSource(selection, mode=mode) as source:
                    stop = threading.Event()

                    def drain(src: ProbeSource = source, done: threading.Event = stop) -> None:
                        while not done.is_set():
                            if not src.read_records(4096):
                                time.sleep(0.005)

                    drainer = threading.Thread(target=drain)
                    drainer.start()
                    rates[name].append(_wrk(port, args.seconds, args.connections))
                    stop.set()
                    drainer.join()
    base = statistics.median(rates["baseline"])
    print(f"nginx + wrk -t1 -c{args.connections}, {args.seconds} s x {args.rounds} rounds")
    for name, values in rates.items():
        median = statistics.median(values)
        rounds = " ".join(f"{v:.0f}" for v in values)
        print(f"{name:30s} {median:9.0f} req/s  {median / base:.2f}  ({rounds})")


if __name__ == "__main__":
    main()
