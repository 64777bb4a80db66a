"""Rule ``exceptions:`` — their validation and their rewriting into the rule's condition.

Falco turns exceptions into text appended to the condition before parsing::

    (COND) and not ((f1 = a and f2 in (b, c)) or (...)) and not (f3 in ("x y", z))

A list-form exception (``fields: [f1, f2]``) gives one parenthesised ``and`` group per
values tuple; a scalar-form one (``fields: f3``, ``comps: in``) gives one list comparison.
Values with a blank are double-quoted unless already quoted; a scalar value under a list
operator is wrapped in parentheses, which lets a list *name* stand as a value (lists are
expanded textually afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lanner.fields.registry import FieldRegistry

LIST_OPERATORS = ("in", "intersects", "pmatch")
COMPARISON_OPERATORS = (
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "contains",
    "icontains",
    "bcontains",
    "startswith",
    "bstartswith",
    "endswith",
    "glob",
    "iglob",
    "regex",
    *LIST_OPERATORS,
)
STRING_OP_MODIFIERS = ("oneof", "anyof", "allof")
EXCEPTION_KEYS_ORDER = ("fields", "comps", "values")

ExceptionValue = str | list[Any]
"""A values entry: a scalar (scalar form), or one item per field, each a scalar or a list."""


class ExceptionSpecError(Exception):
    """An exception definition is invalid; the message is Falco's wording."""


@dataclass
class ExceptionSpec:
    """One entry of a rule's ``exceptions:`` (fields/comps None when not given)."""

    name: str
    fields: str | list[str] | None = None
    comps: str | list[str] | None = None
    values: list[ExceptionValue] = field(default_factory=list)
    line: int = 0
    col: int = 0
    offset: int = 0


def is_list_operator(op: str) -> bool:
    return op in LIST_OPERATORS


def is_comparison_operator(op: str) -> bool:
    """``op`` is a binary operator, possibly followed by a list modifier (``= oneof``)."""
    words = op.split()
    if len(words) == 2 and words[1] in STRING_OP_MODIFIERS:
        return words[0] in COMPARISON_OPERATORS and words[0] not in LIST_OPERATORS
    return op in COMPARISON_OPERATORS


def _takes_list(op: str) -> bool:
    words = op.split()
    return is_list_operator(op) or (len(words) == 2 and words[1] in STRING_OP_MODIFIERS)


def _field_known(name: str, registry: FieldRegistry) -> bool:
    base, _, rest = name.partition("[")
    arg = rest[:-1] if rest.endswith("]") else None
    return registry.resolve(base, arg) is not None


def validate_exception(spec: ExceptionSpec, registry: FieldRegistry) -> None:
    """Fill default comps and check operators and fields; raise :class:`ExceptionSpecError`."""
    if spec.fields is None:
        raise ExceptionSpecError("Rule exception must have fields property with a list of fields")
    if isinstance(spec.fields, list):
        if spec.comps is None:
            spec.comps = ["="] * len(spec.fields)
        if not isinstance(spec.comps, list):
            raise ExceptionSpecError("Rule exception comps property must be a list of operators")
        if len(spec.fields) != len(spec.comps):
            raise ExceptionSpecError("Fields and comps lists must have equal length")
        for comp in spec.comps:
            if not is_comparison_operator(comp):
                raise ExceptionSpecError(f"'{comp}' is not a supported comparison operator")
        for name in spec.fields:
            if not _field_known(name, registry):
                raise ExceptionSpecError(f"'{name}' is not a supported filter field")
    else:
        if spec.comps is None:
            spec.comps = "in"
        if isinstance(spec.comps, list):
            raise ExceptionSpecError("Rule exception comps property must be a single value")
        if not _takes_list(spec.comps):
            raise ExceptionSpecError(
                "Rule exception comps property must be a list operator "
                "or a string operator with a modifier"
            )
        if not _field_known(spec.fields, registry):
            raise ExceptionSpecError(f"'{spec.fields}' is not a supported filter field")


def quote_value(text: str) -> str:
    """Double-quote a value holding a blank, unless it is already quoted."""
    if " " in text and not text.startswith(('"', "'")):
        return f'"{text}"'
    return text


def _paren_value(text: str) -> str:
    return text if text.startswith("(") else f"({text})"


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _value_list_text(values: list[Any]) -> str:
    return "(" + ", ".join(quote_value(_scalar_text(v)) for v in values) + ")"


def exception_condition(spec: ExceptionSpec) -> str:
    """The text one (validated) exception contributes after ``and not``, or ``""``."""
    if not spec.values:
        return ""
    if isinstance(spec.fields, list):
        comps = spec.comps if isinstance(spec.comps, list) else ["="] * len(spec.fields)
        groups = []
        for entry in spec.values:
            if not isinstance(entry, list) or len(entry) != len(spec.fields):
                raise ExceptionSpecError("Fields and values lists must have equal length")
            checks = []
            for name, comp, value in zip(spec.fields, comps, entry, strict=True):
                if isinstance(value, list):
                    rhs = _value_list_text(value)
                elif _takes_list(comp):
                    rhs = _paren_value(_scalar_text(value))
                else:
                    rhs = quote_value(_scalar_text(value))
                checks.append(f"{name} {comp} {rhs}")
            groups.append("(" + " and ".join(checks) + ")")
        return "(" + " or ".join(groups) + ")"
    comp = spec.comps if isinstance(spec.comps, str) else "in"
    for entry in spec.values:
        if isinstance(entry, list):
            raise ExceptionSpecError("Expected values array to contain a list of strings")
    return f"({spec.fields} {comp} {_value_list_text(spec.values)})"


def apply_exceptions(condition: str, specs: list[ExceptionSpec]) -> str:
    """``condition`` with every exception appended as ``and not (...)``."""
    if not specs:
        return condition
    # Falco parenthesises the condition as soon as the rule has exceptions, even empty ones.
    parts = [text for text in (exception_condition(spec) for spec in specs) if text]
    return f"({condition})" + "".join(f" and not {part}" for part in parts)
