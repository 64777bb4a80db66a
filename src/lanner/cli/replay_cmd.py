"""``lanner replay``: run rules over a .scap trace, or view its events sysdig-style."""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from lanner.alerts.drops import DropExit, DropMonitor
from lanner.capture.scap import EventSelection, ScapFormatError, ScapReader
from lanner.cli.app_base import app, fail
from lanner.cli.detect_setup import (
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
from lanner.engine import DetectionEngine
from lanner.enrich.enable import enable_containers
from lanner.events.table import codes_for_name
from lanner.rules.errors import ConditionError
from lanner.rules.loader import default_event_types, default_registry
from lanner.rules.output import OutputFormatError, compile_output
from lanner.state.state import OPENING_DUMP_CODES, State, should_deliver

# sysdig's default line, in fields lanner knows.
DEFAULT_VIEW_FORMAT = (
    "*%evt.num %evt.time %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.args"
)
_PROGRESS_MIN_BYTES = 4 << 20
# Events the viewer never prints (sysdig neither): /proc data the driver sends periodically.
_HIDDEN_CODES = frozenset(codes_for_name("procinfo"))
_SCAP_MAGIC = b"\x0a\x0d\x0d\x0a"


class _CountingReader:
    """A file wrapper that counts the (compressed) bytes read, for the progress bar."""

    def __init__(self, stream: BinaryIO, on_read: Callable[[int], None]) -> None:
        self._stream = stream
        self._on_read = on_read

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._on_read(len(data))
        return data


def _compile_filter(text: str) -> Callable[[Any], bool]:
    from lanner.rules.compiler import compile_condition
    from lanner.rules.parser import parse_condition

    try:
        node = parse_condition(text)
        compiled = compile_condition(node, default_registry(), event_types=default_event_types())
    except ConditionError as exc:
        caret = ""
        if exc.pos is not None:
            caret = f"\n    {text}\n    {' ' * exc.pos}^"
        fail(f"filter: {exc.message}{caret}", 2)
        raise AssertionError from None  # pragma: no cover
    return compiled.fn


def _batches(
    path: Path, progress: Progress | None, selection: EventSelection | None = None
) -> Iterator[Any]:
    with open(path, "rb") as raw:
        if progress is not None:
            task = progress.add_task("replay", total=path.stat().st_size)
            stream: Any = _CountingReader(raw, lambda n: progress.advance(task, n))
        else:
            stream = raw
        yield from ScapReader(stream, selection=selection)


def _open_check(path: Path) -> None:
    if not path.exists():
        fail(f"{path}: no such file")
    if path.is_dir():
        fail(f"{path}: is a directory, not a capture file")
    try:
        with open(path, "rb") as stream:
            head = stream.read(64)
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror}")
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=31).decompress(head)
        except zlib.error:
            fail(f"{path}: corrupt gzip data at the start of the file")
    if len(head) >= 4 and head[:4] != _SCAP_MAGIC:
        fail(f"{path}: not a .scap capture (no section header block at offset 0)")


