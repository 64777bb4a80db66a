"""The sysdig/Falco event table: event codes, names, directions, categories, flags and params.

The data lives in `_event_defs.py` (one text line per enter/exit pair, in code order); this
module parses it once at import into `EventInfo` records indexed by code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lanner.events._event_defs import EVENT_LINES
from lanner.events._syscalls import SYSCALL_NAMES


class ParamType(enum.IntEnum):
    """Wire types of event parameters (PPM param types)."""

    NONE = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    CHARBUF = 9
    BYTEBUF = 10
    ERRNO = 11
    SOCKADDR = 12
    SOCKTUPLE = 13
    FD = 14
    PID = 15
    FDLIST = 16
    FSPATH = 17
    SYSCALLID = 18
    SIGTYPE = 19
    RELTIME = 20
    ABSTIME = 21
    PORT = 22
    L4PROTO = 23
    SOCKFAMILY = 24
    BOOL = 25
    IPV4ADDR = 26
    DYN = 27
    FLAGS8 = 28
    FLAGS16 = 29
    FLAGS32 = 30
    UID = 31
    GID = 32
    DOUBLE = 33
    SIGSET = 34
    CHARBUFARRAY = 35
    CHARBUF_PAIR_ARRAY = 36
    IPV4NET = 37
    IPV6ADDR = 38
    IPV6NET = 39
    IPADDR = 40
    IPNET = 41
    MODE = 42
    FSRELPATH = 43
    ENUMFLAGS8 = 44
    ENUMFLAGS16 = 45
    ENUMFLAGS32 = 46
    FD32 = 47
    PID32 = 48


# Event flags (bit values of the PPM EF_* flags).
EF_NONE = 0
EF_CREATES_FD = 1 << 0
EF_DESTROYS_FD = 1 << 1
EF_USES_FD = 1 << 2
EF_READS_FROM_FD = 1 << 3
EF_WRITES_TO_FD = 1 << 4
EF_MODIFIES_STATE = 1 << 5
EF_UNUSED = 1 << 6
EF_WAITS = 1 << 7
EF_SKIPPARSERESET = 1 << 8
EF_OLD_VERSION = 1 << 9
EF_DROP_SIMPLE_CONS = 1 << 10
EF_LARGE_PAYLOAD = 1 << 11

_FLAG_ABBREVIATIONS = {
    "CF": EF_CREATES_FD,
    "DF": EF_DESTROYS_FD,
    "UF": EF_USES_FD,
    "RF": EF_READS_FROM_FD,
    "WF": EF_WRITES_TO_FD,
    "MS": EF_MODIFIES_STATE,
    "UN": EF_UNUSED,
    "W": EF_WAITS,
    "SR": EF_SKIPPARSERESET,
    "OV": EF_OLD_VERSION,
    "LP": EF_LARGE_PAYLOAD,
}
_KINDS = {"S": "syscall", "T": "tracepoint", "M": "metaevent", "P": "plugin"}

# Well-known codes other packages refer to.
GENERIC_E = 0
GENERIC_X = 1
PROCINFO_E = 234


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of an event: its name, wire type, print format and flag table.

    `fmt` is "DEC", "HEX", "OCT" or "NA" (not a number). `flag_table` names the table of
    flag or enum names (or the dynamic-parameter table of a DYN param). `dirfd_param` is,
    for an FSRELPATH, the index of the dirfd parameter the relative path resolves against.
    """

    name: str
    type: ParamType
    fmt: str
    flag_table: str | None
    dirfd_param: int | None = None


@dataclass(frozen=True)
class EventInfo:
    """One entry of the event table. `direction` is '>' (enter) or '<' (exit)."""

    code: int
    name: str
    direction: str
    category: str
    flags: int
    params: tuple[ParamInfo, ...]
    kind: str = "syscall"
    param_names: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def nparams(self) -> int:
        return len(self.params)

    @property
    def large_payload(self) -> bool:
        """Parameter lengths are u32 (not u16) in the record."""
        return bool(self.flags & EF_LARGE_PAYLOAD)

    @property
    def old_version(self) -> bool:
        return bool(self.flags & EF_OLD_VERSION)


