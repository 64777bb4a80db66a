"""``lanner run``: live detection on this node through the eBPF probe.

Start-up: rules loaded and checked, state seeded from /proc, probe loaded with the syscalls the
rules, the state and the attached consumers (the metrics engine, `metrics.enabled`) need
(lanner's own process excluded), then batches from the ring buffer through the same engine
replay uses. `/metrics` and `/healthz` are served on `webserver.listen_address:listen_port`.
SIGHUP reloads the rules (and the probe's selection); SIGTERM/SIGINT drain what is in the ring
and exit 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from lanner.alerts.drops import DropExit, DropMonitor
from lanner.cli.app_base import app, fail
from lanner.cli.detect_setup import (
    DetectSetup,
    attach_dns,
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
from lanner.config import ConfigError, get_bool, get_number
from lanner.engine import BatchConsumer, DetectionEngine
from lanner.enrich.enable import enable_containers
from lanner.enrich.pipeline import ContainerEnricher
from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.exposition import render as render_performance
from lanner.metrics.settings import MetricsSettings
from lanner.server.http import MetricsServer, WebserverSettings
from lanner.server.metrics import ContainerCounts, MetricSources, build_registry
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State

_RULES_SNAPLEN = 80  # evt.buffer-style fields need no more than this
# Housekeeping, once a minute: threads idle that long and gone from /proc (their exit was
# dropped) leave the table, and so do containers no thread belongs to any more.
HOUSEKEEPING_S = 60.0
_THREAD_IDLE_NS = 60 * 1_000_000_000


def _alive(tid: int) -> bool:
    return os.path.exists(f"/proc/{tid}")


def housekeep(
    state: State,
    enricher: ContainerEnricher,
    now_ts: int,
    metrics: MetricsEngine | None = None,
) -> tuple[int, int]:
    """Drop the threads and containers that ended unseen, and the metric series of those
    containers; (threads, containers) dropped."""
    threads = state.threads.purge_gone(now_ts, _THREAD_IDLE_NS, _alive)
    containers = enricher.forget_unused()
    if metrics is not None and enricher.last_forgotten:
        metrics.forget_containers(enricher.last_forgotten)
    return threads, containers


def selected_event_types(setup: DetectSetup, consumers: Sequence[BatchConsumer] = ()) -> set[str]:
    """What the probe must emit: the rules' event types, the state set and what each consumer
    (metrics...) reads."""
    needed = setup.ruleset.needed_event_types()
    names = set(STATE_EVENT_TYPES)
    for consumer in consumers:
        wanted = consumer.needed_event_types()
        needed = None if needed is None or wanted is None else needed | wanted
    if needed is None:
        # Some rule needs every type: capture everything the probe can produce.
        from lanner.capture.ebpf import syscalls

        names |= set(syscalls.CAPTURABLE)
    else:
        names |= set(needed)
    return names


def rules_read_file_io(setup: DetectSetup) -> bool:
    """Whether a rule looks at reads or writes (which may be on files: the probe then sends
    file I/O with data; it sends socket I/O whenever selected)."""
    from lanner.capture.ebpf import syscalls

    return syscalls.wants_file_data(setup.ruleset.needed_event_types())


@app.command()
def run(  # noqa: PLR0917 (typer maps parameters to options)
    rules: RulesOpt = None,
    option: OverrideOpt = None,
    config_file: ConfigOpt = None,
    json_output: JsonOpt = False,
    duration: Annotated[
        float | None,
        typer.Option("--duration", "-M", help="Stop after this many seconds (Falco's -M)."),
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
    attach_dns(setup, state)
    try:
        kubernetes = get_bool(config, "kubernetes.enabled")
        alert_wait_s = get_number(config, "containers.alert_wait_ms", 1000) / 1000
        metrics_settings = MetricsSettings.from_config(config)
        web = WebserverSettings.from_config(config)
    except ConfigError as exc:
        fail(str(exc))
        raise AssertionError from None  # pragma: no cover
    metrics = MetricsEngine() if metrics_settings.enabled else None
    consumers: list[BatchConsumer] = [metrics] if metrics is not None else []
    # Container ids from cgroups always; CRI metadata when a runtime socket answers.
    enrichment = enable_containers(state, kubernetes=kubernetes)
    setup.log(f"Container metadata: {enrichment.describe()}")
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
        consumers=consumers,
    )
    engine.before_alert = enrichment.alert_hook(alert_wait_s)
    # Payload bytes feed the protocol decoders; rules alone only look at the first few.
    snaplen = metrics_settings.snaplen if metrics is not None else _RULES_SNAPLEN
    try:
        source = ProbeSource(
            selected_event_types(setup, consumers),
            mode=mode,
            snaplen=snaplen,
            file_io=metrics is not None and metrics_settings.file_io,
            file_data=rules_read_file_io(setup),
            latency=metrics is not None and metrics_settings.latency,
        )
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
    sources = MetricSources(
        capture_counters=lambda: (source.stats().events, source.stats().drops),
        dispatcher=on_alert,
        engine_stats=lambda: engine.stats,
        containers=lambda: ContainerCounts(
            known=len(enrichment.enricher.table), lookups=enrichment.lookup_counts()
        ),
    )
    server = _start_webserver(web, sources, metrics, setup.log)
    # Scrapes read the aggregates under this lock; batches are fed holding it.
    lock = server.lock if server is not None else contextlib.nullcontext()
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
    next_housekeeping = time.monotonic() + HOUSEKEEPING_S
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
                    attach_dns(setup, state)
                    source.update_selection(selected_event_types(setup, consumers))
                    source.file_data = rules_read_file_io(setup)
                    setup.log(f"Rules reloaded ({len(setup.ruleset.enabled_rules())} rules)")
            if time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + HOUSEKEEPING_S
                with lock:
                    now_ts = engine.stats.last_ts or time.time_ns()
                    housekeep(state, enrichment.enricher, now_ts, metrics)
            pending = enrichment.enricher.take_events()
            if pending:
                with lock:
                    engine.process_batch(pending)
            events = source.poll()
            if events:
                with lock:
                    engine.process_batch(events)
                sys.stdout.flush()
            else:
                time.sleep(source.poll_interval)
        # Drain what the kernel already wrote before leaving (nothing more comes in: on a busy
        # node the ring would otherwise never be empty).
        source.pause()
        while events := source.poll():
            with lock:
                engine.process_batch(events)
    except DropExit:
        exit_code = 1
    finally:
        stats = source.stats()
        if server is not None:
            server.close()
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


def _start_webserver(
    web: WebserverSettings,
    sources: MetricSources,
    metrics: MetricsEngine | None,
    log: Callable[[str], None],
) -> MetricsServer | None:
    """Serve /metrics (engine self-metrics, then performance metrics) and /healthz. A port
    already taken is reported in one line and the run goes on without the endpoint."""
    if not web.enabled:
        return None
    performance = (lambda: render_performance(metrics)) if metrics is not None else None
    try:
        server = MetricsServer(
            web.address, web.port, registry=build_registry(sources), performance=performance
        )
    except OSError as exc:
        log(
            f"webserver: cannot listen on {web.address}:{web.port} ({exc.strerror or exc}); "
            "running without /metrics"
        )
        return None
    log(f"Serving /metrics and /healthz on {server.url}")
    return server
