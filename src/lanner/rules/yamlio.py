"""Reading Falco rules YAML with PyYAML, the way yaml-cpp (Falco's parser) reads it.

Two differences from plain ``yaml.safe_load`` matter for Falco files:

* YAML 1.1 resolves a bare ``=`` to the ``tag:yaml.org,2002:value`` type, which SafeLoader
  cannot construct; Falco files use it in ``comps: [=, in]``. We drop that resolver so
  ``=`` is the string ``"="``.
* yaml-cpp keeps every scalar as text and converts on demand (``[0755, yes]`` stay the
  strings ``"0755"`` and ``"yes"``); PyYAML would turn them into 493 and True. We keep
  only the null resolver, so scalars come back as ``str`` (or None) and the loader
  converts booleans and integers itself (:func:`scalar_bool`, :func:`scalar_int`).
* A plain scalar starting with ``!`` (``desc: != after evt.type``) is read as a tag. yaml-cpp
  keeps the scalar and ignores the tag; a catch-all ``!`` constructor does the same.

Every mapping and sequence comes back as :class:`MarkedMap` / :class:`MarkedList`, which
remember where each key and each value starts so errors can name file:line:col.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Mark:
    """A position in a YAML text: 1-based line and column, 0-based character offset.

    ``style`` is the scalar style of the value found there (``""`` plain, ``'"'``/``"'"``
    quoted, ``"|"``/``">"`` block), which tells how far text offsets can be trusted.
    """

    line: int
    col: int
    offset: int = 0
    style: str = ""


class MarkedMap(dict[Any, Any]):
    """A YAML mapping that remembers where it, its keys and its values start."""

    mark: Mark
    key_marks: dict[Any, Mark]
    value_marks: dict[Any, Mark]

    def key_mark(self, key: Any) -> Mark:
        return self.key_marks.get(key, self.mark)

    def value_mark(self, key: Any) -> Mark:
        return self.value_marks.get(key, self.key_mark(key))


class MarkedList(list[Any]):
    """A YAML sequence that remembers where it and each of its items start."""

    mark: Mark
    item_marks: list[Mark]

    def item_mark(self, index: int) -> Mark:
        if 0 <= index < len(self.item_marks):
            return self.item_marks[index]
        return self.mark


class YamlParseError(Exception):
    """The text is not YAML; ``line``/``col`` are 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


_KEPT_RESOLVERS = frozenset({"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"})

_TRUE = frozenset({"true", "yes", "on", "y"})
_FALSE = frozenset({"false", "no", "off", "n"})


def scalar_bool(value: Any) -> bool | None:
    """A YAML boolean the way yaml-cpp reads one; None when ``value`` is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def scalar_int(value: Any) -> int | None:
    """A YAML integer (decimal, 0x hex, 0o octal); None when ``value`` is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 0) if text[:2].lower() in ("0x", "0o") else int(text, 10)
        except ValueError:
            return None
    return None


def _mark_of(node: yaml.Node) -> Mark:
    start = node.start_mark
    style = getattr(node, "style", None) or ""
    return Mark(start.line + 1, start.column + 1, start.index, style)


class _RulesLoader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader with yaml-cpp's leniencies and position-keeping containers."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag in _KEPT_RESOLVERS]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    def construct_marked_map(self, node: yaml.MappingNode) -> Iterator[MarkedMap]:
        result = MarkedMap()
        result.mark = _mark_of(node)
        result.key_marks = {}
        result.value_marks = {}
        yield result
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
            result[key] = self.construct_object(value_node, deep=True)
            result.key_marks[key] = _mark_of(key_node)
            result.value_marks[key] = _mark_of(value_node)

    def construct_marked_list(self, node: yaml.SequenceNode) -> Iterator[MarkedList]:
        result = MarkedList()
        result.mark = _mark_of(node)
        result.item_marks = [_mark_of(child) for child in node.value]
        yield result
        result.extend(self.construct_object(child, deep=True) for child in node.value)

    def construct_any_tag(self, _suffix: str, node: yaml.Node) -> Any:
        # yaml-cpp hands Falco the node's content whatever its tag is; do the same.
        if isinstance(node, yaml.MappingNode):
            steps = self.construct_marked_map(node)
            result = next(steps)
            for _ in steps:
                pass
            return result
        if isinstance(node, yaml.SequenceNode):
            return self.construct_object(
                yaml.SequenceNode("tag:yaml.org,2002:seq", node.value, node.start_mark), deep=True
            )
        return self.construct_scalar(node)


_RulesLoader.add_constructor("tag:yaml.org,2002:map", _RulesLoader.construct_marked_map)
_RulesLoader.add_constructor("tag:yaml.org,2002:seq", _RulesLoader.construct_marked_list)
_RulesLoader.add_multi_constructor("!", _RulesLoader.construct_any_tag)
_RulesLoader.add_multi_constructor("tag:", _RulesLoader.construct_any_tag)


def load_documents(text: str | bytes) -> list[Any]:
    """Parse every document of ``text``; raise :class:`YamlParseError` when it is not YAML."""
    loader = _RulesLoader(text)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise YamlParseError(problem) from None
        raise YamlParseError(problem, mark.line + 1, mark.column + 1) from None
    except RecursionError:
        raise YamlParseError("the document nests too deeply") from None
    except yaml.YAMLError as exc:
        raise YamlParseError(str(exc).strip().splitlines()[0]) from None
    finally:
        loader.dispose()
