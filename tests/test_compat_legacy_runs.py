"""Falco's legacy regression corpus, run-mode records: replay each available capture with the
record's rules and options through `lanner replay` and check the expected detections.

The corpus was written for Falco <= 0.41, where enter events match rules too, so every run uses
`--legacy`. Records whose capture is not in the corpus (traces-positive/negative zips) are
reported as unavailable, not skipped silently.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lanner.cli import _register, app
from tests.conftest import COMPAT, compat_path

TESTING = "testing-repo-9a9c867"

# Records that exercise features this project has not built yet; each names what is missing.
# The test for such a record still runs and must FAIL (xfail strict) so the entry is removed
# as soon as the feature lands.
NOT_YET: dict[str, str] = {}


def _records() -> list[dict[str, Any]]:
    path = COMPAT / TESTING / "expected_legacy_tests.json"
    if not path.exists():
        return []
    records = json.loads(path.read_text())
    return [r for r in records if r["mode"] == "run"]


RECORDS = _records()


@dataclass
class RunOutcome:
    exit_code: int
    stdout: str
    stderr: str
    alerts: list[dict[str, Any]]


def _cli_args(record: dict[str, Any], base: Path, json_lines: bool) -> list[str]:
    options = record["options"]
    capture = COMPAT / "scap" / record["capture"].replace("/trace_files", "")
    args = ["replay", str(capture), "--legacy"]
    for rules in record["rules"]:
        args += ["-r", str(base / rules)]
    if options.get("config"):
        args += ["-c", str(base / options["config"])]
    extra = list(options.get("args", []))
    args += extra
    if json_lines or options.get("json_output"):
        args.append("--json")
    if json_lines:
        # Counting needs the rule name of every alert: force JSON with every property on.
        args += ["-o", "json_include_output_property=true", "-o", "json_include_tags_property=true"]
    for tag in options.get("EnabledTags", []):
        args += ["-t", tag]
    for tag in options.get("DisabledTags", []):
        args += ["-T", tag]
    for rule in options.get("DisabledRules", []):
        args += ["-D", rule]
    for prio in options.get("MinRulePriority", []):
        args += ["--min-priority", prio]
    return args


def _run(record: dict[str, Any], json_lines: bool) -> RunOutcome:
    base = COMPAT / TESTING
    _register()
    runner = CliRunner()
    env = dict(record["options"].get("env", {}))
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = runner.invoke(app, _cli_args(record, base, json_lines))
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    alerts = []
    if json_lines:
        for line in result.stdout.splitlines():
            if line.startswith("{"):
                alerts.append(json.loads(line))
    return RunOutcome(result.exit_code, result.stdout, result.stderr, alerts)


def _check_count(op: str, value: int | None, count: int) -> bool:
    if op == "==":
        return count == value
    if op == ">0":
        return count > 0
    if op == "==0":
        return count == 0
    raise AssertionError(f"unknown op {op}")


def _check(record: dict[str, Any]) -> list[str]:
    """Run the record; return the list of failed expectations (empty = pass)."""
    counted = _run(record, json_lines=True)
    plain = None
    failures: list[str] = []
    by_rule = Counter(a["rule"] for a in counted.alerts)
    by_prio = Counter(a["priority"].upper() for a in counted.alerts)
    for expect in record["expect"]:
        what = expect["what"]
        if what == "detections":
            flt = expect.get("filter") or {}
            if "Rule" in flt:
                count = by_rule[flt["Rule"]]
            elif "Priority" in flt:
                prio = flt["Priority"].upper()
                count = by_prio[{"INFO": "INFORMATIONAL"}.get(prio, prio)]
            else:
                count = len(counted.alerts)
            if not _check_count(expect["op"], expect.get("value"), count):
                failures.append(
                    f"detections {flt or 'total'} {expect['op']} {expect.get('value')}: got {count}"
                )
        elif what == "exit_code":
            if counted.exit_code != expect["value"]:
                failures.append(
                    f"exit code {counted.exit_code} != {expect['value']}: {counted.stderr[-300:]}"
                )
        elif what == "error":
            pass  # the exit code check covers it
        elif what in ("stdout", "stderr"):
            plain = plain or _run(record, json_lines=False)
            text = plain.stdout if what == "stdout" else plain.stderr
            op, value = expect["op"], expect["value"]
            if op == "contains_each_line_of":
                wanted = (COMPAT / TESTING / value).read_text().splitlines()
                missing = [w for w in wanted if w and w not in text]
                if missing:
                    failures.append(
                        f"{what} lacks {len(missing)} expected lines, e.g. {missing[0]!r}"
                    )
            elif op == "json_lines_equal_ignoring_order":
                wanted_json = sorted(
                    json.dumps(json.loads(w), sort_keys=True)
                    for w in (COMPAT / TESTING / value).read_text().splitlines()
                    if w.strip()
                )
                got_json = sorted(
                    json.dumps(json.loads(g), sort_keys=True)
                    for g in text.splitlines()
                    if g.startswith("{")
                )
                if wanted_json != got_json:
                    failures.append(
                        f"{what} JSON lines differ: {got_json[:1]} vs {wanted_json[:1]}"
                    )
            elif op == "matches":
                if not re.search(value, text, re.MULTILINE):
                    failures.append(f"{what} does not match {value!r}")
            elif op == "not_matches":
                if re.search(value, text, re.MULTILINE):
                    failures.append(f"{what} matches {value!r}")
            else:
                failures.append(f"unknown op {op}")
        else:
            failures.append(f"unhandled expectation {what}")
    return failures


AVAILABLE = [r for r in RECORDS if r["capture_available"]]


@pytest.mark.compat
@pytest.mark.parametrize("record", AVAILABLE, ids=[r["test"] for r in AVAILABLE])
def test_legacy_run_record(record: dict[str, Any]) -> None:
    compat_path(TESTING, "expected_legacy_tests.json")
    reason = NOT_YET.get(record["test"])
    failures = _check(record)
    if reason is not None:
        if failures:
            pytest.xfail(f"not built yet: {reason}")
        pytest.fail(f"{record['test']} passes now: remove it from NOT_YET")
    assert not failures, "\n".join(failures)


@pytest.mark.compat
def test_legacy_run_corpus_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Counts the records: available and passing, not yet supported, capture unavailable."""
    compat_path(TESTING, "expected_legacy_tests.json")
    unavailable = [r["test"] for r in RECORDS if not r["capture_available"]]
    passing = [r["test"] for r in AVAILABLE if not _check(r)]
    with capsys.disabled():
        print(
            f"\nlegacy run records: {len(RECORDS)} total, {len(AVAILABLE)} with a capture, "
            f"{len(passing)} pass, {len(AVAILABLE) - len(passing)} fail "
            f"({len(NOT_YET)} listed as not built yet), {len(unavailable)} capture not in corpus"
        )
    assert len(passing) == len(AVAILABLE) - len(NOT_YET)
