"""Macro substitution on trees: recursion, errors, loops."""

from __future__ import annotations

import pytest

from lanner.rules.ast import And, MacroRef, Node, Not, Or
from lanner.rules.errors import ConditionCompileError
from lanner.rules.macros import macro_refs, resolve_macros
from lanner.rules.parser import parse_condition


def _macros(**texts: str) -> dict[str, Node]:
    return {name: parse_condition(text) for name, text in texts.items()}


def test_macro_refs_lists_direct_references_only() -> None:
    node = parse_condition("a and not (b or proc.name = c) and a")
    assert macro_refs(node) == {"a", "b"}
    assert macro_refs(parse_condition("proc.name = a")) == set()


def test_resolution_is_recursive_and_keeps_structure() -> None:
    macros = _macros(spawned="evt.type = execve and inner", inner="proc.name = bash")
    resolved = resolve_macros(parse_condition("spawned or not inner"), macros)
    expected = parse_condition("(evt.type = execve and proc.name = bash) or not proc.name = bash")
    assert resolved == expected
    assert isinstance(resolved, Or)
    assert isinstance(resolved.children[0], And)
    assert isinstance(resolved.children[1], Not)
    assert macro_refs(resolved) == set()


def test_tree_without_macros_is_returned_unchanged() -> None:
    node = parse_condition("proc.name = a and not fd.name = b")
    assert resolve_macros(node, {}) is node


def test_undefined_macro_uses_falco_text_and_position() -> None:
    with pytest.raises(ConditionCompileError) as caught:
        resolve_macros(parse_condition("proc.name = a and  bar"), {})
    assert caught.value.message == "Undefined macro 'bar' used in filter."
    assert caught.value.pos == 19


def test_undefined_macro_inside_a_macro_is_reported() -> None:
    with pytest.raises(ConditionCompileError, match=r"Undefined macro 'foo' used in filter\."):
        resolve_macros(MacroRef("outer"), _macros(outer="proc.name = x or foo"))


@pytest.mark.parametrize(
    "macros",
    [
        {"a": "a"},
        {"a": "proc.name = x and b", "b": "not a"},
    ],
)
def test_macro_loops_are_errors(macros: dict[str, str]) -> None:
    with pytest.raises(ConditionCompileError, match=r"refers to itself: a -> .*a"):
        resolve_macros(MacroRef("a"), _macros(**macros))


def test_shared_macro_is_expanded_once_per_use() -> None:
    macros = _macros(leaf="proc.name = x", twice="leaf and leaf")
    resolved = resolve_macros(parse_condition("twice or leaf"), macros)
    assert resolved == parse_condition("(proc.name = x and proc.name = x) or proc.name = x")
