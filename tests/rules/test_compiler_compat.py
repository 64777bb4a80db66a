"""Every syscall rule of Falco's default rulesets compiles against the real field registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lanner.fields.catalog import default_registry
from lanner.rules.ast import Node
from lanner.rules.compiler import compile_condition
from lanner.rules.errors import ConditionError
from lanner.rules.macros import resolve_macros
from lanner.rules.parser import parse_condition
from tests.conftest import compat_path
from tests.rules.test_parser_compat import load_rules_yaml, substitute_lists

pytestmark = pytest.mark.compat


def _event_types() -> frozenset[str]:
    table = pytest.importorskip("lanner.events.table")
    names: frozenset[str] = table.event_type_names()
    return names


def _compile_rulesets(paths: list[Path]) -> tuple[int, list[str], list[frozenset[str] | None]]:
    """Compile the rules of ``paths`` loaded together, in order, as Falco would."""
    docs: list[dict[str, Any]] = []
    for path in paths:
        docs += load_rules_yaml(path)
    lists: dict[str, list[Any]] = {}
    for doc in docs:
        if "list" in doc and isinstance(doc.get("items"), list):
            # A list may name earlier lists among its items.
            items: list[Any] = []
            for item in doc["items"]:
                items += lists.get(str(item), [item])
            lists[doc["list"]] = items
    macros: dict[str, Node] = {}
    for doc in docs:
        if "macro" in doc and isinstance(doc.get("condition"), str):
            macros[doc["macro"]] = parse_condition(substitute_lists(doc["condition"], lists))
    registry, event_types = default_registry(), _event_types()
    count = 0
    failures: list[str] = []
    evttypes: list[frozenset[str] | None] = []
    for doc in docs:
        if "rule" not in doc or not isinstance(doc.get("condition"), str):
            continue
        if doc.get("source", "syscall") != "syscall":
            continue
        count += 1
        try:
            node = resolve_macros(
                parse_condition(substitute_lists(doc["condition"], lists)), macros
            )
            result = compile_condition(node, registry, event_types=event_types)
        except ConditionError as err:
            failures.append(f"{doc['rule']}: {err}")
            continue
        assert isinstance(result.fn, type(lambda: None))
        evttypes.append(result.evttypes)
    return count, failures, evttypes


@pytest.mark.parametrize(
    "files",
    [
        ["falcosecurity-rules-c72713e/falco_rules.yaml"],
        [
            "falcosecurity-rules-c72713e/falco_rules.yaml",
            "falcosecurity-rules-c72713e/falco-incubating_rules.yaml",
            "falcosecurity-rules-c72713e/falco-sandbox_rules.yaml",
        ],
        ["falco-rules-1.0.1/falco_rules.yaml"],
    ],
)
def test_default_rulesets_compile(files: list[str]) -> None:
    paths = [compat_path("rules", *name.split("/")) for name in files]
    count, failures, evttypes = _compile_rulesets(paths)
    assert count >= 25
    assert failures == []
    # Falco's own rules are written to be indexable: nearly all have a small type set.
    indexed = [types for types in evttypes if types is not None and len(types) <= 100]
    assert len(indexed) >= 0.9 * len(evttypes)
