"""``lanner run``: live detection on this node through the eBPF probe.

Start-up: rules loaded and checked, state seeded from /proc, probe loaded with the syscalls the
rules and the state need (lanner's own process excluded), then batches from the ring buffer
through the same engine replay uses. SIGHUP reloads the rules (and the probe's selection);
SIGTERM/SIGINT drain what is in the ring and exit 0.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from lanner.alerts.drops import DropExit, DropMonitor
from lanner.cli.app_base import app, fail
from lanner.cli.detect_setup import (
    DetectSetup,
    build_setup,
    load_settings,
    open_alert_outputs,
    print_summary,
)
from lanner.cli.options import (
    ConfigOpt,
    DisableRuleOpt,
    DisableTagOpt,
    EnableTagOpt,
    JsonOpt,
    MinPriorityOpt,
    OverrideOpt,
    QuietOpt,
    RulesOpt,
)
from lanner.config import ConfigError, get_bool
from lanner.engine import DetectionEngine
from lanner.enrich.enable import enable_containers
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State


def selected_event_types(setup: DetectSetup) -> set[str]:
    """What the probe must emit: the rules' event types plus the state set."""
    needed = setup.ruleset.needed_event_types()
    names = set(STATE_EVENT_TYPES)
    if needed is None:
        # Some rule needs every type: capture everything the probe can produce.
        from lanner.capture.ebpf import syscalls

        names |= set(syscalls.CAPTURABLE)
    else:
        names |= set(needed)
    return names


@app.command()
def run(  # noqa: PLR0917 (typer maps parameters to options)
    rules: RulesOpt = None,
    option: OverrideOpt = None,
    config_file: ConfigOpt = None,
    json_output: JsonOpt = False,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds.")
    ] = None,
    min_priority: MinPriorityOpt = None,
    enable_tag: EnableTagOpt = None,
    disable_tag: DisableTagOpt = None,
    disable_rule: DisableRuleOpt = None,
    mode: Annotated[
        str,
        typer.Option(
            "--probe-mode",
            help="raw: tp_btf sys_exit (default, faster here); tracepoint: per-syscall ones.",
        ),
    ] = "raw",
    quiet: QuietOpt = False,
) -> None:
    """Watch every process through eBPF and alert in real time (Ctrl-C to stop)."""
    from lanner.capture.ebpf.source import ProbeError, ProbeSource, check_environment
    from lanner.capture.procfs import snapshot

    reason = check_environment()
    if reason:
        fail(f"cannot start live capture: {reason}")
    if mode not in ("tracepoint", "raw"):
        fail(f"--probe-mode: expected 'tracepoint' or 'raw', got {mode!r}", 2)
    config = load_settings(config_file, option or [])

    def make_setup() -> DetectSetup:
        return build_setup(
            rules_files=rules or [],
            config=config,
            json_flag=json_output,
            min_priority=min_priority,
            enable_tags=enable_tag or [],
            disable_tags=disable_tag or [],
            disable_rules=disable_rule or [],
            quiet=quiet,
        )

    setup = make_setup()
    state = State()
    try:
        kubernetes = get_bool(config, "kubernetes.enabled")
    except ConfigError as exc:
        fail(str(exc))
    # Container ids from cgroups always; CRI metadata when a runtime socket answers.
    enrichment = enable_containers(state, kubernetes=kubernetes)
    for record in snapshot(skip_pid=os.getpid()):
        state.seed(record)
    spool_dir = Path(os.environ.get("LANNER_STATE_DIR", "/var/lib/lanner"))
    try:
        spool_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create the state directory {spool_dir}: {exc.strerror}")
    on_alert = open_alert_outputs(setup, default_spool=spool_dir / "spool.db", live=True)
    engine = DetectionEngine(
        setup.ruleset,
        on_alert,
        state=state,
        legacy_events=False,
        output_options=setup.output_options,
    )
    try:
        source = ProbeSource(selected_event_types(setup), mode=mode)
    except ProbeError as exc:
        fail(f"cannot start live capture: {exc}")
        raise AssertionError from None  # pragma: no cover
    engine.drop_monitor = DropMonitor(
        setup.drops,
        lambda: (source.stats().events, source.stats().drops),
        log=setup.log,
        alert=on_alert,
        hostname=engine.hostname,
    )
    stop = False
    reload_requested = False

    def on_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        nonlocal reload_requested
        reload_requested = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    setup.log(
        f"Live capture started ({source.mode} mode, "
        f"{len(source.selection.syscalls)} syscalls selected, "
        f"{len(setup.ruleset.enabled_rules())} rules)"
    )
    deadline = None if duration is None else time.monotonic() + duration
    exit_code = 0
    try:
        while not stop:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if reload_requested:
                reload_requested = False
                try:
                    setup = make_setup()
                except typer.Exit:
                    setup.log("Rules reload failed; keeping the rules in force")
                else:
                    engine.ruleset = setup.ruleset
                    source.update_selection(selected_event_types(setup))
                    setup.log(f"Rules reloaded ({len(setup.ruleset.enabled_rules())} rules)")
            pending = enrichment.enricher.take_events()
            if pending:
                engine.process_batch(pending)
            events = source.poll()
            if events:
                engine.process_batch(events)
                sys.stdout.flush()
            else:
                time.sleep(source.poll_interval)
        # Drain what the kernel already wrote before leaving.
        while events := source.poll():
            engine.process_batch(events)
    except DropExit:
        exit_code = 1
    finally:
        stats = source.stats()
        source.close()
        enrichment.stop()
        on_alert.close()
        sys.stdout.flush()
    if not quiet:
        print_summary(engine.stats)
        sys.stderr.write(
            f"Kernel: {stats.events} events written, {stats.drops} dropped "
            f"({stats.consumed} consumed)\n"
        )
        if engine.drop_monitor is not None:
            sys.stderr.write(engine.drop_monitor.summary())
    if exit_code:
        raise typer.Exit(exit_code)