@app.command()
def replay(  # noqa: PLR0917 (typer maps parameters to options)
    capture: Annotated[Path, typer.Argument(help="A .scap trace (gzip or plain).")],
    filter_text: Annotated[
        str | None, typer.Argument(metavar="[FILTER]", help="Only events matching this filter.")
    ] = None,
    rules: RulesOpt = None,
    option: OverrideOpt = None,
    config_file: ConfigOpt = None,
    json_output: JsonOpt = False,
    print_format: Annotated[
        str | None,
        typer.Option("-p", "--print", help="View events with this format (sysdig's -p)."),
    ] = None,
    legacy: Annotated[
        bool,
        typer.Option("--legacy", help="Enter events match rules too (Falco <= 0.41 semantics)."),
    ] = False,
    min_priority: MinPriorityOpt = None,
    enable_tag: EnableTagOpt = None,
    disable_tag: DisableTagOpt = None,
    disable_rule: DisableRuleOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Replay a .scap trace through the rules (alerts on stdout, summary on stderr).

    With a FILTER or -p and no -r, view the trace's events instead, like `sysdig -r`.
    """
    _open_check(capture)
    viewer = rules is None and (filter_text is not None or print_format is not None)
    event_filter = _compile_filter(filter_text) if filter_text else None
    show_progress = sys.stderr.isatty() and capture.stat().st_size >= _PROGRESS_MIN_BYTES
    progress = (
        Progress(
            TextColumn("[bold]replay[/]"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        if show_progress
        else None
    )
    if viewer:
        _view(capture, event_filter, print_format or DEFAULT_VIEW_FORMAT, legacy, progress)
        return
    config = load_settings(config_file, option or [])
    setup = build_setup(
        rules_files=rules or [],
        config=config,
        json_flag=json_output,
        legacy_flag=legacy,
        min_priority=min_priority,
        enable_tags=enable_tag or [],
        disable_tags=disable_tag or [],
        disable_rules=disable_rule or [],
        quiet=quiet,
    )
    on_alert = open_alert_outputs(setup)
    engine = DetectionEngine(
        setup.ruleset,
        on_alert,
        legacy_events=setup.legacy_events,
        output_options=setup.output_options,
    )
    # A trace has no drops of its own; simulate_drops exercises the monitor (Falco's tests do).
    monitor = DropMonitor(
        setup.drops,
        lambda: (engine.stats.events, 0),
        log=setup.log,
        alert=on_alert,
        hostname=engine.hostname,
    )
    engine.drop_monitor = monitor
    # Old captures carry their own container events; no runtime is asked on replay.
    enrichment = enable_containers(engine.state, cri_socket=None, docker_socket=None)
    attach_dns(setup, engine.state)
    exit_code = 0
    if event_filter is not None:
        ruleset_run = setup.ruleset.run
        engine.ruleset.run = lambda e: ruleset_run(e) if event_filter(e) else []  # type: ignore[method-assign]
    error: ScapFormatError | None = None
    try:
        if progress is not None:
            progress.start()
        # Only the events the rules and the state need are built (results unchanged).
        batches = _batches(capture, progress, engine.selection())
        items = enrichment.enricher.with_container_events(batches)
        for _ in engine.feed(items):
            pass
    except ScapFormatError as exc:
        error = exc
    except DropExit:
        exit_code = 1
    finally:
        if progress is not None:
            progress.stop()
        on_alert.close()
        sys.stdout.flush()
    if not quiet:
        print_summary(engine.stats)
        sys.stderr.write(monitor.summary())
    if exit_code:
        raise typer.Exit(exit_code)
    if error is not None:
        fail(f"{capture}: {error} (the events before it were processed)", 1)


def _view(
    capture: Path,
    event_filter: Callable[[Any], bool] | None,
    fmt: str,
    legacy: bool,
    progress: Progress | None,
) -> None:
    strict = not fmt.lstrip().startswith("*")
    try:
        output = compile_output(fmt, default_registry())
    except OutputFormatError as exc:
        fail(f"-p: {exc}", 2)
        raise AssertionError from None  # pragma: no cover
    extractors = [part.value for part in output.fields]
    state = State()
    enricher = enable_containers(state, cri_socket=None, docker_socket=None).enricher
    write = sys.stdout.write
    # The metadata events an old capture opens with (its container and user lists, written as
    # events before the first syscall) feed the state; sysdig does not list them.
    opening = True
    try:
        if progress is not None:
            progress.start()
        for item in enricher.with_container_events(_batches(capture, progress)):
            if not isinstance(item, list):
                state.seed(item)
                continue
            state.note_start(item)
            for event in item:
                state.process(event)
                if opening:
                    if event.code in OPENING_DUMP_CODES:
                        continue
                    opening = False
                if not legacy and event.direction == ">" and not should_deliver(event, False):
                    continue
                # As sysdig: procinfo events and untimed metadata events feed the state only.
                if not event.ts or event.code in _HIDDEN_CODES:
                    continue
                if event_filter is not None and not event_filter(event):
                    continue
                # sysdig skips an event when a field is missing, unless the format starts with '*'.
                if strict and any(get(event) is None for get in extractors):
                    continue
                write(output.render(event) + "\n")
    except ScapFormatError as exc:
        sys.stdout.flush()
        fail(f"{capture}: {exc} (the events before it were shown)", 1)
    finally:
        if progress is not None:
            progress.stop()
