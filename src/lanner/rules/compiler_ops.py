"""What the compiled conditions call at run time, and how right-hand values are read.

Right-hand values are converted once, at compile time, to the Python type a field's
extractor returns (``int`` for numeric fields, ``bytes`` for buffers, canonical text for IP
addresses...). ``make_predicate`` turns one operator and one converted value into a
``predicate(value) -> bool`` for a value known not to be None; the compiler inlines the
common operators instead and calls these for the rest.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import ipaddress
import posixpath
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lanner.fields.registry import FieldType
from lanner.rules.errors import ConditionCompileError

Predicate = Callable[[Any], bool]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NUMERIC_TYPES = frozenset({FieldType.INT, FieldType.DOUBLE, FieldType.ABSTIME, FieldType.RELTIME})
IP_TYPES = frozenset({FieldType.IPADDR, FieldType.IPNET})

EQUALITY_OPS = frozenset({"=", "==", "!=", "in", "intersects", "exists"})
ORDER_OPS = frozenset({"<", "<=", ">", ">="})
STRING_ONLY_OPS = frozenset(
    {"contains", "icontains", "startswith", "endswith", "glob", "iglob", "regex", "pmatch"}
)
LIST_OPS = frozenset({"in", "intersects", "pmatch"})

ALLOWED_OPS: dict[FieldType, frozenset[str]] = {
    FieldType.STRING: EQUALITY_OPS | ORDER_OPS | STRING_ONLY_OPS,
    FieldType.INT: EQUALITY_OPS | ORDER_OPS,
    FieldType.DOUBLE: EQUALITY_OPS | ORDER_OPS,
    FieldType.ABSTIME: EQUALITY_OPS | ORDER_OPS,
    FieldType.RELTIME: EQUALITY_OPS | ORDER_OPS,
    FieldType.BOOL: EQUALITY_OPS,
    FieldType.IPADDR: EQUALITY_OPS,
    FieldType.IPNET: EQUALITY_OPS,
    FieldType.BYTES: EQUALITY_OPS
    | {"contains", "startswith", "endswith", "bcontains", "bstartswith"},
}
LIST_FIELD_OPS = frozenset({"in", "intersects", "exists"})
"""Operators for list-valued fields (``fd.types``), as in libsinsp."""

_INTEGER_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)")


# -- right-hand values ---------------------------------------------------------------


def convert_value(text: str, ftype: FieldType, field: str, op: str) -> Any:
    """``text`` as the Python value ``field``'s extractor would return; raise on bad values."""
    if op in ("bcontains", "bstartswith"):
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ConditionCompileError(
                f"{op} on {field} needs a hexadecimal byte string, got '{text}'"
            ) from None
    if ftype in (FieldType.INT, FieldType.ABSTIME, FieldType.RELTIME):
        if not _INTEGER_RE.fullmatch(text):
            raise ConditionCompileError(f"invalid value '{text}' for {field}: expected an integer")
        return int(text, 0)
    if ftype is FieldType.DOUBLE:
        try:
            return float(text)
        except ValueError:
            raise ConditionCompileError(
                f"invalid value '{text}' for {field}: expected a number"
            ) from None
    if ftype is FieldType.BOOL:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ConditionCompileError(
                f"invalid value '{text}' for {field}: expected true or false"
            )
        return lowered == "true"
    if ftype in IP_TYPES:
        return parse_ip_value(text, field, network=ftype is FieldType.IPNET)
    if ftype is FieldType.BYTES:
        return text.encode()
    return text


def parse_ip_value(text: str, field: str, *, network: bool) -> str | IpNetwork:
    """Canonical text of an address, or a network for CIDR values (and for IPNET fields)."""
    try:
        if network or "/" in text:
            return ipaddress.ip_network(text, strict=False)
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ConditionCompileError(
            f"invalid value '{text}' for {field}: expected an IP address or CIDR network"
        ) from None


# -- predicates on one non-None value -----------------------------------------------


def make_predicate(op: str, ftype: FieldType, value: Any) -> Predicate:
    """``predicate(x)`` for ``x <op> value``; for list operators ``value`` is a tuple."""
    if ftype in IP_TYPES:
        return _ip_predicate(op, value)
    if op in ("=", "=="):
        return lambda x: bool(x == value)
    if op == "!=":
        return lambda x: bool(x != value)
    if op == "<":
        return lambda x: bool(x < value)
    if op == "<=":
        return lambda x: bool(x <= value)
    if op == ">":
        return lambda x: bool(x > value)
    if op == ">=":
        return lambda x: bool(x >= value)
    if op in ("contains", "bcontains"):
        return lambda x: value in x
    if op == "icontains":
        lowered = value.lower()
        return lambda x: lowered in x.lower()
    if op in ("startswith", "bstartswith"):
        return lambda x: bool(x.startswith(value))
    if op == "endswith":
        return lambda x: bool(x.endswith(value))
    if op in ("glob", "iglob"):
        flags = re.IGNORECASE if op == "iglob" else 0
        pattern = re.compile(fnmatch.translate(value), flags | re.DOTALL)
        return lambda x: pattern.match(x) is not None
    if op == "regex":
        compiled = compile_regex(value)
        return lambda x: compiled.fullmatch(x) is not None
    if op in ("in", "intersects"):
        members = frozenset(value)
        return lambda x: x in members
    if op == "pmatch":
        return PathPrefixes(value).match
    raise ConditionCompileError(f"operator '{op}' is not supported")


def compile_regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as err:
        raise ConditionCompileError(f"invalid regular expression '{text}': {err}") from None


