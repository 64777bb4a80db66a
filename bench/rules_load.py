"""Load + compile time of the upstream Falco rulesets, against PyYAML parsing alone.

    .venv/bin/python bench/rules_load.py [--repeat N]

For each ruleset (stable, incubating, sandbox, then the three together) prints the median
wall time of a full load (YAML read, lists, macros, exceptions, parse, compile, outputs),
the median time PyYAML's C loader takes just to parse the same text, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

from lanner.rules.loader import default_event_types, default_registry, load_rules_files

RULES = Path(__file__).resolve().parents[2] / "shared" / "compat" / "rules"
CURRENT = RULES / "falcosecurity-rules-c72713e"
SETS = {
    "stable": ["falco_rules.yaml"],
    "incubating": ["falco-incubating_rules.yaml"],
    "sandbox": ["falco-sandbox_rules.yaml"],
    "all three": ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"],
    "all three*": ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"],
}
"""``*``: compiled once at the end (``compile_each_file=False``) instead of after each file."""


def _median_seconds(action: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not CURRENT.exists():
        print(f"rulesets not found under {CURRENT}", file=sys.stderr)
        return 1
    registry, event_types = default_registry(), default_event_types()  # warm the catalogs
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    print(f"{'ruleset':<12} {'rules':>5} {'load+compile':>13} {'yaml only':>10} {'ratio':>6}")
    for label, names in SETS.items():
        paths = [CURRENT / name for name in names]
        once = label.endswith("*")
        texts = [path.read_text() for path in paths]
        loaded = load_rules_files(
            paths, registry=registry, event_types=event_types, compile_each_file=not once
        )
        assert loaded.successful, [m.one_line() for m in loaded.result.errors]
        full = _median_seconds(
            lambda paths=paths, once=once: load_rules_files(
                paths, registry=registry, event_types=event_types, compile_each_file=not once
            ),
            args.repeat,
        )
        yaml_only = _median_seconds(
            lambda texts=texts: [list(yaml.load_all(t, Loader=loader_cls)) for t in texts],
            args.repeat,
        )
        print(
            f"{label:<12} {len(loaded.rules):>5} {full * 1000:>10.1f} ms"
            f" {yaml_only * 1000:>7.1f} ms {full / yaml_only:>5.1f}x"
        )
    print("*: compiled once after the last file instead of after each file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
