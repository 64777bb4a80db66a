"""Which event types can a condition match? (the basis of the ruleset's per-type index)

Same analysis as libsinsp's ``ppm_event_codes``, done on names instead of codes:

* ``and`` intersects its children's sets, ``or`` unites them;
* ``evt.type = X``, ``evt.type == X`` and ``evt.type in (...)`` give their names,
  ``evt.type != X`` every name but X;
* ``not`` is pushed down to the leaves (De Morgan): under a negation ``and`` unites, ``or``
  intersects, and an ``evt.type`` leaf gives the complement of its set;
* every other check is neutral: it may hold for any type, negated or not;
* ``evt.type exists`` holds for every type, so ``not evt.type exists`` for none.

A condition over no ``evt.type`` check thus matches every type, and one that negates an
``evt.type`` check (``not evt.type = open``) almost every type: the loader warns about both.
"""

from __future__ import annotations

from lanner.rules.ast import (
    And,
    BinaryCheck,
    FieldRef,
    ListValue,
    MacroRef,
    Node,
    Not,
    Or,
    UnaryCheck,
    Value,
)

EVTTYPE_OPERATORS = frozenset({"=", "==", "!=", "in"})


def condition_evttypes(node: Node, all_types: frozenset[str]) -> frozenset[str]:
    """The event type names for which ``node`` can be true, out of ``all_types``."""
    return _Analysis(all_types).visit(node, negated=False)


def is_evttype_field(lhs: object) -> bool:
    """True for a plain ``evt.type`` (no argument, no transformer)."""
    return isinstance(lhs, FieldRef) and lhs.name == "evt.type" and lhs.arg is None


def evttype_names(rhs: object) -> tuple[str, ...] | None:
    """The literal names on the right of an ``evt.type`` check, None if not literals."""
    if isinstance(rhs, Value):
        return (rhs.text,)
    if isinstance(rhs, ListValue):
        return tuple(item.text for item in rhs.items)
    return None


class _Analysis:
    def __init__(self, all_types: frozenset[str]) -> None:
        self.all = all_types

    def visit(self, node: Node, negated: bool) -> frozenset[str]:
        if isinstance(node, Not):
            return self.visit(node.child, not negated)
        if isinstance(node, And | Or):
            # Under a negation, De Morgan swaps the two connectives.
            unite = isinstance(node, Or) != negated
            sets = [self.visit(child, negated) for child in node.children]
            if unite:
                return frozenset().union(*sets)
            result = self.all
            for found in sets:
                result = result & found
            return result
        if isinstance(node, UnaryCheck):
            if is_evttype_field(node.lhs) and node.op == "exists":
                return frozenset() if negated else self.all
            return self.all
        if isinstance(node, BinaryCheck):
            return self.binary(node, negated)
        if isinstance(node, MacroRef):
            return self.all  # unresolved macro: nothing known, neutral
        raise TypeError(f"not a condition node: {node!r}")

    def binary(self, node: BinaryCheck, negated: bool) -> frozenset[str]:
        if node.op not in EVTTYPE_OPERATORS or node.modifier is not None:
            return self.all
        if not is_evttype_field(node.lhs):
            return self.all
        names = evttype_names(node.rhs)
        if names is None:
            # evt.type compared with another field: libsinsp refuses it; we stay neutral.
            return self.all
        found = self.all & frozenset(names)
        if negated != (node.op == "!="):
            return self.all - found
        return found
