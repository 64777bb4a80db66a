"""The compiled ruleset: rules in load order, indexed by event type, with Falco's
selection (enable/disable by name glob and by tag, minimum priority) and matching modes.

Each event visits only the rules whose condition can match its type (``event.type_name``),
plus the rules that match any type, in load order. ``rule_matching: first`` (Falco's
default) stops at the first rule that matches; ``all`` returns every match.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lanner.rules.compiler import CompiledCondition
    from lanner.rules.output import OutputFormat


class Priority(enum.IntEnum):
    """Falco priorities; the numbers are syslog severities (lower is more severe)."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def display(self) -> str:
        """The capitalised name Falco prints (``Warning``, ``Informational``)."""
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Priority | None:
        """Case-insensitive; ``info`` is accepted for ``informational``."""
        key = text.strip().upper()
        if key == "INFO":
            return cls.INFORMATIONAL
        return cls.__members__.get(key)


class RuleMatching(enum.Enum):
    FIRST = "first"
    ALL = "all"


@dataclass(eq=False)
class CompiledRule:
    """A rule ready to run. ``enabled`` is the rule file's own setting; the ruleset's
    selection decides what actually runs."""

    name: str
    description: str
    priority: Priority
    source: str
    tags: tuple[str, ...]
    condition_text: str
    condition: CompiledCondition
    output: OutputFormat
    enabled: bool = True
    index: int = 0
    file: str = ""
    line: int = 0
    exception_fields: frozenset[str] = frozenset()
    capture: bool = False
    capture_duration: int = 0
    condition_node: Any = None
    """The condition's AST with lists and macros resolved (format_condition prints it)."""
    matches: Callable[[Any], bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.matches = self.condition.fn

    @property
    def evttypes(self) -> frozenset[str] | None:
        """Event type names the condition can match; None means every type."""
        return self.condition.evttypes


@dataclass(frozen=True)
class Selection:
    """One entry of falco.yaml's ``rules:`` list: enable or disable by rule glob and/or tag."""

    enable: bool
    rule: str | None = None
    tag: str | None = None

    def applies_to(self, rule: CompiledRule) -> bool:
        if self.rule is not None and not fnmatch.fnmatchcase(rule.name, self.rule):
            return False
        return self.tag is None or self.tag in rule.tags


def parse_selections(entries: Iterable[Mapping[str, Any]]) -> list[Selection]:
    """Read falco.yaml ``rules:`` entries (``{enable: {rule: 'x*'}}``, ``{disable: {tag: t}}``)."""
    selections = []
    for entry in entries:
        if not isinstance(entry, Mapping) or len(entry) != 1:
            raise ValueError("each rules selection needs exactly one of 'enable' or 'disable'")
        ((action, spec),) = entry.items()
        if action not in ("enable", "disable") or not isinstance(spec, Mapping):
            raise ValueError(f"unknown rules selection {action!r}: use 'enable' or 'disable'")
        rule, tag = spec.get("rule"), spec.get("tag")
        if rule is None and tag is None:
            raise ValueError(f"rules selection '{action}' needs a 'rule' or a 'tag'")
        selections.append(
            Selection(
                action == "enable",
                None if rule is None else str(rule),
                None if tag is None else str(tag),
            )
        )
    return selections


class Ruleset:
    """Compiled rules, the current selection and the event-type index."""

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        *,
        rule_matching: RuleMatching | str = RuleMatching.FIRST,
        min_priority: Priority = Priority.DEBUG,
    ) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(sorted(rules, key=lambda r: r.index))
        self.rule_matching = RuleMatching(rule_matching)
        self.min_priority = min_priority
        self._selected: dict[str, bool] = {rule.name: rule.enabled for rule in self.rules}
        self.evaluation_errors = 0
        self._by_type: dict[str, tuple[CompiledRule, ...]] = {}
        self._any_type: tuple[CompiledRule, ...] = ()
        self._rebuild()

    # selection -------------------------------------------------------------------------

    def is_enabled(self, name: str) -> bool:
        """Selected and at or above the priority threshold."""
        for rule in self.rules:
            if rule.name == name:
                return self._runs(rule)
        return False

    def _runs(self, rule: CompiledRule) -> bool:
        return self._selected[rule.name] and rule.priority <= self.min_priority

    def enabled_rules(self) -> list[CompiledRule]:
        return [rule for rule in self.rules if self._runs(rule)]

    def apply(self, selections: Iterable[Selection]) -> None:
        """Apply falco.yaml-style selections in order (later entries win)."""
        for selection in selections:
            for rule in self.rules:
                if selection.applies_to(rule):
                    self._selected[rule.name] = selection.enable
        self._rebuild()

    def set_min_priority(self, priority: Priority) -> None:
        """Only rules at least as severe as ``priority`` run."""
        self.min_priority = priority
        self._rebuild()

    def enable_only_tags(self, tags: Iterable[str]) -> None:
        """Legacy ``-t``: run only the rules carrying one of ``tags``."""
        wanted = set(tags)
        for rule in self.rules:
            self._selected[rule.name] = bool(wanted.intersection(rule.tags))
        self._rebuild()

    def disable_tags(self, tags: Iterable[str]) -> None:
        """Legacy ``-T``: stop the rules carrying one of ``tags``."""
        unwanted = set(tags)
        for rule in self.rules:
            if unwanted.intersection(rule.tags):
                self._selected[rule.name] = False
        self._rebuild()

    def disable_rules(self, patterns: Iterable[str]) -> None:
        """Legacy ``-D``: stop rules whose name contains ``pattern`` (a glob when it has
        wildcard characters)."""
        for pattern in patterns:
            is_glob = any(char in pattern for char in "*?[")
            for rule in self.rules:
                if (is_glob and fnmatch.fnmatchcase(rule.name, pattern)) or (
                    not is_glob and pattern in rule.name
                ):
                    self._selected[rule.name] = False
        self._rebuild()

    # index and evaluation --------------------------------------------------------------

    def _rebuild(self) -> None:
        running = self.enabled_rules()
        self._any_type = tuple(rule for rule in running if rule.evttypes is None)
        names: set[str] = set()
        for rule in running:
            if rule.evttypes is not None:
                names.update(rule.evttypes)
        by_type: dict[str, list[CompiledRule]] = {name: [] for name in names}
        for rule in running:
            for name in names if rule.evttypes is None else rule.evttypes:
                by_type[name].append(rule)
        self._by_type = {name: tuple(rules) for name, rules in by_type.items()}

    def rules_for_type(self, type_name: str) -> tuple[CompiledRule, ...]:
        """The running rules an event of ``type_name`` visits, in load order."""
        return self._by_type.get(type_name, self._any_type)

    def needed_event_types(self) -> frozenset[str] | None:
        """Event type names the running rules need; None when some rule needs every type."""
        if self._any_type:
            return None
        return frozenset(name for name, rules in self._by_type.items() if rules)

    def typed_rules(self) -> dict[str, tuple[CompiledRule, ...]] | None:
        """The event-type index, for a caller that skips `run` for events no rule can
        match (their type is not a key); None when some rule matches every type."""
        if self._any_type:
            return None
        return self._by_type

    def run(self, event: Any, /) -> Sequence[CompiledRule]:
        """The rules ``event`` matches: the first one, or all with ``rule_matching: all``."""
        candidates = self._by_type.get(event.type_name, self._any_type)
        if not candidates:
            return ()
        if self.rule_matching is RuleMatching.FIRST:
            for rule in candidates:
                try:
                    if rule.matches(event):
                        return (rule,)
                except Exception:
                    # A broken extractor must not stop detection; count it (Falco logs it).
                    self.evaluation_errors += 1
            return ()
        matched = []
        for rule in candidates:
            try:
                if rule.matches(event):
                    matched.append(rule)
            except Exception:
                self.evaluation_errors += 1
        return tuple(matched)
