"""Reading rules files into definitions: item decoding, append/override, redefinitions.

The first error in a file stops reading that file (Falco does the same); warnings pile up.
Messages whose wording Falco's regression tests assert are kept word for word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lanner.rules.exceptions import (
    EXCEPTION_KEYS_ORDER,
    ExceptionSpec,
    ExceptionSpecError,
    validate_exception,
)
from lanner.rules.loader_items import (
    EXCEPTION_KEYS,
    LIST_KEYS,
    MACRO_KEYS,
    RULE_APPENDABLE,
    RULE_KEYS,
    RULE_REPLACEABLE,
    Condition,
    ListInfo,
    MacroInfo,
    RequiredPlugin,
    RuleInfo,
    yaml_scalar_text,
)
from lanner.rules.loader_keys import ItemReader, validate_error, yaml_error
from lanner.rules.results import ItemType, LoadCode, Location
from lanner.rules.ruleset import Priority
from lanner.rules.yamlio import MarkedList, MarkedMap, scalar_int

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")
_MACRO_NAME = re.compile(r"^[a-zA-Z]+[a-zA-Z0-9_]*$")
_LIST_NAME = re.compile(r"""^[^()"'\s=,]+$""")

Version = tuple[int, int, int]


def parse_semver(text: str) -> Version | None:
    match = _SEMVER.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def version_text(version: Version) -> str:
    return ".".join(str(part) for part in version)


def compatible(engine: Version, required: Version) -> bool:
    """Same major version, and minor.patch at least the required one."""
    return engine[0] == required[0] and engine[1:] >= required[1:]


@dataclass
class Collector:
    """Everything defined so far, across files."""

    lists: dict[str, ListInfo] = field(default_factory=dict)
    macros: dict[str, MacroInfo] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    counter: int = 0
    required_engine_version: Version | None = None
    required_plugins: list[RequiredPlugin] = field(default_factory=list)

    def next_index(self) -> int:
        self.counter += 1
        return self.counter


