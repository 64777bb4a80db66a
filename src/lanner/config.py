"""Configuration: defaults < lanner.yaml (Falco's keys where they exist) < ``-o key=value``.

Keys follow Falco's names so a user's habits carry over (``json_output``, ``priority``,
``rule_matching``, ``stdout_output.enabled``, ``file_output.filename``...). A value given with
``-o`` is read as YAML, so ``-o json_output=true`` is a bool and ``-o priority=warning`` a string.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

DEFAULTS: dict[str, Any] = {
    "rules_files": [],
    "priority": "debug",
    "rule_matching": "first",
    "json_output": False,
    "json_include_output_property": True,
    "json_include_tags_property": True,
    "json_include_message_property": False,
    "time_format_iso_8601": False,
    "stdout_output": {"enabled": True},
    "file_output": {
        "enabled": False,
        "keep_alive": False,
        "filename": "",
        "rotation": {"max_bytes": 0, "backups": 5},
    },
    "program_output": {"enabled": False, "keep_alive": False, "program": ""},
    "syslog_output": {"enabled": False, "address": "/dev/log"},
    "http_output": {
        "enabled": False,
        "url": "",
        "user_agent": "lanner",
        "insecure": False,
        "headers": {},
        "timeout": 10.0,
    },
    "slack_output": {
        "enabled": False,
        "webhook_url": "",
        "dashboard_url": "",
        "minimum_priority": "debug",
        "output_format": "all",
        "username": "",
        "icon_url": "",
        "channel": "",
    },
    "nats_output": {"enabled": False, "servers": [], "subject": "lanner.alerts"},
    # Delivery (lanner's own): spool, retries, noise control. docs/alerts.md describes them.
    "alerts": {
        "spool": {"path": "", "max_rows": 100_000, "max_bytes": 256 << 20, "synchronous": "normal"},
        "retry": {"initial_delay": 0.5, "max_delay": 30.0, "multiplier": 2.0, "jitter": 0.2},
        "batch_size": 256,
        "shutdown_timeout": 5.0,
        "rate_limit": {"enabled": False, "rate": 1.0, "max_burst": 10, "rules": {}},
        "fold": {
            "enabled": False,
            "window": 10.0,
            "key_fields": ["proc.exepath", "proc.pname", "container.id"],
        },
    },
    "engine": {"legacy_enter_events": False},
    # Falco's rule selections: [{enable: {rule: "glob"}}, {disable: {tag: "x"}}], in order.
    "rules": [],
    # Falco's syscall event drop monitoring (alerts/drops.py).
    "syscall_event_drops": {
        "actions": ["log", "alert"],
        "rate": 0.03333,
        "max_burst": 1,
        "threshold": 0.1,
        "simulate_drops": False,
    },
    # Performance monitoring in `lanner run` (metrics/settings.py, docs/metrics.md).
    "metrics": {"enabled": True, "snaplen": 256, "file_io": False, "latency": False},
    # /metrics and /healthz (Falco's keys; loopback unless told otherwise).
    "webserver": {"enabled": True, "listen_address": "127.0.0.1", "listen_port": 8765},
    # An alert on a container still being described by the runtime waits this long (once per
    # container) so it names the pod and image; 0: never wait.
    "containers": {"alert_wait_ms": 1000},
    # Kubernetes API enrichment (owner workload, namespace labels); off without cluster access.
    "kubernetes": {"enabled": False},
    # Falco's output additions: text and JSON fields for the rules an entry matches, and fixed
    # JSON fields for every alert (rules/append_output.py).
    "append_output": [],
    "static_fields": {},
    # fd.*ip.name: resolve the domain names rules compare those fields with (network lookups
    # to the node's resolver, so off unless turned on).
    "dns": {"enabled": False},
}

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*(\[\d*\])?(\.[A-Za-z_][A-Za-z0-9_-]*(\[\d*\])?)*$")
APPEND = -1  # a key path step written `[]`: a new item at the end of the list
_ENV_RE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


# Falco's settings lanner reads nothing from (engine drivers, plugins, gRPC, its own logging...):
# a falco.yaml brought over loads, and the user is told once which of its settings do nothing.
# fmt: off
FALCO_ONLY_KEYS = frozenset({
    "config_files", "watch_config_files", "plugins", "load_plugins", "plugins_hostinfo",
    "buffered_outputs", "outputs", "outputs_queue", "grpc", "grpc_output", "log_stderr",
    "log_syslog", "log_level", "libs_logger", "output_timeout", "syscall_event_timeouts",
    "base_syscalls", "container_engines", "container", "falco_libs", "modern_bpf",
    "syscall_buf_size_preset", "syscall_drop_failed_exit", "capture",
    "json_include_output_fields_property",
})
# ... and their sub-settings under the sections both read.
FALCO_ONLY_SUBKEYS = {
    "webserver": frozenset({
        "threadiness", "k8s_healthz_endpoint", "prometheus_metrics_enabled", "ssl_enabled",
        "ssl_certificate",
    }),
    "http_output": frozenset({
        "ca_cert", "ca_bundle", "ca_path", "compress_uploads", "keep_alive", "mtls",
        "client_cert", "client_key", "echo", "max_consecutive_timeouts",
    }),
    "metrics": frozenset({
        "interval", "output_rule", "output_file", "rules_counters_enabled",
        "resource_utilization_enabled", "state_counters_enabled", "kernel_event_counters_enabled",
        "kernel_event_counters_per_cpu_enabled", "libbpf_stats_enabled",
        "plugins_metrics_enabled", "jemalloc_stats_enabled", "convert_memory_to_mb",
        "include_empty_values",
    }),
    "engine": frozenset({"kind", "kmod", "ebpf", "modern_ebpf", "replay", "gvisor"}),
}
# fmt: on


class ConfigError(ValueError):
    """A configuration mistake: one line naming the file or the option."""


def settings_notes(data: Mapping[str, Any], source: str) -> list[str]:
    """One line per setting of `data` (from `source`: a file, or `-o`) that lanner does not
    know -- a typo, most likely, so the line suggests the nearest known name -- and one line
    listing the Falco settings lanner ignores. Values are checked where they are read."""
    unknown: list[tuple[str, str]] = []
    falco_only: list[str] = []
    _walk_settings(data, DEFAULTS, "", unknown, falco_only)
    notes = [f"{source}: unknown setting '{name}'{hint}" for name, hint in unknown]
    if falco_only:
        notes.append(f"{source}: Falco settings lanner does not use: {', '.join(falco_only)}")
    return notes


def _walk_settings(
    data: Mapping[str, Any],
    known: Mapping[str, Any],
    prefix: str,
    unknown: list[tuple[str, str]],
    falco_only: list[str],
) -> None:
    falco_keys = FALCO_ONLY_KEYS if not prefix else FALCO_ONLY_SUBKEYS.get(prefix[:-1], ())
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key in known:
            default = known[key]
            # A section with fixed keys is checked inside; free-form maps (headers, per-rule
            # limits, static fields) and lists are not.
            if isinstance(default, dict) and default and isinstance(value, Mapping):
                _walk_settings(value, default, f"{name}.", unknown, falco_only)
        elif key in falco_keys or (not prefix and key == "rules_file"):
            if key != "rules_file":
                falco_only.append(name)
        else:
            close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
            unknown.append((name, f" (did you mean '{prefix}{close[0]}'?)" if close else ""))


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """Split ``a.b[1]=value`` into a key path and a YAML-typed value."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not _KEY_RE.match(key):
        raise ConfigError(f"-o {text!r}: expected key=value (for example -o json_output=true)")
    path: list[str | int] = []
    for part in key.split("."):
        m = re.fullmatch(r"([^\[]+)(?:\[(\d*)\])?", part)
        if m is None:  # pragma: no cover - excluded by _KEY_RE
            raise ConfigError(f"-o {text!r}: bad key")
        path.append(m.group(1))
        if m.group(2) is not None:
            path.append(int(m.group(2)) if m.group(2) else APPEND)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def _set_path(cfg: dict[str, Any], path: list[str | int], value: Any, text: str) -> None:
    node: Any = cfg
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError(f"-o {text!r}: {path[i - 1]!s} is not a list")
            index = part
            if index == APPEND:
                node.append({} if isinstance(nxt, str) else [])
                index = len(node) - 1
            while len(node) <= index:
                node.append({} if isinstance(nxt, str) else [])
            node = node[index]
        else:
            if not isinstance(node, dict):
                raise ConfigError(f"-o {text!r}: {part} is not inside a mapping")
            if part not in node or not isinstance(node[part], dict | list):
                node[part] = {} if isinstance(nxt, str) else []
            node = node[part]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise ConfigError(f"-o {text!r}: not a list")
        if last == APPEND:
            node.append(value)
            return
        while len(node) <= last:
            node.append(None)
        node[last] = value
    else:
        if not isinstance(node, dict):
            raise ConfigError(f"-o {text!r}: not a mapping")
        node[last] = value


