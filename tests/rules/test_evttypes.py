"""Event-type analysis: the sets Falco's ppm_event_codes would give."""

from __future__ import annotations

import pytest

from lanner.rules.evttypes import condition_evttypes
from lanner.rules.parser import parse_condition
from tests.conftest import compat_path
from tests.rules.test_parser_compat import load_rules_yaml

ALL = frozenset(f"type{i}" for i in range(150)) | {"open", "openat", "execve", "connect"}


def types(text: str) -> frozenset[str]:
    return condition_evttypes(parse_condition(text), ALL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("evt.type = open", {"open"}),
        ("evt.type == open", {"open"}),
        ("evt.type in (open, openat)", {"open", "openat"}),
        ("evt.type = open and proc.name = cat", {"open"}),
        ("evt.type in (open, openat) and evt.type = open", {"open"}),
        ("evt.type = open or evt.type = execve", {"open", "execve"}),
        ("evt.type = open and evt.type = execve", set()),
        ("not evt.type != open", {"open"}),
        ("not (evt.type != open or evt.type != openat)", set()),
        ("not (evt.type != open and evt.type != openat)", {"open", "openat"}),
        ("not evt.type exists", set()),
        ("not not evt.type = open", {"open"}),
        ("not (not evt.type = open)", {"open"}),
        ("evt.type = open and not proc.name = cat", {"open"}),
    ],
)
def test_exact_sets(text: str, expected: set[str]) -> None:
    assert types(text) == expected


@pytest.mark.parametrize(
    ("text", "excluded"),
    [
        ("evt.type != open", {"open"}),
        ("not evt.type = open", {"open"}),
        ("not evt.type in (open, execve)", {"open", "execve"}),
        ("proc.name = cat", set()),
        ("not proc.name = cat", set()),
        ("evt.type exists", set()),
        ("evt.type startswith open", set()),
        ("evt.type = val(proc.name)", set()),
        ("tolower(evt.type) = open", set()),
        ("evt.arg[0] = open", set()),
        ("some_macro", set()),
        ("evt.type = open or proc.name = cat", set()),
    ],
)
def test_complements_and_neutral_checks(text: str, excluded: set[str]) -> None:
    assert types(text) == ALL - excluded


def test_names_outside_the_universe_are_dropped() -> None:
    assert types("evt.type in (open, nosuch)") == {"open"}


TOO_MANY = {
    "no_evttype",
    "evttype_not_equals",
    "leading_not",
    "not_equals_at_end",
    "not_at_end",
    "not_equals_and_not",
    "leading_in_not_equals_at_evttype",
    "not_with_evttypes",
    "not_with_evttypes_addl",
}


@pytest.mark.compat
def test_falco_rules_warnings_file_flags_exactly_the_expected_rules() -> None:
    path = compat_path("testing-repo-9a9c867", "rules", "falco", "falco_rules_warnings.yaml")
    docs = load_rules_yaml(path)
    flagged = set()
    rules = [doc for doc in docs if "rule" in doc]
    assert len(rules) == 31
    for doc in rules:
        found = condition_evttypes(parse_condition(doc["condition"]), ALL)
        if len(found) > 100:
            flagged.add(doc["rule"])
        else:
            assert found, doc["rule"]
    assert flagged == TOO_MANY
