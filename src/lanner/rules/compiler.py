"""Compile a condition tree to one Python function, once, at load time.

The hot path is the generated function: a single boolean expression over the event, with
every field's extractor bound in advance (``registry.resolve`` + ``check_arg`` +
``FieldInfo.bind``), right-hand values converted to the field's Python type, the common
operators written inline and the rest calling prepared predicates. ``and``/``or``
short-circuit as Python's do. A field used several times is extracted once per evaluation
when the first use is certain to run before the others (it is then kept in a local);
otherwise it is extracted again, which is always correct.

Missing values: an extractor returning None makes every comparison false, ``!=`` included;
only ``not`` turns that into true, and ``exists`` tests exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lanner.fields.registry import FieldRegistry, FieldType, check_arg
from lanner.rules import compiler_ops as ops
from lanner.rules.ast import (
    And,
    BinaryCheck,
    FieldRef,
    Lhs,
    ListValue,
    MacroRef,
    Node,
    Not,
    Operand,
    Or,
    Transformer,
    UnaryCheck,
    ValRef,
    Value,
)
from lanner.rules.errors import ConditionCompileError
from lanner.rules.evttypes import condition_evttypes, is_evttype_field
from lanner.rules.printer import format_condition

Extract = Callable[[Any], Any]


@dataclass(frozen=True)
class CompiledCondition:
    """A condition ready to run."""

    fn: Callable[[Any], bool]
    """``fn(event) -> bool``."""
    evttypes: frozenset[str] | None
    """Event type names the condition can match; None when it may match any type."""
    fields: frozenset[str]
    """Registered names of the fields the condition reads."""
    source: str
    """The generated Python source, for debugging."""


def compile_condition(
    node: Node, registry: FieldRegistry, *, event_types: frozenset[str]
) -> CompiledCondition:
    """Compile ``node`` (macros already resolved) against ``registry``.

    ``event_types`` is every name ``evt.type`` can take: ``evt.type`` values are checked
    against it and the condition's event types are computed within it (when it is empty,
    neither happens and ``evttypes`` is None).
    Raises ConditionCompileError for an unknown field, a bad argument or value, an operator
    the field's type does not allow, an invalid regex, an unknown event type, or a macro
    left unresolved.
    """
    generator = _Generator(registry, event_types)
    try:
        expression, _defined = generator.node(node, frozenset())
        header = [_comment(format_condition(node))]
    except RecursionError:
        raise ConditionCompileError("condition is too deeply nested to compile") from None
    header += [_comment(f"{name} = {what}") for name, what in generator.comments]
    source = "\n".join([*header, "def condition(e):", f"    return {expression}", ""])
    namespace: dict[str, Any] = dict(generator.namespace)
    try:
        code = compile(source, "<condition>", "exec")
    except (RecursionError, MemoryError, SyntaxError):
        raise ConditionCompileError("condition is too deeply nested to compile") from None
    exec(code, namespace)
    evttypes: frozenset[str] | None = None
    if event_types:
        found = condition_evttypes(node, event_types)
        evttypes = None if found == event_types else found
    return CompiledCondition(
        fn=namespace["condition"],
        evttypes=evttypes,
        fields=frozenset(generator.fields),
        source=source,
    )


def _comment(text: str) -> str:
    """A one-line comment for the generated source, whatever ``text`` holds."""
    return "# " + text.encode("unicode_escape").decode("ascii")[:2000]


@dataclass(frozen=True)
class _Bound:
    """A left-hand side ready to read: the name of its extractor in the namespace."""

    func: str
    var: str
    ftype: FieldType
    shape: str  # "scalar", "list" (fd.types), "any" (ancestors: proc.aname), "ports" (fd.port)
    display: str


class _Generator:
    def __init__(self, registry: FieldRegistry, event_types: frozenset[str]) -> None:
        self.registry = registry
        self.event_types = event_types
        self.namespace: dict[str, Any] = {}
        self.comments: list[tuple[str, str]] = []
        self.fields: set[str] = set()
        self.bound: dict[Lhs, _Bound] = {}
        self.temp_count = 0

    # -- boolean structure -----------------------------------------------------------

    def node(self, node: Node, defined: frozenset[Lhs]) -> tuple[str, frozenset[Lhs]]:
        """Python expression for ``node``, and the left-hand sides certainly extracted
        (held in their local) once it has run."""
        if isinstance(node, And | Or):
            joiner = " and " if isinstance(node, And) else " or "
            parts: list[str] = []
            current = defined
            after_first = defined
            for index, child in enumerate(node.children):
                code, current = self.node(child, current)
                parts.append(f"({code})")
                if index == 0:
                    after_first = current
            # Only the first child always runs: later ones may be short-circuited.
            return joiner.join(parts), after_first
        if isinstance(node, Not):
            code, after = self.node(node.child, defined)
            return f"not ({code})", after
        if isinstance(node, MacroRef):
            raise ConditionCompileError(f"Undefined macro '{node.name}' used in filter.", node.pos)
        if isinstance(node, UnaryCheck):
            lhs = self.bind(node.lhs)
            first = self.first_use(node.lhs, lhs, defined)
            return f"{first} is not None", defined | {node.lhs}
        if isinstance(node, BinaryCheck):
            try:
                return self.check(node, defined), defined | {node.lhs}
            except ConditionCompileError as err:
                if err.pos is None:
                    raise ConditionCompileError(err.message, node.pos) from None
                raise
        raise TypeError(f"not a condition node: {node!r}")

    def first_use(self, key: Lhs, lhs: _Bound, defined: frozenset[Lhs]) -> str:
        if key in defined:
            return lhs.var
        return f"({lhs.var} := {lhs.func}(e))"

    def constant(self, prefix: str, value: Any, what: str = "") -> str:
        name = f"_{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        if what:
            self.comments.append((name, what))
        return name

    # -- left-hand sides -------------------------------------------------------------

    def bind(self, lhs: Operand) -> _Bound:
        if isinstance(lhs, Value):
            raise ConditionCompileError(
                f"a literal value cannot be used as a field: '{lhs.text}'", lhs.pos
            )
        cached = self.bound.get(lhs)
        if cached is not None:
            return cached
        if isinstance(lhs, FieldRef):
            extract, ftype, shape, display = self.bind_field(lhs)
        else:
            extract, ftype, shape, display = self.bind_transformer(lhs)
        func = self.constant("f", extract, display)
        bound = _Bound(func, f"v{len(self.bound)}", ftype, shape, display)
        self.bound[lhs] = bound
        return bound

    def bind_field(self, ref: FieldRef) -> tuple[Extract, FieldType, str, str]:
        found = self.registry.resolve(ref.name, ref.arg)
        if found is None:
            raise ConditionCompileError(
                f"filter_check called with nonexistent field {ref.name}", ref.pos
            )
        info, arg = found
        problem = check_arg(info, arg)
        if problem is not None:
            raise ConditionCompileError(problem, ref.pos)
        self.fields.add(info.name)
        shape = "scalar"
        if info.either_port:
            shape = "ports"
        elif arg is None and info.any_without_arg:
            shape = "any"
        elif arg is None and info.is_list:
            shape = "list"
        display = ref.name if ref.arg is None else f"{ref.name}[{ref.arg}]"
        return info.bind(arg), info.type, shape, display

    def bind_transformer(self, node: Transformer) -> tuple[Extract, FieldType, str, str]:
        name = node.name
        if name not in ops.STRING_TRANSFORMERS and name != "len":
            raise ConditionCompileError(f"transformer '{name}' is not supported", node.pos)
        if len(node.args) != 1:
            raise ConditionCompileError(f"transformer '{name}' takes exactly one field", node.pos)
        inner = self.bind(node.args[0])
        inner_extract: Extract = self.namespace[inner.func]
        display = f"{name}({inner.display})"
        if name == "len":
            if inner.ftype not in (FieldType.STRING, FieldType.BYTES) and inner.shape == "scalar":
                raise ConditionCompileError(
                    f"transformer 'len' needs a string, buffer or list field, "
                    f"{inner.display} is {inner.ftype.value}",
                    node.pos,
                )
            length = ops.length
            return (lambda e: length(inner_extract(e))), FieldType.INT, "scalar", display
        accepted = (FieldType.STRING, FieldType.BYTES) if name == "b64" else (FieldType.STRING,)
        if inner.ftype not in accepted:
            raise ConditionCompileError(
                f"transformer '{name}' needs a string field, {inner.display} is "
                f"{inner.ftype.value}",
                node.pos,
            )
        func = ops.STRING_TRANSFORMERS[name]
        apply = ops.map_scalar(func) if inner.shape == "scalar" else ops.map_each(func)
        return (lambda e: apply(inner_extract(e))), FieldType.STRING, inner.shape, display

    # -- checks ----------------------------------------------------------------------

    def check(self, node: BinaryCheck, defined: frozenset[Lhs]) -> str:
        lhs = self.bind(node.lhs)
        op = "=" if node.op == "==" else node.op
        self.check_operator(node, lhs, op)
        first = self.first_use(node.lhs, lhs, defined)
        x = lhs.var
        rhs = node.rhs
        if isinstance(rhs, ValRef | Transformer):
            return self.dynamic_check(node, lhs, op, first)
        items = self.rhs_items(node, op)
        if is_evttype_field(node.lhs) and self.event_types:
            for item in items:
                if item.text not in self.event_types:
                    raise ConditionCompileError(f"unknown event type {item.text}", item.pos)
        if lhs.shape == "ports":
            return self.ports_check(lhs, op, items, first)
        if op == "pmatch":
            values: tuple[Any, ...] = tuple(item.text for item in items)
        else:
            values = tuple(self.convert(item, lhs, op) for item in items)

        if node.modifier is not None:
            predicates = [ops.make_predicate(op, lhs.ftype, value) for value in values]
            combined = self.constant("p", ops.combine_modifier(node.modifier, predicates))
            return self.apply_predicate(lhs, first, combined)
        if lhs.shape == "list":
            members = self.constant("k", frozenset(values))
            test = f"{members}.issuperset({x})" if op == "in" else f"not {members}.isdisjoint({x})"
            return f"({first} is not None and {test})"
        if lhs.shape == "any" and lhs.ftype not in ops.IP_TYPES and op in ("=", "in", "intersects"):
            # Any ancestor equal to one of the values: a set test, no per-element call.
            members = self.constant("k", frozenset(values))
            return f"({first} is not None and not {members}.isdisjoint({x}))"
        if lhs.ftype in ops.IP_TYPES or lhs.shape == "any":
            value = values if op in ops.LIST_OPS else values[0]
            predicate = self.constant("p", ops.make_predicate(op, lhs.ftype, value))
            return self.apply_predicate(lhs, first, predicate)
        return self.scalar_check(lhs, op, values, first)

    def ports_check(self, lhs: _Bound, op: str, items: tuple[Value, ...], first: str) -> str:
        """fd.port / fd.proto: both ends' ports (libsinsp's compare_port): either end for
        =, in and the orderings; neither end equal for !=."""
        try:
            values = tuple(ops.port_value(item.text, lhs.display) for item in items)
        except ConditionCompileError as err:
            raise ConditionCompileError(err.message, items[0].pos) from None
        x = lhs.var
        if op in ("=", "in"):
            members = self.constant("k", frozenset(values))
            return f"({first} is not None and not {members}.isdisjoint({x}))"
        k = self.constant("k", values[0], repr(values[0]))
        if op == "!=":
            return f"({first} is not None and {k} not in {x})"
        return f"({first} is not None and any(v {op} {k} for v in {x}))"

    def check_operator(self, node: BinaryCheck, lhs: _Bound, op: str) -> None:
        allowed: frozenset[str]
        if lhs.shape == "ports":
            allowed, what = ops.PORT_OPS, lhs.display
            hint = " (unsupported port comparison operator)"
        elif lhs.shape == "list":
            allowed, what = ops.LIST_FIELD_OPS, f"list field {lhs.display}"
            hint = " (use in, intersects or exists)"
        else:
            allowed, what = ops.ALLOWED_OPS[lhs.ftype], f"field {lhs.display}"
            hint = f" of type {lhs.ftype.value}"
        if op not in allowed:
            raise ConditionCompileError(
                f"operator '{node.op}' is not supported for {what}{hint}", node.pos
            )

    def rhs_items(self, node: BinaryCheck, op: str) -> tuple[Value, ...]:
        rhs = node.rhs
        if isinstance(rhs, ListValue):
            if op not in ops.LIST_OPS and node.modifier is None:
                raise ConditionCompileError(
                    f"operator '{node.op}' takes a single value, not a list", rhs.pos
                )
            return rhs.items
        if isinstance(rhs, Value):
            if node.modifier is not None:
                raise ConditionCompileError(
                    f"'{node.op} {node.modifier}' takes a list of values", rhs.pos
                )
            return (rhs,)
        raise TypeError(f"not a value: {rhs!r}")

    def convert(self, item: Value, lhs: _Bound, op: str) -> Any:
        try:
            return ops.convert_value(item.text, lhs.ftype, lhs.display, op)
        except ConditionCompileError as err:
            raise ConditionCompileError(err.message, item.pos) from None

    def scalar_check(self, lhs: _Bound, op: str, values: tuple[Any, ...], first: str) -> str:
        x = lhs.var
        if op == "=":
            return f"{first} == {self.constant('k', values[0], repr(values[0]))}"
        if op in ("in", "intersects"):
            return f"{first} in {self.constant('k', frozenset(values))}"
        k = self.constant("k", values[0], repr(values[0]))
        inline = {
            "!=": f"{x} != {k}",
            "<": f"{x} < {k}",
            "<=": f"{x} <= {k}",
            ">": f"{x} > {k}",
            ">=": f"{x} >= {k}",
            "contains": f"{k} in {x}",
            "bcontains": f"{k} in {x}",
            "startswith": f"{x}.startswith({k})",
            "bstartswith": f"{x}.startswith({k})",
            "endswith": f"{x}.endswith({k})",
        }.get(op)
        if inline is not None:
            return f"({first} is not None and {inline})"
        if op == "icontains":
            lowered = self.constant("k", values[0].lower(), repr(values[0].lower()))
            return f"({first} is not None and {lowered} in {x}.lower())"
        value = values if op in ops.LIST_OPS else values[0]
        predicate = self.constant("p", ops.make_predicate(op, lhs.ftype, value))
        return f"({first} is not None and {predicate}({x}))"

    def apply_predicate(self, lhs: _Bound, first: str, predicate: str) -> str:
        if lhs.shape == "any":
            helper = self.constant("h", ops.any_element)
            return f"({first} is not None and {helper}({predicate}, {lhs.var}))"
        return f"({first} is not None and {predicate}({lhs.var}))"

    def dynamic_check(self, node: BinaryCheck, lhs: _Bound, op: str, first: str) -> str:
        rhs = node.rhs
        assert isinstance(rhs, ValRef | Transformer)
        if lhs.shape != "scalar":
            raise ConditionCompileError(
                f"{lhs.display} holds several values and cannot be compared with a field",
                node.pos,
            )
        other = self.bind(rhs.field if isinstance(rhs, ValRef) else rhs)
        compare = self.constant("c", ops.make_dynamic(op, lhs.ftype, lhs.display))
        self.temp_count += 1
        y = f"w{self.temp_count}"
        return (
            f"({first} is not None and ({y} := {other.func}(e)) is not None"
            f" and {compare}({lhs.var}, {y}))"
        )