def load_config(
    path: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Build the effective configuration; `notes` receives settings_notes' lines.

    Raises:
        ConfigError: unreadable or invalid file, or a malformed ``-o`` override.
    """
    cfg = copy.deepcopy(DEFAULTS)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: configuration is not UTF-8 text") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise ConfigError(f"{path}{where}: {problem}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: configuration must be a YAML mapping")
        if "rules_file" in data:
            # Falco's older name, still read by Falco: a falco.yaml brought over works as is.
            legacy = data.pop("rules_file")
            if "rules_files" not in data:
                data["rules_files"] = legacy if isinstance(legacy, list) else [legacy]
        if notes is not None:
            notes.extend(settings_notes(data, str(path)))
        _merge(cfg, data)
    for text in overrides:
        key_path, value = parse_override(text)
        if notes is not None:
            given: dict[str, Any] = {}
            _set_path(given, key_path, value, text)
            notes.extend(settings_notes(given, f"-o {text.partition('=')[0].strip()}"))
        _set_path(cfg, key_path, value, text)
    if "rules_file" in cfg:  # `-o rules_file=...`, Falco's older name, as asked for
        legacy = cfg.pop("rules_file")
        cfg["rules_files"] = legacy if isinstance(legacy, list) else [legacy]
    expanded = expand_env(cfg)
    assert isinstance(expanded, dict)
    return expanded


def expand_env(value: Any) -> Any:
    """``${NAME}`` in every text value replaced by that environment variable (empty when
    unset), ``$${NAME}`` kept as the literal ``${NAME}``: Falco's configuration expansion."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return _ENV_RE.sub(
            lambda m: "${" + m.group(2) + "}" if m.group(1) else os.environ.get(m.group(2), ""),
            value,
        )
    if isinstance(value, dict):
        return {key: expand_env(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item) for item in value]
    return value


def get_bool(cfg: Mapping[str, Any], dotted: str, default: bool = False) -> bool:
    """A boolean setting; accepts YAML booleans and the strings true/false."""
    value: Any = cfg
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(f"{dotted}: expected true or false, got {value!r}")


def get_number(cfg: Mapping[str, Any], dotted: str, default: float) -> float:
    """A non-negative number setting."""
    value = get_value(cfg, dotted, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{dotted}: expected a number >= 0, got {value!r}")
    return float(value)


def get_value(cfg: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    value: Any = cfg
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value
