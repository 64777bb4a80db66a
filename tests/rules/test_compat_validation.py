"""Falco's own validation regression tests (falcosecurity/testing legacy suite), replayed.

Each ``mode: validate`` record of expected_legacy_tests.json names rules files and the
errors/warnings ``falco -V`` must report (code, item type, item name, message), per-file
success and whether the whole validation fails. We load the same files and compare.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lanner.rules.loader import LoadedRules, load_rules_files
from lanner.rules.results import LoadMessage
from tests.conftest import COMPAT

TESTING_REPO = COMPAT / "testing-repo-9a9c867"
EXPECTED = TESTING_REPO / "expected_legacy_tests.json"

_FILTER_KEYS = {
    "Code": lambda m: m.code.name,
    "ItemType": lambda m: m.item_type,
    "ItemName": lambda m: m.item_name,
    "Message": lambda m: m.message,
}


def _records() -> list[dict[str, Any]]:
    if not EXPECTED.exists():
        return []
    records = json.loads(EXPECTED.read_text())
    return [r for r in records if r["mode"] == "validate"]


_YAML_CPP = re.compile(r"^yaml-cpp: error at (line \d+, column \d+): ")


def _matches(message: LoadMessage, wanted: dict[str, str]) -> bool:
    for key, value in wanted.items():
        actual = _FILTER_KEYS[key](message)
        # yaml-cpp's parser wording is its own; we give PyYAML's problem at the same place.
        position = _YAML_CPP.match(value) if key == "Message" else None
        if position is not None:
            if position.group(1) not in actual:
                return False
        elif actual != value:
            return False
    return True


def _compare(op: str, actual: int, expected: int) -> bool:
    return {"==": actual == expected, ">0": actual > 0}[op]


def check_record(record: dict[str, Any], loaded: LoadedRules) -> list[str]:
    """The expectations of ``record`` that ``loaded`` does not meet (empty when all hold)."""
    result = loaded.result
    problems = []
    for expect in record["expect"]:
        what = expect["what"]
        if what in ("validation_errors", "validation_warnings"):
            pool = result.errors if what == "validation_errors" else result.warnings
            if not any(_matches(m, expect["filter"]) for m in pool):
                got = [f"{m.code.name}/{m.item_type}/{m.item_name}/{m.message}" for m in pool]
                problems.append(f"no {what} matching {expect['filter']}; got {got}")
        elif what in ("validation_errors_count", "validation_warnings_count"):
            pool = result.errors if what == "validation_errors_count" else result.warnings
            if not _compare(expect["op"], len(pool), expect["value"]):
                problems.append(f"{what}: {len(pool)} {expect['op']} {expect['value']} fails")
        elif what == "validation_file_successful":
            successful = result.files[expect["index"]].successful
            if successful != expect["value"]:
                problems.append(f"file {expect['index']} successful={successful}")
        elif what == "error":
            if (not result.successful) != expect["value"]:
                problems.append(f"error={not result.successful}, expected {expect['value']}")
        elif what == "exit_code":
            # Falco exits 1 on a failed validation and 0 otherwise.
            exit_code = 0 if result.successful else 1
            if not _compare(expect["op"], exit_code, expect["value"]):
                problems.append(f"exit code {exit_code} {expect['op']} {expect['value']} fails")
        else:
            problems.append(f"unknown expectation {what}")
    return problems


def _load(record: dict[str, Any]) -> LoadedRules:
    return load_rules_files([TESTING_REPO / Path(p) for p in record["rules"]])


RECORDS = _records()


@pytest.mark.compat
@pytest.mark.parametrize("record", RECORDS, ids=[r["test"] for r in RECORDS])
def test_falco_validation_record(record: dict[str, Any]) -> None:
    problems = check_record(record, _load(record))
    assert not problems, "\n".join(problems)


@pytest.mark.compat
def test_falco_validation_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import compat_path

    compat_path("testing-repo-9a9c867", "expected_legacy_tests.json")
    assert len(RECORDS) == 39
    failing = [r["test"] for r in RECORDS if check_record(r, _load(r))]
    with capsys.disabled():
        print(f"\nFalco validation records passing: {len(RECORDS) - len(failing)}/{len(RECORDS)}")
    assert not failing
