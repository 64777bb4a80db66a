"""Rule output formats: ``%field`` tokens compiled once, rendered per alert.

A token is ``%`` then an optional width, then a field (``%proc.name``, ``%proc.aname[2]``,
``%evt.arg.name``) or a transformer around one (``%tolower(proc.name)``). As in Falco's
formatter, the field is the longest prefix of the following text that names a known
field, so ``%proc.name.`` at the end of a sentence reads ``proc.name``. Unavailable values
print as ``<NA>`` and appear as ``null`` in the JSON ``output_fields``. A leading ``*``
("print even when fields are missing") is accepted and dropped: it is always the case here.
"""

from __future__ import annotations

import base64
import binascii
import os.path
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lanner.fields.registry import Extractor, FieldRegistry, check_arg

NA = "<NA>"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_WIDTH = re.compile(r"[0-9]+")
_TIME_FIELDS = frozenset(
    {"evt.time", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.datetime.s"}
)
"""Time fields whose JSON value is the raw timestamp in ns, as Falco writes them."""


class OutputFormatError(Exception):
    """The format names something that is not a field (Falco's messages)."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _b64(value: Any) -> Any:
    try:
        raw = value if isinstance(value, bytes) else str(value).encode()
        return base64.b64decode(raw, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def _length(value: Any) -> Any:
    return len(value) if isinstance(value, str | bytes | tuple | list) else None


_TRANSFORMERS: dict[str, Callable[[Any], Any]] = {
    "tolower": lambda v: v.lower() if isinstance(v, str) else v,
    "toupper": lambda v: v.upper() if isinstance(v, str) else v,
    "b64": _b64,
    "basename": lambda v: os.path.basename(v) if isinstance(v, str) else v,
    "len": _length,
}


@dataclass(frozen=True)
class OutputField:
    """One ``%`` token: its key in ``output_fields`` and how to get its value."""

    key: str
    extract: Extractor
    transformer: Callable[[Any], Any] | None = None
    width: int = 0
    raw_time: bool = False

    def value(self, event: Any) -> Any:
        value = self.extract(event)
        if value is not None and self.transformer is not None:
            value = self.transformer(value)
        return value

    def json_value(self, event: Any) -> Any:
        if self.raw_time:
            return getattr(event, "ts", None)
        return to_json_value(self.value(event))


def to_text(value: Any) -> str:
    """How a value prints in an output line."""
    if value is None:
        return NA
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return "".join(chr(b) if 32 <= b < 127 else "." for b in value)
    if isinstance(value, float):
        return f"{value:.1f}"  # libsinsp prints a double with one decimal (proc.fdusage...)
    if isinstance(value, tuple | list | frozenset | set):
        return ",".join(to_text(item) for item in value)
    return str(value)


def to_json_value(value: Any) -> Any:
    """How a value appears in ``output_fields``: typed, ``None`` when unavailable."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes):
        return to_text(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [to_json_value(item) for item in value]
    return str(value)


@dataclass(frozen=True)
class OutputFormat:
    """A compiled output format: literal text and field tokens in order, and the fields only
    the JSON ``output_fields`` get (falco.yaml's append_output ``extra_fields`` and
    ``static_fields``): key -> a field, a format rendered to text, or a fixed string."""

    text: str
    parts: tuple[str | OutputField, ...]
    extra: tuple[tuple[str, OutputField | OutputFormat | str], ...] = ()

    @property
    def fields(self) -> tuple[OutputField, ...]:
        """Every field the format reads (the line's, then the extra ones')."""
        found = [part for part in self.parts if isinstance(part, OutputField)]
        for _key, value in self.extra:
            if isinstance(value, OutputField):
                found.append(value)
            elif isinstance(value, OutputFormat):
                found.extend(value.fields)
        return tuple(found)

    def render(self, event: Any) -> str:
        pieces = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                text = to_text(part.value(event))
                pieces.append(text.ljust(part.width) if part.width else text)
        return "".join(pieces)

    def output_fields(self, event: Any) -> dict[str, Any]:
        fields = {
            part.key: part.json_value(event) for part in self.parts if isinstance(part, OutputField)
        }
        for key, value in self.extra:
            if isinstance(value, OutputField):
                fields[key] = value.json_value(event)
            elif isinstance(value, OutputFormat):
                fields[key] = value.render(event)
            else:
                fields[key] = value
        return fields


def _bind(registry: FieldRegistry, name: str, arg: str | None) -> Extractor | None:
    found = registry.resolve(name, arg)
    if found is None:
        return None
    info, bound_arg = found
    if info.filter_only or check_arg(info, bound_arg) is not None:
        return None
    return info.bind(bound_arg)


def _parse_field(
    text: str, start: int, registry: FieldRegistry
) -> tuple[str, Extractor, int] | None:
    """The longest field at ``text[start:]``: (key, extractor, end offset) or None."""
    match = _NAME.match(text, start)
    if match is None:
        return None
    name = match.group(0)
    cut = len(name)
    while cut > 0:
        candidate = name[:cut]
        end = start + cut
        arg = None
        if end < len(text) and text[end] == "[":
            close = text.find("]", end)
            if close != -1:
                arg = text[end + 1 : close]
                bracket_end = close + 1
                extractor = _bind(registry, candidate, arg)
                if extractor is not None:
                    return text[start:bracket_end], extractor, bracket_end
        extractor = _bind(registry, candidate, None)
        if extractor is not None:
            return candidate, extractor, end
        cut = candidate.rfind(".")
    return None


def compile_output(text: str, registry: FieldRegistry) -> OutputFormat:
    """Compile an output format; raise :class:`OutputFormatError` on an unknown token."""
    body = text.strip()
    if body.startswith("*"):
        body = body[1:]
    parts: list[str | OutputField] = []
    literal: list[str] = []
    position = 0
    size = len(body)
    while position < size:
        char = body[position]
        if char != "%":
            literal.append(char)
            position += 1
            continue
        if position == size - 1:
            raise OutputFormatError(
                "invalid formatting syntax: formatting cannot end with a %", position
            )
        token_start = position + 1
        width = 0
        width_match = _WIDTH.match(body, token_start)
        if width_match is not None:
            width = int(width_match.group(0))
            token_start = width_match.end()
        parsed = _parse_token(body, token_start, registry, width)
        if parsed is None:
            raise OutputFormatError(f"invalid formatting token {body[token_start:]}", position)
        token, position = parsed
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(token)
    if literal:
        parts.append("".join(literal))
    return OutputFormat(text, tuple(parts))


def _parse_token(
    body: str, start: int, registry: FieldRegistry, width: int
) -> tuple[OutputField, int] | None:
    open_paren = body.find("(", start)
    if open_paren > start and body[start:open_paren] in _TRANSFORMERS:
        name = body[start:open_paren]
        inner = _parse_field(body, open_paren + 1, registry)
        if inner is None or inner[2] >= len(body) or body[inner[2]] != ")":
            return None
        key = f"{name}({inner[0]})"
        return OutputField(key, inner[1], _TRANSFORMERS[name], width), inner[2] + 1
    field = _parse_field(body, start, registry)
    if field is None:
        return None
    key, extractor, end = field
    return OutputField(key, extractor, None, width, key in _TIME_FIELDS), end
