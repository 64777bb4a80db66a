"""Definitions the loader collects from rules files, before anything is compiled.

One record per list, macro and rule name. A redefinition replaces the record but keeps its
``index`` (its place in load order); ``visibility`` is the load counter at the latest
(re)definition: a macro or list sees the macros or lists whose ``index`` is smaller than
its own ``visibility`` (Falco's rule: things defined before it), a rule sees everything.

Conditions may be assembled from several files by appends; ``pieces`` remembers where each
piece of the text came from so an error offset can be traced back to a file position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lanner.rules.exceptions import ExceptionSpec
from lanner.rules.loader_text import TextPiece
from lanner.rules.results import ItemType, Location
from lanner.rules.ruleset import Priority
from lanner.rules.yamlio import Mark

RULE_KEYS = frozenset(
    {
        "rule",
        "condition",
        "output",
        "desc",
        "priority",
        "source",
        "enabled",
        "capture",
        "capture_duration",
        "warn_evttypes",
        "skip-if-unknown-filter",
        "tags",
        "exceptions",
        "override",
        "append",
    }
)
LIST_KEYS = frozenset({"list", "items", "append", "override"})
MACRO_KEYS = frozenset({"macro", "condition", "append", "override"})
EXCEPTION_KEYS = frozenset({"name", "fields", "comps", "values"})

RULE_APPENDABLE = frozenset({"condition", "output", "desc", "tags", "exceptions"})
RULE_REPLACEABLE = frozenset(
    {
        "condition",
        "output",
        "desc",
        "priority",
        "capture",
        "capture_duration",
        "tags",
        "exceptions",
        "enabled",
        "warn_evttypes",
        "skip-if-unknown-filter",
    }
)


@dataclass
class Condition:
    """A condition's text and where its pieces come from."""

    text: str
    pieces: list[TextPiece] = field(default_factory=list)

    @classmethod
    def from_yaml(cls, text: str, file: str, mark: Mark) -> Condition:
        return cls(text, [TextPiece(0, file, mark)])

    def appended(self, other: Condition) -> Condition:
        """Falco's append: the two texts joined by one blank."""
        shift = len(self.text) + 1
        pieces = self.pieces + [TextPiece(p.start + shift, p.file, p.mark) for p in other.pieces]
        return Condition(f"{self.text} {other.text}", pieces)

    def piece_at(self, offset: int) -> tuple[TextPiece, int] | None:
        """The piece holding ``offset`` and the offset inside that piece."""
        found = None
        for piece in self.pieces:
            if piece.start <= offset:
                found = piece
        if found is None:
            return None
        return found, offset - found.start


@dataclass
class ListInfo:
    name: str
    items: list[str]
    location: Location
    index: int
    visibility: int
    used: bool = False


@dataclass
class MacroInfo:
    name: str
    condition: Condition
    location: Location
    index: int
    visibility: int
    used: bool = False


@dataclass
class RuleInfo:
    name: str
    location: Location
    index: int
    condition: Condition
    output: str
    desc: str
    priority: Priority
    source: str = "syscall"
    source_explicit: bool = False
    enabled: bool = True
    tags: list[str] = field(default_factory=list)
    exceptions: list[ExceptionSpec] = field(default_factory=list)
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False
    capture: bool = False
    capture_duration: int = 0
    unknown_source: bool = False
    output_location: Location | None = None


@dataclass
class RequiredPlugin:
    """One entry of ``required_plugin_versions`` (checked against loaded plugins, if any)."""

    name: str
    version: str
    alternatives: list[tuple[str, str]] = field(default_factory=list)


def location(item_type: ItemType, name: str, file: str, mark: Mark | None) -> Location:
    if mark is None:
        return Location(item_type, name, file)
    return Location(item_type, name, file, mark.line, mark.col, mark.offset)


def yaml_scalar_text(value: Any) -> str:
    """A YAML scalar as Falco's yaml-cpp would hand it over as a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
