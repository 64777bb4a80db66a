"""Macro substitution on condition trees.

As in Falco, a macro is substituted after parsing: every bare identifier (MacroRef) is
replaced by the macro's own tree, itself resolved first. Lists are not handled here: the
loader substitutes them as text before parsing.
"""

from __future__ import annotations

from collections.abc import Mapping

from lanner.rules.ast import And, BinaryCheck, MacroRef, Node, Not, Or, UnaryCheck, iter_nodes
from lanner.rules.errors import ConditionCompileError


def macro_refs(node: Node) -> set[str]:
    """Names of the macros ``node`` uses directly (not those used inside them)."""
    return {sub.name for sub in iter_nodes(node) if isinstance(sub, MacroRef)}


def resolve_macros(node: Node, macros: Mapping[str, Node]) -> Node:
    """``node`` with every macro reference replaced, recursively, by its definition.

    Raises ConditionCompileError for a macro that is not in ``macros`` (Falco's text)
    and for a macro that ends up referring to itself.
    """
    return _Resolver(macros).resolve(node)


class _Resolver:
    def __init__(self, macros: Mapping[str, Node]) -> None:
        self.macros = macros
        self.done: dict[str, Node] = {}
        self.in_progress: list[str] = []

    def resolve(self, node: Node) -> Node:
        if isinstance(node, MacroRef):
            return self.expand(node)
        if isinstance(node, And | Or):
            children = tuple(self.resolve(child) for child in node.children)
            if all(new is old for new, old in zip(children, node.children, strict=True)):
                return node
            return type(node)(children, node.pos)
        if isinstance(node, Not):
            child = self.resolve(node.child)
            return node if child is node.child else Not(child, node.pos)
        if isinstance(node, UnaryCheck | BinaryCheck):
            return node
        raise TypeError(f"not a condition node: {node!r}")

    def expand(self, ref: MacroRef) -> Node:
        name = ref.name
        if name in self.done:
            return self.done[name]
        if name in self.in_progress:
            cycle = [*self.in_progress[self.in_progress.index(name) :], name]
            raise ConditionCompileError(
                f"Macro '{name}' refers to itself: {' -> '.join(cycle)}", ref.pos
            )
        definition = self.macros.get(name)
        if definition is None:
            raise ConditionCompileError(f"Undefined macro '{name}' used in filter.", ref.pos)
        self.in_progress.append(name)
        resolved = self.resolve(definition)
        self.in_progress.pop()
        self.done[name] = resolved
        return resolved