_NUMERIC = {
    ParamType.INT8,
    ParamType.INT16,
    ParamType.INT32,
    ParamType.INT64,
    ParamType.UINT8,
    ParamType.UINT16,
    ParamType.UINT32,
    ParamType.UINT64,
    ParamType.ERRNO,
    ParamType.FD,
    ParamType.PID,
    ParamType.SYSCALLID,
    ParamType.SIGTYPE,
    ParamType.RELTIME,
    ParamType.ABSTIME,
    ParamType.PORT,
    ParamType.L4PROTO,
    ParamType.SOCKFAMILY,
    ParamType.BOOL,
    ParamType.DYN,
    ParamType.FLAGS8,
    ParamType.FLAGS16,
    ParamType.FLAGS32,
    ParamType.UID,
    ParamType.GID,
    ParamType.MODE,
    ParamType.ENUMFLAGS8,
    ParamType.ENUMFLAGS16,
    ParamType.ENUMFLAGS32,
    ParamType.FD32,
    ParamType.PID32,
}


def _parse_param(spec: str) -> ParamInfo:
    name, type_name, *extra = spec.split(":")
    ptype = ParamType[type_name]
    fmt = "DEC" if ptype in _NUMERIC else "NA"
    table: str | None = None
    dirfd: int | None = None
    for item in extra:
        if item == "x":
            fmt = "HEX"
        elif item == "o":
            fmt = "OCT"
        elif item.startswith("@"):
            dirfd = int(item[1:])
        else:
            table = item
    return ParamInfo(name, ptype, fmt, table, dirfd)


def _parse_flags(token: str) -> tuple[int, int]:
    parts = token.split("/")
    values = []
    for part in parts:
        value = 0
        if part != "-":
            for abbrev in part.split(","):
                value |= _FLAG_ABBREVIATIONS[abbrev]
        values.append(value)
    return values[0], values[-1]


def _make(  # noqa: PLR0917  (one positional call site, mirrors the EventInfo fields)
    code: int, name: str, direction: str, category: str, kind: str, flags: int, params: str
) -> EventInfo:
    infos = tuple(_parse_param(p) for p in params.split())
    names: dict[str, int] = {}
    for index, info in enumerate(infos):
        names.setdefault(info.name, index)
    return EventInfo(code, name, direction, category, flags, infos, kind, names)


def _build_table() -> tuple[EventInfo, ...]:
    events: list[EventInfo] = []
    for line in EVENT_LINES.strip().splitlines():
        head, enter_params, exit_params = (part.strip() for part in line.split("|"))
        name, kind_category, flag_token = head.split()
        kind_letter, category = kind_category.split(":")
        kind = _KINDS[kind_letter]
        enter_flags, exit_flags = _parse_flags(flag_token)
        code = len(events)
        events.append(_make(code, name, ">", category, kind, enter_flags, enter_params))
        if exit_params == "-":
            # An unused exit slot (tracepoint and meta events exist only as "enter").
            unused = EF_UNUSED | (enter_flags & EF_OLD_VERSION)
            events.append(_make(code + 1, "NA", "<", "unknown", kind, unused, ""))
        else:
            events.append(_make(code + 1, name, "<", category, kind, exit_flags, exit_params))
    return tuple(events)


EVENT_TABLE: tuple[EventInfo, ...] = _build_table()
EVENT_MAX = len(EVENT_TABLE)


def event_info(code: int) -> EventInfo | None:
    """The table entry of an event code, or None for a code this table does not know."""
    if 0 <= code < EVENT_MAX:
        return EVENT_TABLE[code]
    return None


def syscall_name(ppm_sc: int) -> str | None:
    """The name of a PPM syscall code (the SYSCALLID parameter of generic events)."""
    if 0 < ppm_sc < len(SYSCALL_NAMES):
        return SYSCALL_NAMES[ppm_sc] or None
    return None


_TYPE_NAMES: frozenset[str] = frozenset(
    {info.name for info in EVENT_TABLE if info.name != "NA"} | {n for n in SYSCALL_NAMES if n}
)


def event_type_names() -> frozenset[str]:
    """Every name `evt.type` can take: event names and every syscall name."""
    return _TYPE_NAMES


def codes_for_name(name: str) -> tuple[int, ...]:
    """All event codes (both directions, all versions) whose name is `name`."""
    return _CODES_BY_NAME.get(name, ())


def _codes_by_name() -> dict[str, tuple[int, ...]]:
    grouped: dict[str, list[int]] = {}
    for info in EVENT_TABLE:
        grouped.setdefault(info.name, []).append(info.code)
    return {name: tuple(codes) for name, codes in grouped.items()}


_CODES_BY_NAME = _codes_by_name()
