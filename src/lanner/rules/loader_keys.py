"""The key-level checks every rules-file item shares (names, strings, booleans, lists, unknown
keys, `override:` maps), the base of loader_reader.FileReader. Messages whose wording Falco's
regression tests assert are kept word for word.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from lanner.fields.registry import FieldRegistry
from lanner.rules.loader_items import location, yaml_scalar_text
from lanner.rules.results import ItemType, LoadCode, LoadMessage, Location, RuleLoadError
from lanner.rules.yamlio import Mark, MarkedList, MarkedMap, scalar_bool

if TYPE_CHECKING:
    from lanner.rules.loader_reader import Collector, Version


def load_error(code: LoadCode, message: str, *locations: Location) -> RuleLoadError:
    return RuleLoadError(LoadMessage(code, message, tuple(locations)))


def yaml_error(message: str, *locations: Location) -> RuleLoadError:
    """A malformed item (LOAD_ERR_YAML_VALIDATE)."""
    return load_error(LoadCode.LOAD_ERR_YAML_VALIDATE, message, *locations)


def validate_error(message: str, *locations: Location) -> RuleLoadError:
    """An item well formed but invalid (LOAD_ERR_VALIDATE)."""
    return load_error(LoadCode.LOAD_ERR_VALIDATE, message, *locations)


class ItemReader:
    """Key checks for the items of one file; the items go into a :class:`Collector`."""

    def __init__(
        self,
        collector: Collector,
        file: str,
        *,
        registry: FieldRegistry,
        sources: Collection[str],
        engine_version: Version,
        warn: Callable[[LoadMessage], None],
    ) -> None:
        self.collector = collector
        self.file = file
        self.registry = registry
        self.sources = sources
        self.engine_version = engine_version
        self.warn = warn

    def _warn(self, code: LoadCode, message: str, *locations: Location) -> None:
        self.warn(LoadMessage(code, message, tuple(locations)))

    def _loc(self, item_type: ItemType, name: str, mark: Mark | None) -> Location:
        return location(item_type, name, self.file, mark)

    # helpers ----------------------------------------------------------------------------

    def _name(self, item: MarkedMap, key: str, item_type: ItemType) -> tuple[str, Location]:
        value = item[key]
        where = self._loc(item_type, "", item.mark)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise yaml_error(f"Mapping for key '{key}' is empty", where)
        if not isinstance(value, str):
            raise yaml_error(f"Value for key '{key}' must be a string", where)
        return value, self._loc(item_type, value, item.mark)

    def _required(self, item: MarkedMap, key: str, where: Location) -> Any:
        if key not in item or item[key] is None:
            raise yaml_error(f"Item has no mapping for key '{key}'", where)
        return item[key]

    def _string(self, item: MarkedMap, key: str, where: Location) -> str:
        value = item[key]
        if isinstance(value, MarkedMap | MarkedList):
            raise yaml_error(f"Value for key '{key}' must be a string", where)
        return yaml_scalar_text(value)

    def _bool(self, item: MarkedMap, key: str, where: Location) -> bool:
        value = scalar_bool(item[key])
        if value is None:
            raise yaml_error(f"Value for key '{key}' must be a boolean (true or false)", where)
        return value

    def _string_list(self, item: MarkedMap, key: str, where: Location) -> list[str]:
        value = item[key]
        if value is None:
            return []
        if not isinstance(value, MarkedList):
            raise yaml_error(f"Value for key '{key}' must be a sequence", where)
        result = []
        for entry in value:
            if isinstance(entry, MarkedMap | MarkedList):
                raise yaml_error(f"Entries of key '{key}' must be strings", where)
            result.append(yaml_scalar_text(entry))
        return result

    def _unknown_keys(self, item: MarkedMap, known: frozenset[str], where: Location) -> None:
        for key in item:
            if key not in known:
                self._warn(LoadCode.LOAD_UNKNOWN_KEY, f"Unknown key '{key}'", where)

    def _override(
        self,
        item: MarkedMap,
        where: Location,
        allowed_append: frozenset[str],
        allowed_replace: frozenset[str],
    ) -> dict[str, str] | None:
        """The ``override`` map checked against the item's keys; None without override."""
        has_append = "append" in item and scalar_bool(item["append"]) is True
        if "override" not in item:
            return None
        if has_append:
            raise yaml_error("Keys 'override' and 'append: true' cannot be used together.", where)
        raw = item["override"]
        if not isinstance(raw, MarkedMap):
            raise yaml_error("Value for key 'override' must be a map of key: append|replace", where)
        overrides: dict[str, str] = {}
        for key, mode in raw.items():
            mode_text = yaml_scalar_text(mode)
            if mode_text not in ("append", "replace"):
                raise yaml_error(
                    f"Key '{key}' has an invalid override value '{mode_text}': "
                    "expected 'append' or 'replace'",
                    where,
                )
            if mode_text == "append" and key not in allowed_append:
                raise yaml_error(f"Key '{key}' cannot be appended to, use 'replace' instead", where)
            if mode_text == "replace" and key not in allowed_replace:
                raise yaml_error(f"Key '{key}' cannot be replaced", where)
            if key not in item:
                raise yaml_error(
                    f"An {mode_text} override for '{key}' was specified but '{key}' is not defined",
                    where,
                )
            overrides[str(key)] = mode_text
        for key in item:
            if key in (allowed_append | allowed_replace) and key not in overrides:
                raise yaml_error(
                    f"Unexpected key '{key}': no corresponding entry under 'override' is defined.",
                    where,
                )
        return overrides

    def _legacy_append(self, item: MarkedMap, where: Location) -> bool:
        if "append" not in item:
            return False
        value = self._bool(item, "append", where)
        if value:
            self._warn(
                LoadCode.LOAD_DEPRECATED_ITEM,
                "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') "
                "under 'override' instead.",
                where,
            )
        return value

    # required versions ------------------------------------------------------------------