class FileReader(ItemReader):
    """Reads the items of one file into a :class:`Collector`."""

    # documents and items ---------------------------------------------------------------

    def read_documents(self, documents: list[Any]) -> None:
        content = Location(ItemType.CONTENT, "", self.file, 1, 1)
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, MarkedList | MarkedMap):
                raise yaml_error("Rules content is not yaml", content)
            if not isinstance(document, MarkedList):
                raise yaml_error("Rules content is not yaml array of objects", content)
            for position, item in enumerate(document):
                if item is None:
                    continue
                mark = document.item_mark(position)
                if not isinstance(item, MarkedMap):
                    raise yaml_error(
                        "Unexpected element type. Each element should be a yaml associative array.",
                        self._loc(ItemType.CONTENT_ITEM, "", mark),
                    )
                self.read_item(item)

    def read_item(self, item: MarkedMap) -> None:
        if "required_engine_version" in item:
            self._read_engine_version(item)
        elif "required_plugin_versions" in item:
            self._read_plugin_versions(item)
        elif "list" in item:
            self._read_list(item)
        elif "macro" in item:
            self._read_macro(item)
        elif "rule" in item:
            self._read_rule(item)
        else:
            self._warn(
                LoadCode.LOAD_UNKNOWN_ITEM,
                "Unknown top level item",
                self._loc(ItemType.CONTENT_ITEM, "", item.mark),
            )

    def _read_engine_version(self, item: MarkedMap) -> None:
        value = item["required_engine_version"]
        where = self._loc(ItemType.ENGINE_VERSION, "", item.mark)
        number = scalar_int(value)
        if number is not None:
            required: Version = (0, number, 0)
        else:
            text = yaml_scalar_text(value)
            parsed = parse_semver(text)
            if parsed is None:
                raise yaml_error(
                    f"Unable to parse engine version '{text}' as a semver string. Expected "
                    '"x.y.z" semver format.',
                    where,
                )
            required = parsed
        if not compatible(self.engine_version, required):
            raise validate_error(
                f"Rules require engine version {version_text(required)}, but engine version "
                f"is {version_text(self.engine_version)}",
                where,
            )
        current = self.collector.required_engine_version
        if current is None or required > current:
            self.collector.required_engine_version = required

    def _read_plugin_versions(self, item: MarkedMap) -> None:
        value = item["required_plugin_versions"]
        where = self._loc(ItemType.PLUGIN_VERSIONS, "", item.mark)
        if not isinstance(value, MarkedList):
            raise yaml_error("Value for key 'required_plugin_versions' must be a sequence", where)
        for entry in value:
            if not isinstance(entry, MarkedMap):
                raise yaml_error("Each required plugin must be a map of name and version", where)
            entry_where = self._loc(ItemType.PLUGIN_VERSION_ENTRY, "", entry.mark)
            name = self._string(entry, "name", entry_where) if "name" in entry else ""
            if not name:
                raise yaml_error("Item has no mapping for key 'name'", entry_where)
            entry_where = self._loc(ItemType.PLUGIN_VERSION_ENTRY, name, entry.mark)
            version = yaml_scalar_text(self._required(entry, "version", entry_where))
            if parse_semver(version) is None:
                raise yaml_error(
                    f"Unable to parse plugin version '{version}' as a semver string. Expected "
                    '"x.y.z" semver format.',
                    entry_where,
                )
            alternatives = []
            for alt in entry.get("alternatives") or []:
                if not isinstance(alt, MarkedMap) or "name" not in alt or "version" not in alt:
                    raise yaml_error("Each alternative needs a name and a version", entry_where)
                alternatives.append(
                    (yaml_scalar_text(alt["name"]), yaml_scalar_text(alt["version"]))
                )
            self.collector.required_plugins.append(RequiredPlugin(name, version, alternatives))

    # lists ------------------------------------------------------------------------------

    def _read_list(self, item: MarkedMap) -> None:
        name, where = self._name(item, "list", ItemType.LIST)
        if not _LIST_NAME.match(name):
            self._warn(
                LoadCode.LOAD_INVALID_LIST_NAME,
                f"List name '{name}' contains invalid characters",
                where,
            )
        self._unknown_keys(item, LIST_KEYS, where)
        overrides = self._override(item, where, frozenset({"items"}), frozenset({"items"}))
        append = self._legacy_append(item, where)
        self._required(item, "items", where)
        items = self._string_list(item, "items", where)
        previous = self.collector.lists.get(name)
        mode = "append" if append else (overrides or {}).get("items")
        if mode is not None and previous is None:
            raise validate_error(
                f"List has '{mode}' key or an {mode} override but no list by that name already "
                "exists",
                where,
            )
        if mode == "append" and previous is not None:
            if not items:
                self._warn(
                    LoadCode.LOAD_APPEND_NO_VALUES,
                    "Overriding/appending list with no values",
                    where,
                )
            previous.items = previous.items + items
            previous.visibility = self.collector.next_index()
            return
        if previous is not None:
            previous.items = items
            previous.location = where
            previous.visibility = self.collector.next_index()
            return
        index = self.collector.next_index()
        self.collector.lists[name] = ListInfo(name, items, where, index, index)

    # macros -----------------------------------------------------------------------------

    def _read_macro(self, item: MarkedMap) -> None:
        name, where = self._name(item, "macro", ItemType.MACRO)
        if not _MACRO_NAME.match(name):
            self._warn(
                LoadCode.LOAD_INVALID_MACRO_NAME,
                f"Macro name '{name}' contains invalid characters",
                where,
            )
        self._unknown_keys(item, MACRO_KEYS, where)
        overrides = self._override(item, where, frozenset({"condition"}), frozenset({"condition"}))
        append = self._legacy_append(item, where)
        self._required(item, "condition", where)
        condition = Condition.from_yaml(
            self._string(item, "condition", where), self.file, item.value_mark("condition")
        )
        previous = self.collector.macros.get(name)
        mode = "append" if append else (overrides or {}).get("condition")
        if mode is not None and previous is None:
            raise validate_error(
                f"Macro has '{mode}' key or an {mode} override but no macro by that name "
                "already exists",
                where,
            )
        if previous is not None:
            previous.condition = (
                previous.condition.appended(condition) if mode == "append" else condition
            )
            previous.location = where
            previous.visibility = self.collector.next_index()
            return
        index = self.collector.next_index()
        self.collector.macros[name] = MacroInfo(name, condition, where, index, index)

    # rules ------------------------------------------------------------------------------

    def _read_rule(self, item: MarkedMap) -> None:
        name, where = self._name(item, "rule", ItemType.RULE)
        self._unknown_keys(item, RULE_KEYS, where)
        overrides = self._override(item, where, RULE_APPENDABLE, RULE_REPLACEABLE)
        append = self._legacy_append(item, where)
        previous = self.collector.rules.get(name)
        if overrides is not None:
            if previous is None:
                mode = "append" if "append" in overrides.values() else "replace"
                raise validate_error(
                    f"Rule has an {mode} override but no rule by that name already exists", where
                )
            self._override_rule(previous, item, overrides, where)
            return
        if append:
            if "condition" not in item and "exceptions" not in item:
                raise validate_error(
                    "Appended rule must have exceptions or condition property", where
                )
            if previous is None:
                raise validate_error(
                    "Rule has 'append' key but no rule by that name already exists", where
                )
            if "condition" in item:
                previous.condition = previous.condition.appended(self._rule_condition(item, where))
            if "exceptions" in item:
                self._append_exceptions(previous, self._exceptions(item, where, False), where)
            return
        keys = set(item) - {"rule"}
        if keys == {"enabled"}:
            if previous is None:
                raise validate_error(
                    "Rule has 'enabled' key but no rule by that name already exists", where
                )
            previous.enabled = self._bool(item, "enabled", where)
            return
        self._define_rule(name, item, where, previous)

    def _rule_condition(self, item: MarkedMap, where: Location) -> Condition:
        return Condition.from_yaml(
            self._string(item, "condition", where), self.file, item.value_mark("condition")
        )

    def _priority(self, item: MarkedMap, where: Location) -> Priority:
        text = self._string(item, "priority", where)
        priority = Priority.parse(text)
        if priority is None:
            raise yaml_error(f"Invalid priority level: {text}", where)
        return priority

    def _define_rule(
        self, name: str, item: MarkedMap, where: Location, previous: RuleInfo | None
    ) -> None:
        for key in ("condition", "output", "desc", "priority"):
            self._required(item, key, where)
        source = self._string(item, "source", where) if "source" in item else "syscall"
        if (
            previous is not None
            and previous.source_explicit
            and "source" in item
            and previous.source != source
        ):
            raise validate_error("Rule has been re-defined with a different source", where)
        info = RuleInfo(
            name=name,
            location=where,
            index=previous.index if previous is not None else self.collector.next_index(),
            condition=self._rule_condition(item, where),
            output=self._string(item, "output", where).strip(),
            desc=self._string(item, "desc", where),
            priority=self._priority(item, where),
            source=source,
            source_explicit="source" in item,
            output_location=self._loc(ItemType.RULE_OUTPUT, name, item.value_mark("output")),
        )
        if "enabled" in item:
            info.enabled = self._bool(item, "enabled", where)
        if "tags" in item:
            info.tags = self._string_list(item, "tags", where)
        if "warn_evttypes" in item:
            info.warn_evttypes = self._bool(item, "warn_evttypes", where)
        if "skip-if-unknown-filter" in item:
            info.skip_if_unknown_filter = self._bool(item, "skip-if-unknown-filter", where)
        if "capture" in item:
            info.capture = self._bool(item, "capture", where)
        if "capture_duration" in item:
            info.capture_duration = self._int(item, "capture_duration", where)
        if source not in self.sources:
            info.unknown_source = True
            self._warn(LoadCode.LOAD_UNKNOWN_SOURCE, f"Unknown source {source}, skipping", where)
        if "exceptions" in item:
            info.exceptions = self._exceptions(item, where, True)
            if not info.unknown_source:
                for spec in info.exceptions:
                    self._validate_exception(spec, where)
        self.collector.rules[name] = info

    def _int(self, item: MarkedMap, key: str, where: Location) -> int:
        value = scalar_int(item[key])
        if value is None:
            raise yaml_error(f"Value for key '{key}' must be an integer", where)
        return value

    def _override_rule(
        self, rule: RuleInfo, item: MarkedMap, overrides: dict[str, str], where: Location
    ) -> None:
        for key, mode in overrides.items():
            if key == "condition":
                new = self._rule_condition(item, where)
                rule.condition = rule.condition.appended(new) if mode == "append" else new
            elif key in ("output", "desc"):
                text = self._string(item, key, where)
                old = rule.output if key == "output" else rule.desc
                value = f"{old} {text}" if mode == "append" else text
                if key == "output":
                    rule.output = value.strip()
                else:
                    rule.desc = value
            elif key == "tags":
                tags = self._string_list(item, "tags", where)
                if mode == "append":
                    rule.tags = rule.tags + [tag for tag in tags if tag not in rule.tags]
                else:
                    rule.tags = tags
            elif key == "exceptions":
                if mode == "append":
                    self._append_exceptions(rule, self._exceptions(item, where, False), where)
                else:
                    rule.exceptions = self._exceptions(item, where, True)
                    if not rule.unknown_source:
                        for spec in rule.exceptions:
                            self._validate_exception(spec, where)
            elif key == "priority":
                rule.priority = self._priority(item, where)
            elif key == "capture_duration":
                rule.capture_duration = self._int(item, key, where)
            else:
                setattr(rule, key.replace("-", "_"), self._bool(item, key, where))

    # exceptions -------------------------------------------------------------------------

    def _exceptions(self, item: MarkedMap, where: Location, new_rule: bool) -> list[ExceptionSpec]:
        raw = item["exceptions"]
        if raw is None:
            return []
        if not isinstance(raw, MarkedList):
            raise yaml_error("Rule exceptions must be a sequence", where)
        specs = []
        for position, entry in enumerate(raw):
            mark = raw.item_mark(position)
            if not isinstance(entry, MarkedMap):
                raise yaml_error(
                    "Rule exception must be a map", where, self._loc(ItemType.EXCEPTION, "", mark)
                )
            ex_where = self._loc(ItemType.EXCEPTION, "", mark)
            if "name" not in entry or entry["name"] is None:
                raise yaml_error("Item has no mapping for key 'name'", where, ex_where)
            name = yaml_scalar_text(entry["name"])
            ex_where = self._loc(ItemType.EXCEPTION, name, mark)
            for key in entry:
                if key not in EXCEPTION_KEYS:
                    self._warn(LoadCode.LOAD_UNKNOWN_KEY, f"Unknown key '{key}'", where, ex_where)
            if new_rule and ("fields" not in entry or entry["fields"] is None):
                raise yaml_error("Item has no mapping for key 'fields'", where, ex_where)
            spec = ExceptionSpec(name, line=mark.line, col=mark.col, offset=mark.offset)
            for key in EXCEPTION_KEYS_ORDER:
                if key in entry and entry[key] is not None:
                    setattr(spec, key, self._exception_part(entry[key], key, where, ex_where))
            specs.append(spec)
        return specs

    def _exception_part(self, value: Any, key: str, where: Location, ex_where: Location) -> Any:
        if key == "values":
            if not isinstance(value, MarkedList):
                raise yaml_error("Rule exception values must be a sequence", where, ex_where)
            return [_plain(entry) for entry in value]
        if isinstance(value, MarkedList):
            return [yaml_scalar_text(entry) for entry in value]
        if isinstance(value, MarkedMap):
            raise yaml_error(f"Rule exception {key} must be a string or a list", where, ex_where)
        return yaml_scalar_text(value)

    def _exception_location(self, rule_where: Location, spec: ExceptionSpec) -> Location:
        return Location(
            ItemType.EXCEPTION, spec.name, rule_where.file, spec.line, spec.col, spec.offset
        )

    def _validate_exception(self, spec: ExceptionSpec, where: Location) -> None:
        try:
            validate_exception(spec, self.registry)
        except ExceptionSpecError as exc:
            raise validate_error(str(exc), where, self._exception_location(where, spec)) from None

    def _append_exceptions(
        self, rule: RuleInfo, specs: list[ExceptionSpec], where: Location
    ) -> None:
        existing = {spec.name: spec for spec in rule.exceptions}
        for spec in specs:
            current = existing.get(spec.name)
            ex_where = self._exception_location(where, spec)
            if current is not None:
                if spec.fields is not None:
                    raise validate_error(
                        "Can not append exception fields to existing exception, only values",
                        where,
                        ex_where,
                    )
                if spec.comps is not None:
                    raise validate_error(
                        "Can not append exception comps to existing exception, only values",
                        where,
                        ex_where,
                    )
                current.values = current.values + spec.values
                continue
            if spec.fields is None:
                raise validate_error(
                    "Rule exception must have fields property with a list of fields",
                    where,
                    ex_where,
                )
            if not rule.unknown_source:
                self._validate_exception(spec, where)
            rule.exceptions.append(spec)
            existing[spec.name] = spec


def _plain(value: Any) -> Any:
    """YAML containers as plain lists of strings, recursively."""
    if isinstance(value, MarkedList):
        return [_plain(entry) for entry in value]
    if isinstance(value, MarkedMap):
        return {str(k): _plain(v) for k, v in value.items()}
    return yaml_scalar_text(value)
