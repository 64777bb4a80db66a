"""What ``lanner replay`` and ``lanner run`` share: configuration, rules and alert output."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import typer

from lanner.alerts.alert import Alert, OutputOptions
from lanner.alerts.configure import build_dispatcher
from lanner.alerts.delivery import AlertDispatcher
from lanner.alerts.drops import DropConfigError, DropSettings
from lanner.alerts.sink import LineFormat, SinkConfigError
from lanner.cli.app_base import fail
from lanner.config import ConfigError, get_bool, get_value, load_config
from lanner.engine import EngineStats
from lanner.enrich.dns import DnsNames, watched_names
from lanner.fields import default_registry
from lanner.rules.append_output import (
    AppendOutputError,
    apply_append_output,
    parse_append_output,
)
from lanner.rules.loader import expand_rules_paths, load_rules_files
from lanner.rules.results import LoadMessage
from lanner.rules.ruleset import Priority, Ruleset, parse_selections

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules" / "default" / "lanner_rules.yaml"
EXIT_RULES_INVALID = 1


@dataclass
class DetectSetup:
    config: dict[str, Any]
    ruleset: Ruleset
    output_options: OutputOptions
    json_output: bool
    legacy_events: bool
    drops: DropSettings
    log: Callable[[str], None]
    dns_names: tuple[str, ...] = ()
    """Domain names the enabled rules compare fd.*ip.name fields with (see attach_dns)."""
    dns_enabled: bool = False
    """`dns.enabled`: resolve those names in the background (off by default)."""


def load_settings(config_file: Path | None, overrides: Sequence[str]) -> dict[str, Any]:
    notes: list[str] = []
    try:
        config = load_config(config_file, list(overrides), notes)
    except ConfigError as exc:
        fail(str(exc))
        raise  # pragma: no cover - fail() exits
    for note in notes:
        typer.echo(f"lanner: warning: {note}", err=True)
    return config


def make_logger(iso8601: bool, quiet: bool = False) -> Callable[[str], None]:
    """Falco-style diagnostics on stderr: ``<wall time>: message``."""

    def log(message: str) -> None:
        if quiet:
            return
        now = time.time()
        if iso8601:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(now))
        else:
            stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(now))
        sys.stderr.write(f"{stamp}: {message}\n")

    return log


def _print_load_message(message: LoadMessage, kind: str) -> None:
    typer.echo(f"{message.one_line()} [{kind}]", err=True)
    if message.snippet:
        for line in message.snippet.splitlines():
            typer.echo(f"    {line}", err=True)


def build_setup(
    *,
    rules_files: Sequence[Path],
    config: dict[str, Any],
    json_flag: bool = False,
    legacy_flag: bool = False,
    min_priority: str | None = None,
    enable_tags: Sequence[str] = (),
    disable_tags: Sequence[str] = (),
    disable_rules: Sequence[str] = (),
    quiet: bool = False,
) -> DetectSetup:
    """Load and select the rules; exits with a one-line error (and the rule file's messages)
    on any mistake."""
    files = list(rules_files) or [Path(p) for p in config.get("rules_files") or []]
    if not files:
        files = [DEFAULT_RULES]
    try:
        iso = get_bool(config, "time_format_iso_8601")
        drops = DropSettings.from_config(get_value(config, "syscall_event_drops"))
    except (ConfigError, DropConfigError) as exc:
        fail(str(exc))
        raise  # pragma: no cover
    log = make_logger(iso, quiet)
    files = expand_rules_paths(files)
    for path in files:
        log(f"Loading rules from file {path}")
    loaded = load_rules_files(files)
    for file_result in loaded.result.files:
        for message in file_result.errors:
            _print_load_message(message, "error")
    if not loaded.successful:
        fail(f"could not load rules from {', '.join(str(f) for f in files)}", EXIT_RULES_INVALID)
    try:
        json_output = json_flag or get_bool(config, "json_output")
        options = OutputOptions(
            time_format_iso_8601=get_bool(config, "time_format_iso_8601"),
            json_include_output_property=get_bool(config, "json_include_output_property", True),
            json_include_tags_property=get_bool(config, "json_include_tags_property", True),
            json_include_message_property=get_bool(config, "json_include_message_property"),
        )
        legacy = legacy_flag or get_bool(config, "engine.legacy_enter_events")
    except ConfigError as exc:
        fail(str(exc))
        raise  # pragma: no cover
    priority_text = min_priority or str(get_value(config, "priority", "debug"))
    priority = Priority.parse(priority_text)
    if priority is None:
        fail(
            f"priority: unknown priority {priority_text!r} "
            "(emergency, alert, critical, error, warning, notice, informational, debug)"
        )
        raise AssertionError  # pragma: no cover
    matching = str(get_value(config, "rule_matching", "first"))
    if matching not in ("first", "all"):
        fail(f"rule_matching: expected 'first' or 'all', got {matching!r}")
    ruleset = loaded.ruleset(rule_matching=matching, min_priority=priority)
    selections = get_value(config, "rules", []) or []
    try:
        ruleset.apply(parse_selections(selections))
    except ValueError as exc:
        fail(f"rules: {exc}")
    if enable_tags:
        ruleset.enable_only_tags(enable_tags)
    if disable_tags:
        ruleset.disable_tags(disable_tags)
    if disable_rules:
        ruleset.disable_rules(disable_rules)
    try:
        registry = default_registry()
        additions = parse_append_output(
            get_value(config, "append_output"), get_value(config, "static_fields"), registry
        )
    except AppendOutputError as exc:
        fail(str(exc))
        raise AssertionError from None  # pragma: no cover
    apply_append_output(ruleset.rules, additions, registry)
    names = watched_names(rule.condition_node for rule in ruleset.enabled_rules())
    try:
        dns_enabled = get_bool(config, "dns.enabled")
    except ConfigError as exc:
        fail(str(exc))
        raise  # pragma: no cover
    return DetectSetup(
        config, ruleset, options, json_output, legacy, drops, log, tuple(names), dns_enabled
    )


def attach_dns(
    setup: DetectSetup, state: Any, resolver: Callable[[str], Iterable[str]] | None = None
) -> None:
    """Give the state the resolver of the rules' domain names (fd.*ip.name), started in the
    background; a state that has one (rules reloaded) keeps it and watches the new names too.
    Nothing is started when no rule uses those fields, or unless `dns.enabled` is true: the
    lookups are network traffic to the node's resolver, which an operator turns on knowingly."""
    if not setup.dns_names or not setup.dns_enabled:
        return
    if state.dns is None:
        state.dns = DnsNames() if resolver is None else DnsNames(resolver)
    state.dns.watch(setup.dns_names)


class StdoutAlerts:
    """Prints each alert on stdout: Falco's text line, or its JSON object with json_output."""

    def __init__(self, setup: DetectSetup, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.json = setup.json_output
        self.options = setup.output_options

    def __call__(self, alert: Alert) -> None:
        if self.json:
            line = alert.to_json(self.options)
        else:
            line = alert.text_line(iso8601=self.options.time_format_iso_8601)
        self.stream.write(line + "\n")


def open_alert_outputs(
    setup: DetectSetup, *, default_spool: Path | None = None, live: bool = False
) -> AlertDispatcher:
    """The configured sinks behind one callable for the engine's ``on_alert``; the caller
    closes it (``close()``) when the run ends, so workers deliver and the spool is closed.
    ``default_spool`` is the durable spool file (None: a private temporary one, for replay)."""
    fmt = LineFormat(setup.json_output, setup.output_options)
    try:
        return build_dispatcher(
            setup.config, fmt, log=setup.log, default_spool=default_spool, live=live
        )
    except SinkConfigError as exc:
        fail(str(exc))
        raise AssertionError from None  # pragma: no cover


def print_summary(stats: EngineStats, stream: TextIO | None = None) -> None:
    """Falco's end-of-run summary (on stderr, so stdout stays alerts only)."""
    out = stream or sys.stderr
    out.write(f"Events processed: {stats.events} (delivered to rules: {stats.delivered})\n")
    out.write(f"Events detected: {stats.alerts}\n")
    if stats.alerts:
        out.write("Rule counts by severity:\n")
        for name, count in sorted(stats.by_priority.items(), key=lambda kv: -kv[1]):
            out.write(f"   {name.upper()}: {count}\n")
        out.write("Triggered rules by rule name:\n")
        for name, count in sorted(stats.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
            out.write(f"   {name}: {count}\n")