def _ip_predicate(op: str, value: Any) -> Predicate:
    """IP comparisons: addresses compare by canonical text, networks by membership.

    The value may be one address or several (a filter-only field such as ``fd.ip``
    standing for both ends): the check holds when any of them matches.
    """
    targets: tuple[Any, ...] = value if op in ("in", "intersects") else (value,)
    addresses = frozenset(t for t in targets if isinstance(t, str))
    networks = tuple(t for t in targets if not isinstance(t, str))

    def matches_one(address: Any) -> bool:
        if address in addresses:
            return True
        if networks:
            try:
                parsed = ipaddress.ip_address(address)
            except ValueError:
                return False
            return any(parsed in net for net in networks)
        return False

    def matches(x: Any) -> bool:
        if isinstance(x, str):
            return matches_one(x)
        return any(matches_one(item) for item in x if item is not None)

    if op == "!=":
        return lambda x: not matches(x)
    return matches


class PathPrefixes:
    """``pmatch``: a path matches when it is one of the prefixes or lies below one."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        self.prefixes = frozenset(_strip_slash(p) for p in prefixes)
        self.root = "" in self.prefixes

    def match(self, path: Any) -> bool:
        if not isinstance(path, str):
            return False
        if path in self.prefixes or (self.root and path.startswith("/")):
            return True
        # Test each leading component chain of the path: /a, /a/b, /a/b/c ...
        cut = path.find("/", 1)
        while cut != -1:
            if path[:cut] in self.prefixes:
                return True
            cut = path.find("/", cut + 1)
        return _strip_slash(path) in self.prefixes


def _strip_slash(path: str) -> str:
    return path.rstrip("/") if path != "/" else ""


def combine_modifier(modifier: str, predicates: Sequence[Predicate]) -> Predicate:
    """``oneof``/``anyof``: one item suffices; ``allof``: every item must hold."""
    if modifier == "allof":
        return lambda x: all(p(x) for p in predicates)
    return lambda x: any(p(x) for p in predicates)


def any_element(predicate: Predicate, values: Any) -> bool:
    """Ancestor fields without index: true when any known ancestor value matches."""
    return any(predicate(v) for v in values if v is not None)


# -- field-to-field comparisons (val() and transformers on the right) ---------------


def make_dynamic(op: str, ftype: FieldType, field: str) -> Callable[[Any, Any], bool]:
    """``compare(x, y)`` for ``x <op> y`` where y is another field's value at run time."""
    if ftype in IP_TYPES and op in ("=", "==", "!="):
        negate = op == "!="
        return lambda x, y: (_canonical_ip(x) == _canonical_ip(y)) != negate
    simple: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda x, y: bool(x == y),
        "==": lambda x, y: bool(x == y),
        "!=": lambda x, y: bool(x != y),
        "<": lambda x, y: bool(x < y),
        "<=": lambda x, y: bool(x <= y),
        ">": lambda x, y: bool(x > y),
        ">=": lambda x, y: bool(x >= y),
        "contains": lambda x, y: y in x,
        "icontains": lambda x, y: y.lower() in x.lower(),
        "startswith": lambda x, y: bool(x.startswith(y)),
        "endswith": lambda x, y: bool(x.endswith(y)),
        "in": _dynamic_in,
        "intersects": _dynamic_in,
    }
    compare = simple.get(op)
    if compare is None:
        raise ConditionCompileError(f"operator '{op}' cannot compare {field} with a field value")

    def guarded(x: Any, y: Any) -> bool:
        try:
            return compare(x, y)
        except (TypeError, AttributeError):
            return False  # values of different kinds never match

    return guarded


def _dynamic_in(x: Any, y: Any) -> bool:
    if isinstance(y, list | tuple | set | frozenset):
        return x in y
    return bool(x == y)


def _canonical_ip(text: Any) -> Any:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


# -- transformers --------------------------------------------------------------------


def _lower(x: Any) -> Any:
    return x.lower()


def _upper(x: Any) -> Any:
    return x.upper()


def _basename(x: Any) -> Any:
    return posixpath.basename(x)


def _b64decode(x: Any) -> Any:
    data = x.encode() if isinstance(x, str) else bytes(x)
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None  # not base64: the value is unavailable
    return decoded.decode("utf-8", "replace")


STRING_TRANSFORMERS: dict[str, Callable[[Any], Any]] = {
    "tolower": _lower,
    "toupper": _upper,
    "basename": _basename,
    "b64": _b64decode,
}


def map_scalar(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply a string transformer to one value (None stays None)."""

    def apply(x: Any) -> Any:
        return None if x is None else func(x)

    return apply


def map_each(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply a string transformer to every value of a list or ancestor sequence."""

    def apply(xs: Any) -> Any:
        if xs is None:
            return None
        return [None if x is None else func(x) for x in xs]

    return apply


def length(x: Any) -> Any:
    """``len()``: characters of a string, bytes of a buffer, items of a list."""
    return None if x is None else len(x)


# -- fd.port / fd.proto ----------------------------------------------------------------

PORT_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "in"})


def port_value(text: str, field: str) -> int:
    """A port on the right of fd.port/fd.proto: a number, or a service name from the services
    table (``http`` is 80), as libsinsp reads its PT_PORT values."""
    if text.isdigit():
        port = int(text)
        if port > 0xFFFF:
            raise ConditionCompileError(f"{field}: port {text} is out of range (0-65535)")
        return port
    try:
        return socket.getservbyname(text)
    except OSError:
        raise ConditionCompileError(f"{field}: unrecognized protocol {text!r}") from None
