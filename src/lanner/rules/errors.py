"""Errors raised while parsing and compiling rule conditions.

Every error carries the message shown to the user and, when known, the 0-based offset in
the condition text where the problem was found, so the loader can point at it.
"""

from __future__ import annotations


class ConditionError(Exception):
    """A condition could not be parsed or compiled."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __str__(self) -> str:
        return self.message


class ConditionSyntaxError(ConditionError):
    """The condition text does not follow the grammar (messages mirror Falco's parser)."""


class ConditionCompileError(ConditionError):
    """The condition parses but cannot run: unknown field, bad argument or value,
    unknown event type, operator not allowed for the field, undefined macro."""
