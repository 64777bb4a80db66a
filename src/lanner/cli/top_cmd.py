"""``lanner top procs|files|conns|http|queries``: performance tables from a replayed trace
(refreshing while it replays), or one JSON snapshot for scripts (``--once --json``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from lanner.capture.scap import ScapFormatError, ScapReader
from lanner.cli.app_base import app, fail
from lanner.metrics.aggregates import MetricsEngine
from lanner.metrics.views import VIEWS, Row
from lanner.state.state import State

_REFRESH_S = 0.5


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


@app.command("top")
def top(
    view: Annotated[str, typer.Argument(help="procs | files | conns | http | queries")],
    trace: Annotated[Path | None, typer.Option("--trace", "-r", help="A .scap capture.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Print one table at the end.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows shown.")] = 20,
) -> None:
    """Busiest processes, files, connections, HTTP endpoints or SQL queries."""
    builder = VIEWS.get(view)
    if builder is None:
        fail(f"top: unknown view {view!r} (choose from {', '.join(VIEWS)})", 2)
        return
    if trace is None:
        fail("top: live views need the eBPF capture; give a capture with --trace FILE", 2)
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
                last = [0.0]

                def refresh(current: MetricsEngine) -> None:
                    now = time.monotonic()
                    if now - last[0] >= _REFRESH_S:
                        last[0] = now
                        live.update(render_table(view, builder(current), limit), refresh=True)

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
