"""What loading rules files reports: Falco's result codes, item types and messages.

A load produces one :class:`FileResult` per file (Falco's ``-V`` reports per file), each with
errors and warnings. Codes and item types are Falco's own names so tools written against
``falco -V`` output keep working; messages match Falco's where its test corpus asserts them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class LoadCode(enum.Enum):
    """Falco's load result codes; the value is a short description of our own."""

    # errors
    LOAD_ERR_FILE_READ = "cannot read the file"
    LOAD_ERR_YAML_PARSE = "not valid YAML"
    LOAD_ERR_YAML_VALIDATE = "YAML does not have the rules file structure"
    LOAD_ERR_COMPILE_CONDITION = "condition does not compile"
    LOAD_ERR_VALIDATE = "invalid rule, macro, list or exception"
    LOAD_ERR_EXTENSION = "invalid extension item"
    LOAD_ERR_COMPILE_OUTPUT = "output format does not compile"
    # warnings
    LOAD_UNKNOWN_SOURCE = "unknown event source: rule skipped"
    LOAD_UNSAFE_NA_CHECK = "comparison with <NA> is unreliable"
    LOAD_NO_EVTTYPE = "condition does not narrow event types"
    LOAD_UNKNOWN_FILTER = "unknown field or event type: rule skipped"
    LOAD_UNUSED_MACRO = "macro never used"
    LOAD_UNUSED_LIST = "list never used"
    LOAD_UNKNOWN_ITEM = "unknown top-level item"
    LOAD_DEPRECATED_ITEM = "deprecated construct"
    LOAD_WARNING_EXTENSION = "extension item warning"
    LOAD_APPEND_NO_VALUES = "append or override without values"
    LOAD_EXCEPTION_NAME_NOT_UNIQUE = "exception name used twice"
    LOAD_INVALID_MACRO_NAME = "macro name has invalid characters"
    LOAD_INVALID_LIST_NAME = "list name has invalid characters"
    LOAD_COMPILE_CONDITION = "condition compiled with a warning"
    LOAD_UNKNOWN_KEY = "unknown key"

    @property
    def is_error(self) -> bool:
        return self.name.startswith("LOAD_ERR_")


class ItemType(enum.Enum):
    """What a message is about (Falco's item type strings)."""

    CONTENT = "rules content"
    CONTENT_ITEM = "rules content item"
    ENGINE_VERSION = "required_engine_version"
    PLUGIN_VERSIONS = "required_plugin_versions"
    PLUGIN_VERSION_ENTRY = "required_plugin_versions entry"
    LIST = "list"
    LIST_ITEM = "list item"
    MACRO = "macro"
    MACRO_CONDITION = "macro condition"
    RULE = "rule"
    RULE_CONDITION = "rule condition"
    RULE_OUTPUT = "rule output"
    EXCEPTION = "exception"
    OVERRIDE = "override"


_POSITIONAL = frozenset(
    {ItemType.RULE_CONDITION, ItemType.MACRO_CONDITION, ItemType.RULE_OUTPUT, ItemType.LIST_ITEM}
)
"""Location types that only refine the position inside their item (a condition's bad token)."""


@dataclass(frozen=True)
class Location:
    """One level of the context of a message: an item and where it is."""

    item_type: ItemType
    item_name: str
    file: str
    line: int = 0
    col: int = 0
    offset: int = 0


@dataclass(frozen=True)
class LoadMessage:
    """One error or warning. ``item_type``/``item_name`` are those of the innermost item
    (a rule condition's error is about the rule, an exception's about the exception);
    ``file``/``line``/``col`` are the most precise position known. ``locations`` keeps
    the whole chain, outermost first."""

    code: LoadCode
    message: str
    locations: tuple[Location, ...]
    snippet: str = ""

    @property
    def is_error(self) -> bool:
        return self.code.is_error

    def _item(self) -> Location | None:
        for location in reversed(self.locations):
            if location.item_type not in _POSITIONAL:
                return location
        return self.locations[-1] if self.locations else None

    @property
    def item_type(self) -> str:
        item = self._item()
        return item.item_type.value if item is not None else ItemType.CONTENT.value

    @property
    def item_name(self) -> str:
        item = self._item()
        return item.item_name if item is not None else ""

    @property
    def file(self) -> str:
        return self.locations[-1].file if self.locations else ""

    @property
    def line(self) -> int:
        return self.locations[-1].line if self.locations else 0

    @property
    def col(self) -> int:
        return self.locations[-1].col if self.locations else 0

    def one_line(self) -> str:
        """``file:line:col: CODE item_type 'name': message``."""
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        name = f" '{self.item_name}'" if self.item_name else ""
        return f"{where}: {self.code.name} {self.item_type}{name}: {self.message}"

    def to_falco_json(self) -> dict[str, Any]:
        return {
            "code": self.code.name,
            "codedesc": self.code.value,
            "message": self.message,
            "context": {
                "locations": [
                    {
                        "item_type": loc.item_type.value,
                        "item_name": loc.item_name,
                        "position": {
                            "name": loc.file,
                            "line": loc.line,
                            "column": loc.col,
                            "offset": loc.offset,
                        },
                    }
                    for loc in self.locations
                ],
                "snippet": self.snippet,
            },
        }


class RuleLoadError(Exception):
    """Raised inside the loader to abort the current file or compile with one error."""

    def __init__(self, message: LoadMessage) -> None:
        super().__init__(message.message)
        self.load_message = message


@dataclass
class FileResult:
    """The outcome of loading (and compiling after) one file."""

    name: str
    errors: list[LoadMessage] = field(default_factory=list)
    warnings: list[LoadMessage] = field(default_factory=list)

    @property
    def successful(self) -> bool:
        return not self.errors

    def add(self, message: LoadMessage) -> None:
        (self.errors if message.is_error else self.warnings).append(message)

    def to_falco_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "successful": self.successful,
            "errors": [m.to_falco_json() for m in self.errors],
            "warnings": [m.to_falco_json() for m in self.warnings],
        }


@dataclass
class LoadResult:
    """Per-file results of one load, in file order."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def errors(self) -> list[LoadMessage]:
        return [m for f in self.files for m in f.errors]

    @property
    def warnings(self) -> list[LoadMessage]:
        return [m for f in self.files for m in f.warnings]

    @property
    def successful(self) -> bool:
        return all(f.successful for f in self.files)

    def to_falco_json(self) -> dict[str, Any]:
        """The shape ``falco -V FILE -o json_output=true`` prints."""
        return {"falco_load_results": [f.to_falco_json() for f in self.files]}
