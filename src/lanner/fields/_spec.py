"""Small helpers the field-class modules use to declare their fields tersely."""

from __future__ import annotations

from typing import Any

from lanner.fields.registry import (
    ArgKind,
    ArgMode,
    Extractor,
    ExtractorFactory,
    FieldInfo,
    FieldType,
)

S = FieldType.STRING
I = FieldType.INT  # noqa: E741 - reads as a type letter in the tables
D = FieldType.DOUBLE
B = FieldType.BOOL
IP = FieldType.IPADDR
NET = FieldType.IPNET
BUF = FieldType.BYTES
ABS = FieldType.ABSTIME
REL = FieldType.RELTIME


def fixed(extract: Extractor) -> ExtractorFactory:
    """A factory for a field without argument: every bind returns the same extractor."""

    def factory(_arg: str | None) -> Extractor:
        return extract

    return factory


def spec(
    name: str,
    type_: FieldType,
    desc: str,
    factory: ExtractorFactory | None = None,
    *,
    arg: ArgMode = ArgMode.NONE,
    kind: ArgKind = ArgKind.KEY,
    dotted: bool = False,
    is_list: bool = False,
    any_without_arg: bool = False,
    filter_only: bool = False,
    either_port: bool = False,
) -> FieldInfo:
    """One registry entry; ``factory`` may be a plain extractor-factory or None."""
    return FieldInfo(
        name=name,
        type=type_,
        desc=desc,
        arg_mode=arg,
        arg_kind=kind,
        dotted_arg=dotted,
        is_list=is_list,
        any_without_arg=any_without_arg,
        filter_only=filter_only,
        either_port=either_port,
        factory=factory,
    )


def none_extractor(_event: Any) -> None:
    """The extractor of a field whose value this build never knows."""
    return None
