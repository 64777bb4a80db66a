"""Cost of container enrichment on the hot path: events/s of reader + state, with and without
the container enricher attached, on corpus traces (each read from its file every pass).

The enricher adds, per event, one set-membership test in a wrapper around State.process, and
per process event (clone/execve exits) a cgroup resolution memoised per path.

Usage: python bench/enrich_cost.py [--passes N] [--trace NAME ...]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lanner.capture.scap import ScapReader
from lanner.enrich.containers import CgroupResolver
from lanner.enrich.pipeline import ContainerEnricher
from lanner.state.state import State

ROOT = Path(__file__).resolve().parent.parent
COMPAT = Path(os.environ.get("LANNER_COMPAT_DIR", ROOT.parent / "shared" / "compat"))
TRACES = {
    "run_as_user_0_container": "falco-psp-8dd4beac/run_as_user_0_container.scap",
    "502Error": "gpl-sysdig-inspect/502Error.scap",
    "sample": "libs/sample.scap",
}


def replay(path: Path, setup: Callable[[State], Any]) -> int:
    state = State()
    setup(state)
    count = 0
    for item in ScapReader(path):
        if isinstance(item, list):
            process = state.process
            for event in item:
                process(event)
            count += len(item)
        else:
            state.seed(item)
    return count


def best_rate(path: Path, setup: Callable[[State], Any], passes: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(passes):
        start = time.perf_counter()
        count = replay(path, setup)
        best = min(best, time.perf_counter() - start)
    return count / best, count


def resolver_cost(rounds: int = 200_000) -> float:
    """ns per resolution of an already seen container cgroup list (the memoised path)."""
    cid = "ac09c37c12c72abbbe5cf7067684d10cd067dc9a81df6f3199ff92d123ed6e30"
    cgroups = [("cpuset", "/"), ("cpu", "/"), ("memory", f"/kubepods/besteffort/pod1/{cid}")]
    resolver = CgroupResolver()
    resolver.resolve(cgroups)
    start = time.perf_counter()
    for _ in range(rounds):
        resolver.resolve(cgroups)
    return (time.perf_counter() - start) / rounds * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--trace", action="append", choices=sorted(TRACES))
    args = parser.parse_args()
    names = args.trace or list(TRACES)
    print(f"{'trace':<26}{'events':>8}{'plain ev/s':>13}{'enriched ev/s':>15}{'cost ns/ev':>12}")
    for name in names:
        path = COMPAT / "scap" / TRACES[name]
        if not path.exists():
            print(f"{name:<26} (trace not available: {path})")
            continue
        plain, count = best_rate(path, lambda _state: None, args.passes)
        enriched, _ = best_rate(path, lambda state: ContainerEnricher().attach(state), args.passes)
        cost = (1 / enriched - 1 / plain) * 1e9
        print(f"{name:<26}{count:>8}{plain:>13,.0f}{enriched:>15,.0f}{cost:>12.0f}")
    print(f"cgroup resolution of a known path: {resolver_cost():.0f} ns")


if __name__ == "__main__":
    main()
