"""Small conversions from decoded event parameters to state values.

Parameters arrive decoded by the events package (str, bytes, int, SockAddr, SockTuple...); old
capture formats and missing parameters give None or raw bytes, so every helper here accepts
what it can and falls back to an empty value instead of raising.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

# PPM open flags that matter to the fd table.
O_DIRECTORY = 1 << 10
O_CLOEXEC = 1 << 12
O_F_CREATED = 1 << 14

AT_FDCWD = -100

_MAPPED_PREFIX = "::ffff:"


def as_str(value: Any) -> str:
    """Text of a CHARBUF/FSPATH parameter ("" when absent)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
    return str(value)


def as_int(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def split_nul(value: Any) -> list[str]:
    """A NUL-separated list parameter (args, env, cgroups) as a list of strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [as_str(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if raw.endswith(b"\0"):
            raw = raw[:-1]
        if not raw:
            return []
        return [part.decode("utf-8", "replace") for part in raw.split(b"\0")]
    text = str(value)
    if text.endswith("\0"):
        text = text[:-1]
    return text.split("\0") if text else []


def split_cgroups(items: list[str]) -> list[tuple[str, str]]:
    """ "subsys=path" strings → (subsys, path) pairs, as libsinsp keeps them."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        subsys, sep, path = item.partition("=")
        if sep:
            pairs.append((subsys, path))
    return pairs


@functools.lru_cache(maxsize=4096)
def _mapped(ip: str) -> str | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return None


def unmap_ipv4(ip: str | None) -> str | None:
    """An IPv4-mapped IPv6 address ("::ffff:1.2.3.4") as IPv4 text; others unchanged."""
    if ip is None or not ip.startswith(_MAPPED_PREFIX):
        return ip
    mapped = _mapped(ip)
    return ip if mapped is None else mapped


def is_mapped_ipv4(ip: str | None) -> bool:
    return ip is not None and ip.startswith(_MAPPED_PREFIX) and _mapped(ip) is not None


def counts_as_ipv4(ip: str | None) -> bool:
    """libsinsp's is_ipv4_mapped_ipv6: an IPv4-mapped address, or the all-zero one ("::", the
    wildcard of a dual-stack socket, which libsinsp assumes IPv4 as well)."""
    return ip == "::" or is_mapped_ipv4(ip)


def to_ipv4(ip: str | None) -> str | None:
    """The IPv4 text of an address `counts_as_ipv4` accepts ("::" is 0.0.0.0)."""
    return "0.0.0.0" if ip == "::" else unmap_ipv4(ip)


def is_unspecified(ip: str | None) -> bool:
    return ip is None or ip in ("0.0.0.0", "::", "")


def is_loopback(ip: str | None) -> bool:
    return ip is not None and (ip.startswith("127.") or ip == "::1")


def endpoint_text(ip: str | None, port: int | None) -> str:
    """ "ip:port" as sysdig prints it (IPv6 addresses are not bracketed)."""
    return f"{ip if ip is not None else ''}:{port if port is not None else 0}"


def concat_path(base: str, name: str) -> str:
    """name resolved against directory base, normalised like libsinsp's concatenate_paths:
    "." and ".." segments collapse, duplicate slashes vanish, no trailing slash is kept."""
    if not name:
        return normalize_path(base) if base else ""
    if name.startswith("/") or not base:
        return normalize_path(name)
    return normalize_path(base.rstrip("/") + "/" + name)


def normalize_path(path: str) -> str:
    if not path.startswith("/"):
        return path
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def dir_with_slash(path: str) -> str:
    """A directory as libsinsp stores a cwd: with one trailing slash."""
    if not path:
        return path
    return path if path.endswith("/") else path + "/"
