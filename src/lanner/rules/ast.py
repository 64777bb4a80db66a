"""The syntax tree of a rule condition.

Nodes are frozen dataclasses: hashable, compared by structure. Each node remembers the
offset where it starts in the condition text (``pos``) for error messages; ``pos`` takes no
part in equality, so the same condition parsed from differently spaced text compares equal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldRef:
    """A field, with its bracket argument if any: ``proc.aname[2]`` → ("proc.aname", "2")."""

    name: str
    arg: str | None = None
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Value:
    """A literal right-hand value. Numbers stay text until the compiler knows the type."""

    text: str
    quoted: bool = False
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Transformer:
    """A function applied to field values: ``tolower(proc.name)``, ``len(proc.args)``.

    Single-argument transformers hold one FieldRef or nested Transformer; the multi-argument
    ones (``join``, ``concat``, ``getopt``) may also hold literal values.
    """

    name: str
    args: tuple[Operand, ...]
    pos: int | None = field(default=None, compare=False)


Operand = FieldRef | Transformer | Value
"""What a transformer may take as argument."""


@dataclass(frozen=True)
class ListValue:
    """A parenthesised list of values: ``(bash, "my shell", zsh)``; may be empty."""

    items: tuple[Value, ...]
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ValRef:
    """``val(field)`` on the right-hand side: compare against another field's value."""

    field: FieldRef
    pos: int | None = dataclasses.field(default=None, compare=False)


Lhs = FieldRef | Transformer
Rhs = Value | ListValue | ValRef | Transformer


@dataclass(frozen=True)
class UnaryCheck:
    """``lhs exists``."""

    lhs: Lhs
    op: str
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class BinaryCheck:
    """``lhs op rhs``, ``op`` as written (``=``, ``in``, ``startswith`` ...).

    ``modifier`` is ``oneof``/``anyof``/``allof`` when a string operator takes a list.
    A bare identifier after a list operator (``proc.name in shells``) is kept as a Value.
    """

    lhs: Lhs
    op: str
    rhs: Rhs
    modifier: str | None = None
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class MacroRef:
    """A bare identifier: a macro to be substituted before compiling."""

    name: str
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Not:
    child: Node
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]
    pos: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    pos: int | None = field(default=None, compare=False)


Node = And | Or | Not | MacroRef | UnaryCheck | BinaryCheck
"""A boolean expression: what ``parse_condition`` returns."""

AnyNode = Node | FieldRef | Transformer | Value | ListValue | ValRef
"""Every kind of node, boolean or not."""


def children_of(node: AnyNode) -> tuple[AnyNode, ...]:
    """The direct sub-nodes of ``node``, in source order."""
    if isinstance(node, And | Or):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, UnaryCheck):
        return (node.lhs,)
    if isinstance(node, BinaryCheck):
        return (node.lhs, node.rhs)
    if isinstance(node, Transformer):
        return node.args
    if isinstance(node, ListValue):
        return node.items
    if isinstance(node, ValRef):
        return (node.field,)
    return ()


def iter_nodes(node: AnyNode) -> Iterator[AnyNode]:
    """Every node of the tree, parents before children, in source order.

    Iterative, so that very deep trees do not hit Python's recursion limit.
    """
    stack: list[AnyNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children_of(current)))
