"""The `metrics.*` configuration keys of `lanner run` and `lanner top`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lanner.config import ConfigError, get_bool, get_value

DEFAULT_SNAPLEN = 256
"""Bytes of each socket read/write kept: enough for an HTTP request line and status line with
their first headers, or a MySQL query's first 250 characters."""
MAX_SNAPLEN = 4096


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = True
    snaplen: int = DEFAULT_SNAPLEN
    # Reads and writes on regular files, for per-file bytes and operations: high volume, off.
    file_io: bool = False
    # Syscall latency: a sys_enter hook on every syscall and an enter event per captured exit.
    latency: bool = False

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MetricsSettings:
        """Read and check the settings; a bad value raises ConfigError naming the key."""
        enabled = get_bool(config, "metrics.enabled", True)
        snaplen = get_value(config, "metrics.snaplen", DEFAULT_SNAPLEN)
        if isinstance(snaplen, str) and snaplen.isdigit():
            snaplen = int(snaplen)
        if isinstance(snaplen, bool) or not isinstance(snaplen, int):
            raise ConfigError(f"metrics.snaplen: expected a number of bytes, got {snaplen!r}")
        if not 0 <= snaplen <= MAX_SNAPLEN:
            raise ConfigError(f"metrics.snaplen: expected 0 to {MAX_SNAPLEN} bytes, got {snaplen}")
        file_io = get_bool(config, "metrics.file_io", False)
        latency = get_bool(config, "metrics.latency", False)
        return cls(enabled, snaplen, file_io, latency)
