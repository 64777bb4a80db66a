"""`find /usr` under `lanner run` as shipped (default rules, metrics on) and with metrics off,
against `find` alone, in interleaved rounds: the end-to-end figure bench/live_overhead.py's
in-process agent approximates.

    sudo .venv/bin/python bench/find_run.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

LANNER = str(Path(sys.executable).with_name("lanner"))


def find_time() -> float:
    started = time.perf_counter()
    subprocess.run(["find", "/usr"], stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def with_agent(args: list[str]) -> float:
    agent = subprocess.Popen(
        [LANNER, "run", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert agent.stderr is not None
    seen = ""
    while "Live capture started" not in seen:
        line = agent.stderr.readline()
        if not line:
            raise SystemExit(f"lanner run did not start: {seen}")
        seen += line
    time.sleep(0.5)
    elapsed = find_time()
    agent.terminate()
    agent.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configs: dict[str, list[str] | None] = {
        "find alone": None,
        "lanner run (as shipped)": [],
        "lanner run, metrics off": ["-o", "metrics.enabled=false"],
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    find_time()  # warm the page cache
    for _ in range(args.rounds):
        for name, agent_args in configs.items():
            times[name].append(find_time() if agent_args is None else with_agent(agent_args))
    base = statistics.median(times["find alone"])
    for name, values in times.items():
        median = statistics.median(values)
        rounds = " ".join(f"{v:.3f}" for v in values)
        print(f"{name:26s} {median:.3f} s  {median / base:.2f}x  ({rounds})")


if __name__ == "__main__":
    main()
