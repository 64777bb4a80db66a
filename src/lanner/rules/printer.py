"""Canonical text of a condition tree.

The output uses the fewest parentheses that keep the tree's shape, single spaces around
operators, and double quotes where a value cannot stay bare; parsing it gives back a tree
equal to the input (``parse_condition(format_condition(n)) == n``).
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
    Operand,
    Or,
    Rhs,
    Transformer,
    UnaryCheck,
    ValRef,
    Value,
)
from lanner.rules.parser import (
    BARE_STRING_RE,
    FIELD_ARG_BARE_RE,
    HEX_NUMBER_RE,
    IDENTIFIER_RE,
    NUMBER_RE,
    NUMERIC_OPERATORS,
)

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def quote(text: str) -> str:
    """``text`` as a double-quoted condition string."""
    return '"' + "".join(_ESCAPES.get(char, char) for char in text) + '"'


def format_condition(node: Node) -> str:
    """The canonical text of ``node``."""
    parts: list[str] = []
    _emit(node, parts)
    return "".join(parts)


def _emit(node: Node, parts: list[str]) -> None:
    if isinstance(node, Or):
        _emit_joined(node.children, " or ", (Or,), parts)
    elif isinstance(node, And):
        _emit_joined(node.children, " and ", (And, Or), parts)
    elif isinstance(node, Not):
        parts.append("not ")
        if isinstance(node.child, And | Or | Not):
            parts.append("(")
            _emit(node.child, parts)
            parts.append(")")
        else:
            _emit(node.child, parts)
    elif isinstance(node, MacroRef):
        parts.append(node.name)
    elif isinstance(node, UnaryCheck):
        parts.append(f"{format_operand(node.lhs)} {node.op}")
    else:
        parts.append(format_check(node))


def _emit_joined(
    children: tuple[Node, ...],
    separator: str,
    needs_parens: tuple[type[And] | type[Or], ...],
    parts: list[str],
) -> None:
    for index, child in enumerate(children):
        if index:
            parts.append(separator)
        if isinstance(child, needs_parens):
            parts.append("(")
            _emit(child, parts)
            parts.append(")")
        else:
            _emit(child, parts)


def format_check(node: BinaryCheck) -> str:
    lhs = format_operand(node.lhs)
    if node.modifier is not None:
        return f"{lhs} {node.op} {node.modifier} {_format_rhs(node.rhs, node.op)}"
    return f"{lhs} {node.op} {_format_rhs(node.rhs, node.op)}"


def format_operand(node: Operand) -> str:
    if isinstance(node, FieldRef):
        return format_field(node)
    if isinstance(node, Transformer):
        return f"{node.name}({', '.join(format_operand(arg) for arg in node.args)})"
    return format_value(node)


def format_field(node: FieldRef) -> str:
    if node.arg is None:
        return node.name
    if FIELD_ARG_BARE_RE.fullmatch(node.arg):
        return f"{node.name}[{node.arg}]"
    return f"{node.name}[{quote(node.arg)}]"


def format_value(node: Value) -> str:
    if node.quoted or not BARE_STRING_RE.fullmatch(node.text):
        return quote(node.text)
    return node.text


def _format_rhs(rhs: Rhs, op: str) -> str:
    if isinstance(rhs, ListValue):
        return "(" + ", ".join(format_value(item) for item in rhs.items) + ")"
    if isinstance(rhs, ValRef):
        return f"val({format_field(rhs.field)})"
    if isinstance(rhs, Transformer):
        return format_operand(rhs)
    is_number = HEX_NUMBER_RE.fullmatch(rhs.text) or NUMBER_RE.fullmatch(rhs.text)
    if op in NUMERIC_OPERATORS and not rhs.quoted and is_number:
        return rhs.text
    if op in ("in", "intersects", "pmatch") and not rhs.quoted:
        if IDENTIFIER_RE.fullmatch(rhs.text):
            return rhs.text
        return f"({format_value(rhs)})"
    return format_value(rhs)
