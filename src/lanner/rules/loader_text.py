"""Text work of the loader: Falco's textual list substitution, and mapping an offset in a
rewritten condition back to a line and column of the YAML file it came from.

List substitution is textual, as in Falco: a list name standing between delimiters (start
or end of text, blanks, ``(``, ``)``, ``,``, ``=``) is replaced, blanks around it included,
by its items joined with ``", "`` (items holding a blank are double-quoted). An empty list
also swallows one neighbouring comma so ``(a, empty_list)`` stays valid.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from lanner.rules.exceptions import quote_value
from lanner.rules.yamlio import Mark

_BLANKS = " \t\n\r"
_DELIMITERS = _BLANKS + "(),="


@dataclass
class OffsetMap:
    """Maps offsets of a rewritten text back to the text it was rewritten from.

    ``anchors`` are (new_offset, old_offset) pairs, sorted: between two anchors text was
    copied unchanged; a replaced span maps to the start of what it replaced.
    """

    anchors: list[tuple[int, int]]
    copied_from: list[bool]

    def to_old(self, offset: int) -> int:
        index = bisect.bisect_right(self.anchors, (offset, 1 << 62)) - 1
        if index < 0:
            return offset
        new_start, old_start = self.anchors[index]
        if self.copied_from[index]:
            return old_start + (offset - new_start)
        return old_start


def _substitute_one(text: str, name: str, replacement: str) -> tuple[str, list[tuple[int, int]]]:
    """Replace each delimited occurrence of ``name``; return the text and the replaced
    spans as (old_start, old_end) pairs."""
    spans: list[tuple[int, int]] = []
    pieces: list[str] = []
    copied_until = 0
    start = text.find(name)
    size = len(text)
    while start != -1:
        end = start + len(name)
        before_ok = start == 0 or text[start - 1] in _DELIMITERS
        after_ok = end >= size or text[end] in _DELIMITERS
        if before_ok and after_ok and start >= copied_until:
            while start > copied_until and text[start - 1] in _BLANKS:
                start -= 1
            while end < size and text[end] in _BLANKS:
                end += 1
            if not replacement:
                if start > copied_until and text[start - 1] == ",":
                    start -= 1
                elif end < size and text[end] == ",":
                    end += 1
            pieces.append(text[copied_until:start])
            pieces.append((" " if start > 0 else "") + replacement + " ")
            spans.append((start, end))
            copied_until = end
            start = text.find(name, end)
        else:
            start = text.find(name, start + 1)
    if not spans:
        return text, spans
    pieces.append(text[copied_until:])
    return "".join(pieces), spans


def substitute_lists(
    text: str, lists: Iterable[tuple[str, list[str]]]
) -> tuple[str, set[str], OffsetMap | ChainedOffsets | None]:
    """Expand every list of ``lists`` (name, items) in ``text``, in order.

    Returns the new text, the names of the lists that were used, and an offset map back
    to ``text`` (None when nothing changed).
    """
    used: set[str] = set()
    maps: list[OffsetMap] = []
    for name, items in lists:
        if name not in text:
            continue
        replacement = ", ".join(quote_value(item) for item in items)
        new_text, spans = _substitute_one(text, name, replacement)
        if not spans:
            continue
        used.add(name)
        maps.append(_offset_map(spans, replacement))
        text = new_text
    if not maps:
        return text, used, None
    return text, used, _compose(maps)


def _offset_map(spans: list[tuple[int, int]], replacement: str) -> OffsetMap:
    anchors: list[tuple[int, int]] = []
    copied: list[bool] = []
    new_pos = 0
    old_pos = 0
    for start, end in spans:
        anchors.append((new_pos, old_pos))
        copied.append(True)
        new_pos += start - old_pos
        anchors.append((new_pos, start))
        copied.append(False)
        new_pos += (1 if start > 0 else 0) + len(replacement) + 1
        old_pos = end
    anchors.append((new_pos, old_pos))
    copied.append(True)
    return OffsetMap(anchors, copied)


class ChainedOffsets:
    """Several rewrites applied in turn, mapped back through each in reverse order."""

    def __init__(self, steps: list[OffsetMap]) -> None:
        self.steps = steps

    def to_old(self, offset: int) -> int:
        for step in reversed(self.steps):
            offset = step.to_old(offset)
        return offset


def _compose(maps: list[OffsetMap]) -> OffsetMap | ChainedOffsets:
    return maps[0] if len(maps) == 1 else ChainedOffsets(maps)


@dataclass(frozen=True)
class TextPiece:
    """A run of a condition's text and where its first character sits in a file."""

    start: int
    file: str
    mark: Mark


def locate(source: str | None, mark: Mark, value: str, offset: int) -> tuple[int, int]:
    """Line and column (1-based) in ``source`` of character ``offset`` of the scalar
    ``value`` that starts at ``mark``.

    Exact for plain and quoted one-line scalars; for folded, block and escaped scalars
    the raw text is walked alongside the value, skipping blanks, line breaks and escape
    characters that the YAML reading removed — a close approximation.
    """
    if source is None or offset <= 0:
        return mark.line, mark.col
    position = mark.offset
    if mark.style in ("|", ">"):
        newline = source.find("\n", position)
        position = len(source) if newline == -1 else newline + 1
    elif mark.style in ('"', "'"):
        position += 1
    limit = len(source)
    for char in value[:offset]:
        while position < limit and source[position] != char:
            if source[position] not in " \t\r\n\\'\"":
                break
            position += 1
        if position < limit and source[position] == char:
            position += 1
    while position < limit and source[position] in " \t\r\n" and value[offset : offset + 1] != " ":
        position += 1
    line = source.count("\n", 0, position) + 1
    col = position - (source.rfind("\n", 0, position) + 1) + 1
    return line, col


def snippet(source: str | None, line: int, col: int) -> str:
    """The source line and a caret under column ``col``."""
    if source is None or line <= 0:
        return ""
    lines = source.splitlines()
    if line > len(lines):
        return ""
    text = lines[line - 1].rstrip("\r")
    return f"{text}\n{' ' * max(col - 1, 0)}^"
