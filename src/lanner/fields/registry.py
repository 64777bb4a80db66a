"""The field registry: every field a condition or an output may name.

A field is a name (``proc.name``), a type that decides which operators apply and how
right-hand values are read, a description for ``lanner fields``, the kind of argument it
takes (``proc.aname[2]``, ``evt.arg.name``, ``k8s.pod.label[app]``) and an extractor
factory. The rules compiler binds a field and its argument once, at load time, and gets back
a plain ``extract(event) -> value | None`` callable; ``None`` means "not available", which
makes every comparison on it false (Falco's missing-field semantics).

The field classes (``fields/evt.py``, ``fields/proc.py``, ...) fill the registry; the rules
package only reads it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Extractor = Callable[[Any], Any]
"""``extract(event) -> value``; returns ``None`` when the value is not available."""

ExtractorFactory = Callable[[str | None], Extractor]
"""Binds a field's argument (``None`` when none was given) and returns its extractor."""


class FieldType(enum.Enum):
    """How a field's values compare; decides the operators it accepts."""

    STRING = "string"
    INT = "int"  # signed or unsigned integers, errno, fd, pid, uid, port numbers...
    DOUBLE = "double"
    BOOL = "bool"
    IPADDR = "ipaddr"  # extractor returns the canonical text form ("10.0.0.1", "::1")
    IPNET = "ipnet"  # filter-only network fields (fd.net): compared against CIDR values
    BYTES = "bytes"  # buffers (evt.buffer): bcontains/bstartswith take hex values
    ABSTIME = "abstime"  # nanoseconds since the epoch
    RELTIME = "reltime"  # nanoseconds


class ArgMode(enum.Enum):
    """Whether a field takes an argument."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


class ArgKind(enum.Enum):
    """What a field's argument is."""

    INDEX = "index"  # a non-negative integer: proc.aname[2]
    KEY = "key"  # a name or path: k8s.pod.label[app], proc.env[HOME]
    INDEX_OR_KEY = "index_or_key"  # evt.arg[0] or evt.arg.name


@dataclass(frozen=True)
class FieldInfo:
    """One field of the registry."""

    name: str
    type: FieldType
    desc: str
    arg_mode: ArgMode = ArgMode.NONE
    arg_kind: ArgKind = ArgKind.KEY
    dotted_arg: bool = False
    """The argument may also follow the name after a dot: ``evt.arg.name``."""
    is_list: bool = False
    """Values are lists (``fd.types``); only ``in``, ``intersects`` and ``exists`` apply."""
    any_without_arg: bool = False
    """Without an argument the extractor returns the values of every ancestor and a
    comparison holds when any of them matches (``proc.aname=sshd``)."""
    filter_only: bool = False
    """Usable in conditions, not in outputs (``fd.net``)."""
    either_port: bool = False
    """``fd.port``/``fd.proto``: the extractor returns both ends' ports; ``=``, ``in`` and the
    orderings hold when either end does, ``!=`` when neither is equal (libsinsp's
    compare_port); service names on the right stand for their ports."""
    source: str = "syscall"
    factory: ExtractorFactory | None = field(default=None, compare=False, repr=False)
    """None while no extractor is implemented: the field compiles and is never available."""
    arg_type: Callable[[str], FieldType | None] | None = field(
        default=None, compare=False, repr=False
    )
    """For a field whose type follows its argument (``evt.rawarg.res`` is a number,
    ``evt.rawarg.name`` text): the type for an argument, None to keep ``type``. Applied by
    :meth:`FieldRegistry.resolve`, so callers see a plainly typed field."""

    def for_arg(self, arg: str | None) -> FieldInfo:
        """This field with the type its argument gives it (itself when that changes nothing)."""
        if self.arg_type is None or arg is None:
            return self
        typed = self.arg_type(arg)
        if typed is None or typed is self.type:
            return self
        return dataclasses.replace(self, type=typed)

    def bind(self, arg: str | None) -> Extractor:
        """Return the extractor for this field with ``arg`` bound."""
        if self.factory is None:
            return _unavailable
        return self.factory(arg)


def _unavailable(_event: Any) -> None:
    return None


class FieldRegistry:
    """Field name → :class:`FieldInfo`, with the lookups the rules compiler needs."""

    def __init__(self) -> None:
        self._fields: dict[str, FieldInfo] = {}

    def add(self, info: FieldInfo) -> None:
        self._fields[info.name] = info

    def extend(self, infos: Iterator[FieldInfo] | list[FieldInfo]) -> None:
        for info in infos:
            self.add(info)

    def get(self, name: str) -> FieldInfo | None:
        """The field registered under exactly ``name``."""
        return self._fields.get(name)

    def resolve(self, name: str, arg: str | None = None) -> tuple[FieldInfo, str | None] | None:
        """Find the field a condition means by ``name`` (and bracket ``arg``).

        ``evt.arg.name`` resolves to ``evt.arg`` with argument ``name`` when ``evt.arg``
        takes a dotted argument and no field is registered under the full name. A field
        whose type follows its argument comes back with that type. Returns None for an
        unknown field. Argument validity is checked by
        :func:`check_arg`.
        """
        info = self._fields.get(name)
        if info is not None:
            return info.for_arg(arg), arg
        if arg is not None:
            return None
        parts = name.split(".")
        for cut in range(len(parts) - 1, 1, -1):
            base = ".".join(parts[:cut])
            info = self._fields.get(base)
            if info is not None and info.dotted_arg:
                dotted = ".".join(parts[cut:])
                return info.for_arg(dotted), dotted
        return None

    def __iter__(self) -> Iterator[FieldInfo]:
        return iter(self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        return name in self._fields


def check_arg(info: FieldInfo, arg: str | None) -> str | None:
    """Return an error message when ``arg`` does not suit ``info``, else None."""
    if arg is None:
        if info.arg_mode is ArgMode.REQUIRED:
            return f"filter {info.name} requires an argument"
        return None
    if info.arg_mode is ArgMode.NONE:
        return f"filter {info.name} does not support arguments"
    if info.arg_kind is ArgKind.INDEX and not arg.isdigit():
        return f"filter {info.name} requires a numeric index argument, got '{arg}'"
    return None
