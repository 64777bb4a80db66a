"""falco.yaml's ``append_output`` and ``static_fields``: text and JSON fields added to the outputs
of the rules an entry matches.

An entry::

    - match: {source: syscall, rule: "Some rule", tags: [container, shell]}   # all optional
      extra_output: "on CPU %evt.cpu"          # appended to the text line, after a space
      extra_fields:                            # JSON output_fields only
        - evt.hostname                         # a field, keyed by its name
        - home_directory: "${HOME}"            # a fixed value (the config expands ${VAR})
        - parent_cmd: "%proc.pcmdline"         # a format, rendered to text

Every condition given under ``match`` must hold (tags: the rule has all of them); no ``match``
applies the entry to every rule. Entries apply in order. ``static_fields`` (a mapping) adds fixed
``output_fields`` to every rule's alerts. A mistake is an :class:`AppendOutputError` naming the
entry and key (``append_output[1].extra_fields[0]: unknown field 'proc.nope'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lanner.fields.registry import FieldRegistry
from lanner.rules.output import OutputField, OutputFormat, OutputFormatError, compile_output

__all__ = ["AppendEntry", "AppendOutputError", "apply_append_output", "parse_append_output"]

ExtraValue = OutputField | OutputFormat | str
_ENTRY_KEYS = ("match", "extra_output", "extra_fields", "suggested_output")
_MATCH_KEYS = ("source", "rule", "tags")


class AppendOutputError(ValueError):
    """A malformed append_output or static_fields setting (the message names where)."""


@dataclass(frozen=True)
class AppendEntry:
    source: str | None = None
    rule: str | None = None
    tags: frozenset[str] = frozenset()
    extra_output: str = ""
    extra_fields: tuple[tuple[str, ExtraValue], ...] = ()

    def matches(self, rule: Any) -> bool:
        if self.source is not None and rule.source != self.source:
            return False
        if self.rule is not None and rule.name != self.rule:
            return False
        return self.tags <= set(rule.tags)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise AppendOutputError(f"{where}: expected a string, got {value!r}")
    return value


def _compile(text: str, registry: FieldRegistry, where: str) -> OutputFormat:
    try:
        return compile_output(text, registry)
    except OutputFormatError as exc:
        raise AppendOutputError(f"{where}: {exc}") from None


def _field(name: str, registry: FieldRegistry, where: str) -> OutputField:
    try:
        compiled = compile_output("%" + name.strip(), registry)
    except OutputFormatError:
        raise AppendOutputError(f"{where}: unknown field {name!r}") from None
    if len(compiled.parts) != 1 or not isinstance(compiled.parts[0], OutputField):
        raise AppendOutputError(f"{where}: {name!r} is not one field name")
    return compiled.parts[0]


def _fixed_or_format(value: Any, registry: FieldRegistry, where: str) -> ExtraValue:
    if isinstance(value, str) and "%" in value:
        return _compile(value, registry, where)
    if value is None or isinstance(value, dict | list):
        raise AppendOutputError(f"{where}: expected a text value, got {value!r}")
    return str(value) if not isinstance(value, str) else value


def _extra_fields(items: Any, registry: FieldRegistry, where: str) -> list[tuple[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise AppendOutputError(f"{where}: expected a list of field names or name: value pairs")
    found: list[tuple[str, Any]] = []
    for j, item in enumerate(items):
        at = f"{where}[{j}]"
        if isinstance(item, str):
            found.append((item.strip(), _field(item, registry, at)))
        elif isinstance(item, Mapping) and len(item) == 1:
            ((key, value),) = item.items()
            found.append((str(key), _fixed_or_format(value, registry, f"{at}.{key}")))
        else:
            raise AppendOutputError(f"{at}: expected a field name or one name: value pair")
    return found


def _match(match: Any, where: str) -> tuple[str | None, str | None, frozenset[str]]:
    if match is None:
        return None, None, frozenset()
    if not isinstance(match, Mapping):
        raise AppendOutputError(f"{where}: expected a mapping of source, rule, tags")
    for key in match:
        if key not in _MATCH_KEYS:
            raise AppendOutputError(f"{where}: unknown key {key!r} ({', '.join(_MATCH_KEYS)})")
    source = _text(match["source"], f"{where}.source") if "source" in match else None
    rule = _text(match["rule"], f"{where}.rule") if "rule" in match else None
    tags = match.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise AppendOutputError(f"{where}.tags: expected a list of tags")
    return source, rule, frozenset(tags)


def parse_append_output(
    entries: Any, static_fields: Any, registry: FieldRegistry
) -> list[AppendEntry]:
    """The configured entries, validated and compiled (static_fields last, for every rule)."""
    parsed: list[AppendEntry] = []
    if entries is not None and not isinstance(entries, list):
        raise AppendOutputError("append_output: expected a list of entries")
    for i, entry in enumerate(entries or []):
        where = f"append_output[{i}]"
        if not isinstance(entry, Mapping):
            raise AppendOutputError(f"{where}: expected a mapping (match, extra_output...)")
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise AppendOutputError(f"{where}: unknown key {key!r} ({', '.join(_ENTRY_KEYS)})")
        source, rule, tags = _match(entry.get("match"), f"{where}.match")
        extra_output = entry.get("extra_output") or ""
        extra_output = _text(extra_output, f"{where}.extra_output").strip()
        if extra_output:
            _compile(extra_output, registry, f"{where}.extra_output")
        fields = _extra_fields(entry.get("extra_fields"), registry, f"{where}.extra_fields")
        # suggested_output names plugin-suggested fields; the syscall source has none.
        parsed.append(AppendEntry(source, rule, tags, extra_output, tuple(fields)))
    if static_fields:
        if not isinstance(static_fields, Mapping):
            raise AppendOutputError("static_fields: expected a mapping of name: value")
        fixed = []
        for key, value in static_fields.items():
            if value is None or isinstance(value, dict | list):
                raise AppendOutputError(f"static_fields.{key}: expected a text value")
            fixed.append((str(key), value if isinstance(value, str) else str(value)))
        parsed.append(AppendEntry(extra_fields=tuple(fixed)))
    return parsed


def apply_append_output(
    rules: Iterable[Any], entries: list[AppendEntry], registry: FieldRegistry
) -> int:
    """Rewrite each matching rule's ``output``; returns how many rules changed."""
    changed = 0
    if not entries:
        return 0
    for rule in rules:
        texts = [e.extra_output for e in entries if e.extra_output and e.matches(rule)]
        extra = [item for e in entries if e.matches(rule) for item in e.extra_fields]
        if not texts and not extra:
            continue
        output: OutputFormat = rule.output
        if texts:
            line = compile_output(" ".join([output.text.rstrip(), *texts]), registry)
            output = OutputFormat(line.text, line.parts, output.extra)
        rule.output = OutputFormat(output.text, output.parts, output.extra + tuple(extra))
        changed += 1
    return changed
