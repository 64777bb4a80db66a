"""Evaluation cost per event of the stable Falco ruleset, on the events of a real trace.

    .venv/bin/python bench/ruleset_eval.py [--trace PATH] [--repeat N] [--all]

The trace is read and replayed through the state tables once (so events carry their
thread, fd and enter slots, as in production), then the ruleset runs over every event
``--repeat`` times (best run kept). Printed per event: the cost of ``Ruleset.run``, the
cost of an empty loop over the same events and of the event-type index lookup alone
(references measured in the same run), the average number of rules an event visits, and
the number of matches. (bench/rules_eval.py is the condition compiler's micro benchmark.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from lanner.capture.scap import ScapReader
from lanner.rules.loader import load_rules_files
from lanner.state.state import State

COMPAT = Path(__file__).resolve().parents[2] / "shared" / "compat"
STABLE = COMPAT / "rules" / "falcosecurity-rules-c72713e" / "falco_rules.yaml"
DEFAULT_TRACE = COMPAT / "scap" / "gpl-sysdig-inspect" / "502Error.scap"


def replay(path: Path) -> list[Any]:
    state = State()
    events: list[Any] = []
    for item in ScapReader(path):
        if isinstance(item, list):
            for event in item:
                state.process(event)
                events.append(event)
        else:
            state.seed(item)
    return events


def best_ns_per_event(action: Any, events: list[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        action(events)
        best = min(best, time.perf_counter_ns() - start)
    return best / len(events)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--all", action="store_true", help="rule_matching: all (default first)")
    args = parser.parse_args()
    if not STABLE.exists() or not args.trace.exists():
        print(f"needs {STABLE} and {args.trace}", file=sys.stderr)
        return 1
    loaded = load_rules_files([STABLE])
    assert loaded.successful, [m.one_line() for m in loaded.result.errors]
    ruleset = loaded.ruleset(rule_matching="all" if args.all else "first")
    events = replay(args.trace)

    def empty(batch: list[Any]) -> None:
        for _event in batch:
            pass

    def index_only(batch: list[Any]) -> None:
        lookup = ruleset.rules_for_type
        for event in batch:
            lookup(event.type_name)

    def run(batch: list[Any]) -> None:
        evaluate = ruleset.run
        for event in batch:
            evaluate(event)

    visited = sum(len(ruleset.rules_for_type(e.type_name)) for e in events) / len(events)
    matches = sum(len(ruleset.run(e)) for e in events)
    empty_ns = best_ns_per_event(empty, events, args.repeat)
    index_ns = best_ns_per_event(index_only, events, args.repeat)
    run_ns = best_ns_per_event(run, events, args.repeat)
    print(
        f"trace {args.trace.name}: {len(events)} events; stable ruleset: {len(ruleset.rules)} rules"
    )
    print(f"rules visited per event (index): {visited:.2f}; matches: {matches}")
    print(f"empty loop        {empty_ns:8.1f} ns/event")
    print(f"index lookup only {index_ns:8.1f} ns/event ({index_ns / empty_ns:.1f}x empty loop)")
    print(f"Ruleset.run       {run_ns:8.1f} ns/event ({run_ns / empty_ns:.1f}x empty loop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
