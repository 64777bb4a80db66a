"""Compiling collected definitions: lists flattened, macros parsed and resolved with their
visibility, rules rewritten (exceptions, lists), parsed, resolved, compiled, their outputs
compiled, their event types checked.

The first error stops the compile (as in Falco: one error is reported, not a cascade);
warnings accumulate. Parses are cached by text, so compiling again after each file of a
multi-file load only parses what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lanner.fields.registry import FieldRegistry
from lanner.rules.ast import MacroRef, Node, iter_nodes
from lanner.rules.compiler import CompiledCondition, compile_condition
from lanner.rules.errors import ConditionError, ConditionSyntaxError
from lanner.rules.exceptions import ExceptionSpecError, apply_exceptions
from lanner.rules.loader_items import Condition, ListInfo, MacroInfo, RuleInfo
from lanner.rules.loader_reader import Collector
from lanner.rules.loader_text import ChainedOffsets, OffsetMap, locate, snippet, substitute_lists
from lanner.rules.macros import resolve_macros
from lanner.rules.output import OutputFormatError, compile_output
from lanner.rules.parser import parse_condition
from lanner.rules.results import ItemType, LoadCode, LoadMessage, Location, RuleLoadError
from lanner.rules.ruleset import CompiledRule

MAX_EVTTYPES = 100
NO_EVTTYPE_MESSAGE = (
    "Rule matches too many evt.type values. This has a significant performance penalty."
)
_CONTAINER_INFO = "%container.info"
_UNKNOWN_MARKERS = (
    "nonexistent field",
    "invalid formatting token",
    "unknown event type",
    "unknown filter:",
)


def is_unknown_filter_error(message: str) -> bool:
    """The errors ``skip-if-unknown-filter: true`` turns into a skipped rule."""
    return any(marker in message for marker in _UNKNOWN_MARKERS)


@dataclass
class CompileOutput:
    rules: list[CompiledRule] = field(default_factory=list)


class Compiler:
    """Compiles a :class:`Collector` state; keeps caches across calls."""

    def __init__(
        self,
        registry: FieldRegistry,
        event_types: frozenset[str],
        sources_text: Callable[[str], str | None],
    ) -> None:
        self.registry = registry
        self.event_types = event_types
        self.sources_text = sources_text
        self._parsed: dict[str, Node | ConditionError] = {}
        self._compiled: dict[Node, CompiledCondition] = {}

    # error helpers ------------------------------------------------------------------------

    def _place(
        self, condition: Condition, offsets: OffsetMap | ChainedOffsets | None, pos: int | None
    ) -> tuple[str, int, int, int]:
        """File, line, col and offset of ``pos`` in a condition's expanded text."""
        first = condition.pieces[0] if condition.pieces else None
        if first is None:
            return "", 0, 0, 0
        if pos is None:
            return first.file, first.mark.line, first.mark.col, first.mark.offset
        original = offsets.to_old(pos) if offsets is not None else pos
        found = condition.piece_at(min(original, max(len(condition.text) - 1, 0)))
        if found is None:
            return first.file, first.mark.line, first.mark.col, first.mark.offset
        piece, inner = found
        next_starts = [p.start for p in condition.pieces if p.start > piece.start]
        end = next_starts[0] - 1 if next_starts else len(condition.text)
        value = condition.text[piece.start : end]
        line, col = locate(self.sources_text(piece.file), piece.mark, value, inner)
        return piece.file, line, col, piece.mark.offset

    def _condition_error(
        self,
        code: LoadCode,
        exc: ConditionError | str,
        *,
        owner: Location,
        condition: Condition,
        offsets: OffsetMap | ChainedOffsets | None,
        item_type: ItemType,
        pos: int | None = None,
    ) -> LoadMessage:
        message = exc if isinstance(exc, str) else exc.message
        if not isinstance(exc, str):
            pos = exc.pos
        file, line, col, offset = self._place(condition, offsets, pos)
        inner = Location(item_type, owner.item_name, file, line, col, offset)
        return LoadMessage(
            code, message, (owner, inner), snippet(self.sources_text(file), line, col)
        )

    def _plain_error(self, code: LoadCode, message: str, *locations: Location) -> LoadMessage:
        last = locations[-1]
        return LoadMessage(
            code, message, locations, snippet(self.sources_text(last.file), last.line, last.col)
        )

    # parsing --------------------------------------------------------------------------------

    def _parse(self, text: str) -> Node:
        cached = self._parsed.get(text)
        if cached is None:
            try:
                cached = parse_condition(text)
            except ConditionError as exc:
                cached = exc
            self._parsed[text] = cached
        if isinstance(cached, ConditionError):
            raise cached
        return cached

    # lists ----------------------------------------------------------------------------------

    def _flatten_lists(self, collector: Collector) -> dict[str, list[str]]:
        ordered = sorted(collector.lists.values(), key=lambda info: info.index)
        flat: dict[str, list[str]] = {}
        for info in ordered:
            info.used = False
        for info in ordered:
            items: list[str] = []
            for item in info.items:
                ref = collector.lists.get(item)
                if ref is not None and ref.index < info.visibility and item in flat:
                    items.extend(flat[item])
                    ref.used = True
                else:
                    items.append(item)
            flat[info.name] = items
        return flat

    # macros ---------------------------------------------------------------------------------

    def _macro_asts(
        self, collector: Collector, lists: list[tuple[str, list[str]]], used_lists: set[str]
    ) -> dict[str, tuple[Node, OffsetMap | ChainedOffsets | None]]:
        parsed: dict[str, tuple[Node, OffsetMap | ChainedOffsets | None]] = {}
        for info in sorted(collector.macros.values(), key=lambda m: m.index):
            info.used = False
            text, used, offsets = substitute_lists(info.condition.text, lists)
            used_lists.update(used)
            try:
                parsed[info.name] = (self._parse(text), offsets)
            except ConditionError as exc:
                raise RuleLoadError(
                    self._condition_error(
                        LoadCode.LOAD_ERR_COMPILE_CONDITION,
                        exc,
                        owner=info.location,
                        condition=info.condition,
                        offsets=offsets,
                        item_type=ItemType.MACRO_CONDITION,
                    )
                ) from None
        return parsed

    def _resolve_macros(
        self,
        collector: Collector,
        parsed: dict[str, tuple[Node, OffsetMap | ChainedOffsets | None]],
    ) -> dict[str, Node]:
        resolved: dict[str, Node] = {}
        in_progress: list[str] = []

        def resolve(info: MacroInfo) -> Node:
            done = resolved.get(info.name)
            if done is not None:
                return done
            node, offsets = parsed[info.name]
            in_progress.append(info.name)
            visible: dict[str, Node] = {}
            for sub in iter_nodes(node):
                if not isinstance(sub, MacroRef) or sub.name in visible:
                    continue
                ref = collector.macros.get(sub.name)
                if ref is None or ref.index >= info.visibility or ref.name in in_progress:
                    raise RuleLoadError(
                        self._condition_error(
                            LoadCode.LOAD_ERR_VALIDATE,
                            f"Undefined macro '{sub.name}' used in filter.",
                            owner=info.location,
                            condition=info.condition,
                            offsets=offsets,
                            item_type=ItemType.MACRO_CONDITION,
                            pos=sub.pos,
                        )
                    )
                ref.used = True
                visible[sub.name] = resolve(ref)
            result = resolve_macros(node, visible) if visible else node
            in_progress.pop()
            resolved[info.name] = result
            return result

        for info in sorted(collector.macros.values(), key=lambda m: m.index):
            resolve(info)
        return resolved

    # rules ------------------------------------------------------------------------------------

    def compile(
        self, collector: Collector, warn: Callable[[LoadMessage], None]
    ) -> list[CompiledRule]:
        flat = self._flatten_lists(collector)
        lists = [(name, flat[name]) for name in flat]
        used_lists: set[str] = set()
        parsed = self._macro_asts(collector, lists, used_lists)
        macros = self._resolve_macros(collector, parsed)
        compiled: list[CompiledRule] = []
        for info in sorted(collector.rules.values(), key=lambda r: r.index):
            if info.unknown_source:
                continue
            rule = self._compile_rule(
                info,
                collector=collector,
                lists=lists,
                used_lists=used_lists,
                macros=macros,
                warn=warn,
            )
            if rule is not None:
                compiled.append(rule)
        for name in used_lists:
            collector.lists[name].used = True
        self._warn_unused(collector, warn)
        return compiled

    def _compile_rule(
        self,
        info: RuleInfo,
        *,
        collector: Collector,
        lists: list[tuple[str, list[str]]],
        used_lists: set[str],
        macros: dict[str, Node],
        warn: Callable[[LoadMessage], None],
    ) -> CompiledRule | None:
        try:
            with_exceptions = apply_exceptions(info.condition.text, info.exceptions)
        except ExceptionSpecError as exc:
            bad = next((s for s in info.exceptions if _fails(s)), None)
            name = bad.name if bad is not None else ""
            where = Location(
                ItemType.EXCEPTION,
                name,
                info.location.file,
                bad.line if bad else info.location.line,
                bad.col if bad else info.location.col,
            )
            raise RuleLoadError(
                self._plain_error(LoadCode.LOAD_ERR_VALIDATE, str(exc), info.location, where)
            ) from None
        # Offsets past the original text (exceptions) map back to the condition's start.
        text, used, offsets = substitute_lists(with_exceptions, lists)
        used_lists.update(used)

        def error(code: LoadCode, exc: ConditionError | str, pos: int | None = None) -> LoadMessage:
            return self._condition_error(
                code,
                exc,
                owner=info.location,
                condition=info.condition,
                offsets=offsets,
                item_type=ItemType.RULE_CONDITION,
                pos=pos,
            )

        try:
            output = compile_output(self._output_text(info, warn), self.registry)
        except OutputFormatError as exc:
            where = info.output_location or info.location
            message = self._plain_error(
                LoadCode.LOAD_ERR_COMPILE_OUTPUT, exc.message, info.location, where
            )
            if info.skip_if_unknown_filter and is_unknown_filter_error(exc.message):
                warn(
                    LoadMessage(
                        LoadCode.LOAD_UNKNOWN_FILTER,
                        exc.message,
                        message.locations,
                        message.snippet,
                    )
                )
                return None
            raise RuleLoadError(message) from None
        try:
            node = self._parse(text)
        except ConditionError as exc:
            raise RuleLoadError(error(LoadCode.LOAD_ERR_COMPILE_CONDITION, exc)) from None
        refs: dict[str, Node] = {}
        for sub in iter_nodes(node):
            if isinstance(sub, MacroRef) and sub.name not in refs:
                if sub.name not in macros:
                    raise RuleLoadError(
                        error(
                            LoadCode.LOAD_ERR_VALIDATE,
                            f"Undefined macro '{sub.name}' used in filter.",
                            sub.pos,
                        )
                    )
                collector.macros[sub.name].used = True
                refs[sub.name] = macros[sub.name]
        resolved = resolve_macros(node, refs) if refs else node
        try:
            condition = self._compiled.get(resolved)
            if condition is None:
                condition = compile_condition(resolved, self.registry, event_types=self.event_types)
                self._compiled[resolved] = condition
        except ConditionError as exc:
            pos = exc.pos if _points_at_own_text(text, exc) else None
            if info.skip_if_unknown_filter and is_unknown_filter_error(exc.message):
                warn(error(LoadCode.LOAD_UNKNOWN_FILTER, exc.message, pos))
                return None
            raise RuleLoadError(
                error(LoadCode.LOAD_ERR_COMPILE_CONDITION, exc.message, pos)
            ) from None
        evttypes = condition.evttypes
        if (
            info.warn_evttypes
            and self.event_types
            and (evttypes is None or not evttypes or len(evttypes) > MAX_EVTTYPES)
        ):
            warn(LoadMessage(LoadCode.LOAD_NO_EVTTYPE, NO_EVTTYPE_MESSAGE, (info.location,)))
        exception_fields: set[str] = set()
        for spec in info.exceptions:
            if isinstance(spec.fields, list):
                exception_fields.update(spec.fields)
            elif spec.fields is not None:
                exception_fields.add(spec.fields)
        return CompiledRule(
            name=info.name,
            description=info.desc,
            priority=info.priority,
            source=info.source,
            tags=tuple(info.tags),
            condition_text=text,
            condition=condition,
            condition_node=resolved,
            output=output,
            enabled=info.enabled,
            index=info.index,
            file=info.location.file,
            line=info.location.line,
            exception_fields=frozenset(exception_fields),
            capture=info.capture,
            capture_duration=info.capture_duration,
        )

    def _output_text(self, info: RuleInfo, warn: Callable[[LoadMessage], None]) -> str:
        if _CONTAINER_INFO not in info.output:
            return info.output
        warn(
            LoadMessage(
                LoadCode.LOAD_DEPRECATED_ITEM,
                "%container.info is deprecated and expands to nothing; name the container "
                "fields you want in the output instead.",
                (info.location,),
            )
        )
        return info.output.replace(_CONTAINER_INFO, "")

    def _warn_unused(self, collector: Collector, warn: Callable[[LoadMessage], None]) -> None:
        for macro in sorted(collector.macros.values(), key=lambda m: m.index):
            if not macro.used:
                warn(
                    LoadMessage(
                        LoadCode.LOAD_UNUSED_MACRO,
                        "Macro not referred to by any other rule/macro",
                        (macro.location,),
                    )
                )
        for info in sorted(collector.lists.values(), key=lambda item: item.index):
            if not info.used:
                warn(
                    LoadMessage(
                        LoadCode.LOAD_UNUSED_LIST,
                        "List not referred to by any other rule/macro",
                        (info.location,),
                    )
                )


def _fails(spec: object) -> bool:
    from lanner.rules.exceptions import ExceptionSpec, exception_condition

    if not isinstance(spec, ExceptionSpec):
        return False
    try:
        exception_condition(spec)
    except ExceptionSpecError:
        return True
    return False


def _points_at_own_text(text: str, exc: ConditionError) -> bool:
    """Whether ``exc.pos`` points into the rule's own text and not into a macro's body
    substituted into it (positions inside a macro body are relative to the macro)."""
    if exc.pos is None or exc.pos >= len(text):
        return False
    if isinstance(exc, ConditionSyntaxError):
        return True
    last_word = exc.message.rsplit(" ", 1)[-1].strip("'\".")
    return bool(last_word) and text.startswith(last_word, exc.pos)


__all__ = ["Compiler", "ListInfo", "is_unknown_filter_error"]
