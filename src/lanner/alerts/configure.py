"""Sinks and the dispatcher from the configuration (falco.yaml's output keys, plus lanner's
``slack_output``, ``nats_output`` and the ``alerts`` section). Mistakes raise
``SinkConfigError`` with one line naming the key."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lanner.alerts.alert import OutputOptions
from lanner.alerts.delivery import AlertDispatcher, RetryPolicy
from lanner.alerts.http_sinks import HttpSink, SlackSink
from lanner.alerts.limits import (
    DEFAULT_FOLD_KEYS,
    AlertFolder,
    AlertLimiter,
    RateSpec,
    RuleRateLimiter,
)
from lanner.alerts.local_sinks import FileSink, ProgramSink, StdoutSink, SyslogSink
from lanner.alerts.nats_sink import NatsSink
from lanner.alerts.sink import LineFormat, Sink, SinkConfigError
from lanner.store.spool import AlertSpool, SpoolError, SpoolLimits

Log = Callable[[str], None]


def _section(cfg: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = cfg.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SinkConfigError(f"{key}: expected a mapping, got {value!r}")
    return value


def _bool(section: Mapping[str, Any], key: str, name: str, default: bool = False) -> bool:
    value = section.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SinkConfigError(f"{key}.{name}: expected true or false, got {value!r}")


def _number(
    section: Mapping[str, Any], key: str, name: str, default: float, *, minimum: float = 0
) -> float:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise SinkConfigError(f"{key}.{name}: expected a number >= {minimum:g}, got {value!r}")
    return float(value)


def _int(section: Mapping[str, Any], key: str, name: str, default: int, *, minimum: int = 0) -> int:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SinkConfigError(f"{key}.{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def _text(section: Mapping[str, Any], key: str, name: str, default: str = "") -> str:
    value = section.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise SinkConfigError(f"{key}.{name}: expected text, got {value!r}")
    return str(value)


def _required(section: Mapping[str, Any], key: str, name: str) -> str:
    value = _text(section, key, name)
    if not value:
        raise SinkConfigError(f"{key}.{name}: required when {key}.enabled is true")
    return value


def build_sinks(
    cfg: Mapping[str, Any], fmt: LineFormat, log: Log, options: OutputOptions | None = None
) -> list[Sink]:
    """The enabled sinks, in a fixed order (stdout, file, syslog, program, http, slack, nats)."""
    options = options or fmt.options
    sinks: list[Sink] = []
    if _bool(_section(cfg, "stdout_output"), "stdout_output", "enabled", True):
        sinks.append(StdoutSink(fmt))
    section = _section(cfg, "file_output")
    if _bool(section, "file_output", "enabled"):
        filename = _text(section, "file_output", "filename")
        if not filename:
            # Falco starts with an empty file name too (its own tests do it); say so and go on.
            log("file_output: enabled without a filename; file output disabled")
        else:
            rotation = _section(section, "rotation")
            key = "file_output.rotation"
            sinks.append(
                FileSink(
                    fmt,
                    Path(filename),
                    keep_alive=_bool(section, "file_output", "keep_alive"),
                    max_bytes=_int(rotation, key, "max_bytes", 0),
                    backups=_int(rotation, key, "backups", 5),
                )
            )
    section = _section(cfg, "syslog_output")
    if _bool(section, "syslog_output", "enabled"):
        sinks.append(SyslogSink(fmt, _text(section, "syslog_output", "address", "/dev/log")))
    section = _section(cfg, "program_output")
    if _bool(section, "program_output", "enabled"):
        program = _text(section, "program_output", "program")
        if not program:
            log("program_output: enabled without a program; program output disabled")
        else:
            keep = _bool(section, "program_output", "keep_alive")
            sinks.append(ProgramSink(fmt, program, keep_alive=keep))
    section = _section(cfg, "http_output")
    if _bool(section, "http_output", "enabled"):
        headers = section.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise SinkConfigError(f"http_output.headers: expected a mapping, got {headers!r}")
        sinks.append(
            HttpSink(
                _required(section, "http_output", "url"),
                options=options,
                user_agent=_text(section, "http_output", "user_agent", "lanner"),
                headers={str(k): str(v) for k, v in headers.items()},
                insecure=_bool(section, "http_output", "insecure"),
                timeout=_number(section, "http_output", "timeout", 10.0, minimum=0.001),
            )
        )
    section = _section(cfg, "slack_output")
    if _bool(section, "slack_output", "enabled"):
        key = "slack_output"
        sinks.append(
            SlackSink(
                _required(section, key, "webhook_url"),
                minimum_priority=_text(section, key, "minimum_priority", "debug"),
                output_format=_text(section, key, "output_format", "all"),
                dashboard_url=_text(section, key, "dashboard_url"),
                username=_text(section, key, "username"),
                icon_url=_text(section, key, "icon_url"),
                channel=_text(section, key, "channel"),
            )
        )
    section = _section(cfg, "nats_output")
    if _bool(section, "nats_output", "enabled"):
        servers = section.get("servers") or []
        if isinstance(servers, str):
            servers = [s.strip() for s in servers.split(",") if s.strip()]
        if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
            raise SinkConfigError(f"nats_output.servers: expected a list of URLs, got {servers!r}")
        sinks.append(
            NatsSink(servers, _required(section, "nats_output", "subject"), options=options)
        )
    return sinks


def build_limiter(cfg: Mapping[str, Any]) -> AlertLimiter | None:
    """``alerts.fold`` and ``alerts.rate_limit``; None when both are off."""
    alerts = _section(cfg, "alerts")
    fold_cfg = _section(alerts, "fold")
    rate_cfg = _section(alerts, "rate_limit")
    folder = None
    if _bool(fold_cfg, "alerts.fold", "enabled"):
        keys = fold_cfg.get("key_fields", list(DEFAULT_FOLD_KEYS))
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise SinkConfigError(
                f"alerts.fold.key_fields: expected a list of fields, got {keys!r}"
            )
        window = _number(fold_cfg, "alerts.fold", "window", 10.0, minimum=0.001)
        folder = AlertFolder(window, keys)
    rate = None
    if _bool(rate_cfg, "alerts.rate_limit", "enabled"):
        default = RateSpec(
            _number(rate_cfg, "alerts.rate_limit", "rate", 1.0, minimum=1e-9),
            _int(rate_cfg, "alerts.rate_limit", "max_burst", 10, minimum=1),
        )
        per_rule: dict[str, RateSpec] = {}
        for rule, spec in _section(rate_cfg, "rules").items():
            key = f"alerts.rate_limit.rules.{rule}"
            if not isinstance(spec, Mapping):
                raise SinkConfigError(f"{key}: expected a mapping with rate and max_burst")
            per_rule[str(rule)] = RateSpec(
                _number(spec, key, "rate", default.rate, minimum=1e-9),
                _int(spec, key, "max_burst", default.max_burst, minimum=1),
            )
        rate = RuleRateLimiter(default, per_rule)
    if folder is None and rate is None:
        return None
    return AlertLimiter(folder, rate)


def build_dispatcher(
    cfg: Mapping[str, Any],
    fmt: LineFormat,
    *,
    log: Log,
    default_spool: Path | None = None,
    live: bool = False,
) -> AlertDispatcher:
    """Everything the engine's ``on_alert`` needs, from the configuration.

    ``default_spool`` is where the spool lives unless ``alerts.spool.path`` says otherwise;
    None (replay) means a private temporary spool. ``live`` closes fold windows on the wall
    clock too, not only when later alerts arrive.

    Raises:
        SinkConfigError: a mistake in the settings, or a spool that cannot be opened.
    """
    sinks = build_sinks(cfg, fmt, log)
    alerts = _section(cfg, "alerts")
    spool_cfg = _section(alerts, "spool")
    retry_cfg = _section(alerts, "retry")
    spool_path_text = _text(spool_cfg, "alerts.spool", "path")
    spool_path = Path(spool_path_text) if spool_path_text else default_spool
    limits = SpoolLimits(
        max_rows=_int(spool_cfg, "alerts.spool", "max_rows", SpoolLimits.max_rows, minimum=1),
        max_bytes=_int(spool_cfg, "alerts.spool", "max_bytes", SpoolLimits.max_bytes, minimum=1),
    )
    retry = RetryPolicy(
        initial=_number(retry_cfg, "alerts.retry", "initial_delay", RetryPolicy.initial),
        maximum=_number(retry_cfg, "alerts.retry", "max_delay", RetryPolicy.maximum),
        multiplier=_number(
            retry_cfg, "alerts.retry", "multiplier", RetryPolicy.multiplier, minimum=1
        ),
        jitter=_number(retry_cfg, "alerts.retry", "jitter", RetryPolicy.jitter),
    )
    if retry.jitter > 1:
        raise SinkConfigError(
            f"alerts.retry.jitter: expected a number in [0, 1], got {retry.jitter}"
        )
    limiter = build_limiter(cfg)
    spooled = [s.name for s in sinks if s.spooled]
    spool = None
    if spooled:
        try:
            spool = AlertSpool(
                spool_path,
                spooled,
                limits,
                synchronous=_text(spool_cfg, "alerts.spool", "synchronous", "normal"),
            )
        except SpoolError as exc:
            for sink in sinks:
                sink.close()
            raise SinkConfigError(f"alerts.spool: {exc}") from None
    return AlertDispatcher(
        sinks,
        spool=spool,
        limiter=limiter,
        retry=retry,
        batch_size=_int(alerts, "alerts", "batch_size", 256, minimum=1),
        shutdown_timeout=_number(alerts, "alerts", "shutdown_timeout", 5.0),
        log=log,
        fold_clock=time.time_ns if live else None,
    )
