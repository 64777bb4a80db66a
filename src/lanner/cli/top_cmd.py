"""``lanner top procs|files|conns|http|queries``: performance tables, live from the eBPF probe
(a table refreshing twice a second) or from a replayed trace (``--trace``), or one snapshot for
scripts (``--once``, with ``--json``; live, after ``--duration`` seconds).

Live, the probe emits the state set plus the I/O and connection events the metrics engine reads,
with `--snaplen` bytes of each socket payload for the HTTP and MySQL decoders.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from lanner.capture.scap import ScapFormatError, ScapReader
from lanner.cli.app_base import app, fail
from lanner.metrics.aggregates import METRICS_EVENT_TYPES, MetricsEngine
from lanner.metrics.settings import DEFAULT_SNAPLEN, MAX_SNAPLEN
from lanner.metrics.views import VIEWS, Row
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State

_REFRESH_S = 0.5
_ONCE_DEFAULT_S = 5.0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return " ".join(f"{k}:{v}" for k, v in value.items()) or "-"
    return str(value)


def render_table(view: str, rows: list[Row], limit: int) -> Table:
    table = Table(title=f"lanner top {view}", expand=False)
    shown = rows[:limit]
    columns = list(shown[0]) if shown else ["(no data)"]
    for column in columns:
        numeric = bool(shown) and isinstance(shown[0].get(column), (int, float))
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for row in shown:
        table.add_row(*(_cell(row[c]) for c in columns))
    return table


def _throttled_refresh(
    live: Live, view: str, builder: Callable[[MetricsEngine], list[Row]], limit: int
) -> Callable[[MetricsEngine], None]:
    """A progress callback that redraws the table at most every _REFRESH_S seconds."""
    last = [0.0]

    def refresh(current: MetricsEngine) -> None:
        now = time.monotonic()
        if now - last[0] >= _REFRESH_S:
            last[0] = now
            live.update(render_table(view, builder(current), limit), refresh=True)

    return refresh


def replay_metrics(path: Path, on_progress: Any = None) -> MetricsEngine:
    """Replay a capture through the state layer and a metrics engine."""
    state = State()
    engine = MetricsEngine()
    with open(path, "rb") as stream:
        for item in ScapReader(stream):
            if isinstance(item, list):
                process = state.process
                for event in item:
                    process(event)
                engine.process_batch(item)
                if on_progress is not None:
                    on_progress(engine)
            else:
                state.seed(item)
    engine.flush()
    return engine


def live_metrics(
    duration: float | None,
    snaplen: int,
    on_progress: Callable[[MetricsEngine], None] | None = None,
    *,
    file_io: bool = False,
    latency: bool = True,
) -> MetricsEngine:
    """Watch this node through the probe until `duration` seconds pass (None: until SIGINT or
    SIGTERM), feeding the state layer and a metrics engine; fails in one line when the probe
    cannot run here."""
    from lanner.capture.ebpf.source import ProbeError, ProbeSource, check_environment
    from lanner.capture.procfs import snapshot

    reason = check_environment()
    if reason:
        fail(f"top: live views need the eBPF capture ({reason}); or replay one with --trace")
    state = State()
    for record in snapshot(skip_pid=os.getpid()):
        state.seed(record)
    engine = MetricsEngine()
    try:
        source = ProbeSource(
            STATE_EVENT_TYPES | METRICS_EVENT_TYPES,
            snaplen=snaplen,
            file_io=file_io,
            latency=latency,
        )
    except ProbeError as exc:
        fail(f"top: cannot start live capture: {exc}")
        raise AssertionError from None  # pragma: no cover
    # Scripts wait for this line (stderr, so stdout stays the table or the JSON document).
    typer.echo(f"lanner top: capture started ({len(source.selection.syscalls)} syscalls)", err=True)
    stop = [False]

    def on_signal(_signum: int, _frame: object) -> None:
        stop[0] = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    deadline = None if duration is None else time.monotonic() + duration
    process = state.process
    try:
        while not stop[0] and (deadline is None or time.monotonic() < deadline):
            events = source.poll()
            if not events:
                time.sleep(source.poll_interval)
                continue
            for event in events:
                process(event)
            engine.process_batch(events)
            if on_progress is not None:
                on_progress(engine)
        source.pause()  # nothing more comes in: a busy node would keep the ring from emptying
        while events := source.poll():  # what the kernel wrote before we stopped
            for event in events:
                process(event)
            engine.process_batch(events)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        source.close()
    return engine


def _live(
    view: str,
    builder: Callable[[MetricsEngine], list[Row]],
    *,
    limit: int,
    snaplen: int,
    duration: float | None,
    once: bool,
    as_json: bool,
    console: Console,
    file_io: bool,
    latency: bool,
) -> None:
    if once or as_json or not console.is_terminal:
        engine = live_metrics(
            _ONCE_DEFAULT_S if duration is None else duration,
            snaplen,
            file_io=file_io,
            latency=latency,
        )
        rows = builder(engine)
        if as_json:
            doc = {"view": view, "live": True, "duration_s": duration, "rows": rows[:limit]}
            typer.echo(json.dumps(doc))
        else:
            console.print(render_table(view, rows, limit))
        return
    with Live(console=console, auto_refresh=False) as live:
        refresh = _throttled_refresh(live, view, builder, limit)
        live.update(render_table(view, [], limit), refresh=True)
        engine = live_metrics(duration, snaplen, refresh, file_io=file_io, latency=latency)
        live.update(render_table(view, builder(engine), limit), refresh=True)


@app.command("top")
def top(  # noqa: PLR0917 (typer maps parameters to options)
    view: Annotated[str, typer.Argument(help="procs | files | conns | http | queries")],
    trace: Annotated[
        Path | None, typer.Option("--trace", "-r", help="A .scap capture (default: live).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Print one table at the end.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows shown.")] = 20,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", help="Live: stop after this many seconds (--once: 5 by default)."
        ),
    ] = None,
    snaplen: Annotated[
        int, typer.Option("--snaplen", help="Live: socket payload bytes kept per call.")
    ] = DEFAULT_SNAPLEN,
    file_io: Annotated[
        bool | None,
        typer.Option(
            "--file-io/--no-file-io",
            help="Live: capture reads and writes on regular files (default: for the files view).",
        ),
    ] = None,
    latency: Annotated[
        bool,
        typer.Option("--latency/--no-latency", help="Live: measure syscall latency."),
    ] = True,
) -> None:
    """Busiest processes, files, connections, HTTP endpoints or SQL queries."""
    builder = VIEWS.get(view)
    if builder is None:
        fail(f"top: unknown view {view!r} (choose from {', '.join(VIEWS)})", 2)
        return
    if not 0 <= snaplen <= MAX_SNAPLEN:
        fail(f"top: --snaplen: expected 0 to {MAX_SNAPLEN} bytes, got {snaplen}", 2)
    if duration is not None and duration <= 0:
        fail(f"top: --duration: expected a positive number of seconds, got {duration}", 2)
    if trace is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
        _live(
            view,
            builder,
            limit=limit,
            snaplen=snaplen,
            duration=duration,
            once=once,
            as_json=as_json,
            console=console,
            file_io=view == "files" if file_io is None else file_io,
            latency=latency,
        )
        return
    if not trace.is_file():
        fail(f"{trace}: no such capture file")
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    try:
        if once or as_json or not console.is_terminal:
            engine = replay_metrics(trace)
        else:
            with Live(console=console, auto_refresh=False) as live:
                refresh = _throttled_refresh(live, view, builder, limit)
                engine = replay_metrics(trace, refresh)
                live.update(render_table(view, builder(engine), limit), refresh=True)
            return
    except ScapFormatError as exc:
        fail(f"{trace}: {exc}")
        return
    rows = builder(engine)
    if as_json:
        typer.echo(json.dumps({"view": view, "trace": str(trace), "rows": rows[:limit]}))
    else:
        console.print(render_table(view, rows, limit))
