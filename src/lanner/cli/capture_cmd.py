"""``lanner capture -w FILE``: record live events to a .scap file (sysdig and replay read it).

The file starts with the /proc snapshot (machine, processes, open fds, users and groups), then
holds the probe's events as they arrive. With a FILTER only matching events are written, but
the state is still tracked for every event the probe sends, so fields such as fd.name or
proc.pname that the filter uses are right. Containers are described as in `lanner run` (CRI,
Docker/Podman) and each description is written as a container event (CONTAINER_JSON_2, as
sysdig's captures hold them), so a replay -- lanner's or sysdig's -- names the container, its
image and pod. Ctrl-C, SIGTERM or --duration stop it cleanly.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from lanner.cli.app_base import app, fail
from lanner.state.selection import STATE_EVENT_TYPES
from lanner.state.state import State

_PROGRESS_EVERY_S = 0.5


def _compile_filter(text: str) -> tuple[Callable[[Any], bool], frozenset[str] | None]:
    """The filter's test, and the event types it can match (None: any type)."""
    from lanner.rules.compiler import compile_condition
    from lanner.rules.errors import ConditionError
    from lanner.rules.loader import default_event_types, default_registry
    from lanner.rules.parser import parse_condition

    try:
        compiled = compile_condition(
            parse_condition(text), default_registry(), event_types=default_event_types()
        )
    except ConditionError as exc:
        caret = ""
        if exc.pos is not None:
            caret = f"\n    {text}\n    {' ' * exc.pos}^"
        fail(f"filter: {exc.message}{caret}", 2)
        raise AssertionError from None  # pragma: no cover
    return compiled.fn, compiled.evttypes


def selected_event_types(filter_types: frozenset[str] | None) -> set[str]:
    """What the probe sends: everything it can, or the filter's types plus the state set."""
    from lanner.capture.ebpf import syscalls

    if filter_types is None:
        return set(syscalls.CAPTURABLE) | {syscalls.PROCEXIT}
    return set(filter_types) | set(STATE_EVENT_TYPES)


@app.command()
def capture(  # noqa: PLR0917 (typer maps parameters to options)
    write: Annotated[
        Path, typer.Option("-w", "--write", help="The .scap file to write (overwritten).")
    ],
    filter_text: Annotated[
        str | None, typer.Argument(metavar="[FILTER]", help="Only write events matching this.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds.", min=0)
    ] = None,
    snaplen: Annotated[
        int,
        typer.Option(
            "--snaplen", "-s", help="Bytes of socket I/O data kept per event.", min=0, max=65000
        ),
    ] = 80,
    compress: Annotated[
        bool, typer.Option("-z", "--compress", help="gzip the file (sysdig reads it too).")
    ] = False,
    mode: Annotated[
        str,
        typer.Option("--probe-mode", help="raw: tp_btf sys_exit (default); tracepoint."),
    ] = "raw",
    enter_events: Annotated[
        bool,
        typer.Option(
            "--enter-events",
            help="Also record each syscall's enter event (its start time), as sysdig's "
            "captures have them: latency shows, and older readers find the fd of "
            "close/read/write where they look for it.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No summary.")] = False,
) -> None:
    """Record live events to a .scap file that `sysdig -r` and `lanner replay` read."""
    from lanner.capture.ebpf.source import ProbeError, ProbeSource, check_environment
    from lanner.capture.ebpf.syscalls import wants_file_data
    from lanner.capture.procfs import snapshot
    from lanner.capture.scap_write import ScapWriter
    from lanner.enrich.enable import enable_containers

    if mode not in ("tracepoint", "raw"):
        fail(f"--probe-mode: expected 'tracepoint' or 'raw', got {mode!r}", 2)
    event_filter, filter_types = (
        (None, None) if filter_text is None else _compile_filter(filter_text)
    )
    if write.is_dir():
        fail(f"{write}: is a directory")
    reason = check_environment()
    if reason:
        fail(f"cannot start live capture: {reason}")
    try:
        writer = ScapWriter(str(write), compress=compress)
    except OSError as exc:
        fail(f"{write}: cannot write: {exc.strerror}")
        raise AssertionError from None  # pragma: no cover
    state = State()
    enrichment = enable_containers(state)  # before the snapshot: its threads resolve too
    records = list(snapshot(skip_pid=os.getpid()))
    for record in records:
        state.seed(record)
    writer.write_snapshot(records)
    try:
        source = ProbeSource(
            selected_event_types(filter_types),
            mode=mode,
            snaplen=snaplen,
            file_data=wants_file_data(filter_types),
            latency=enter_events,
        )
    except ProbeError as exc:
        writer.close()
        enrichment.stop()
        fail(f"cannot start live capture: {exc}")
        raise AssertionError from None  # pragma: no cover

    if not quiet:
        sys.stderr.write(
            f"lanner capture: recording to {write} ({source.mode} mode, "
            f"{len(source.selection.syscalls)} syscalls selected)\n"
        )
        sys.stderr.flush()
    stop = False
    write_error: OSError | None = None

    def on_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    previous = {sig: signal.signal(sig, on_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    progress = sys.stderr.isatty() and not quiet
    started = time.monotonic()
    deadline = None if duration is None else started + duration
    seen = 0
    next_progress = started + _PROGRESS_EVERY_S

    def take(events: list[Any]) -> None:
        nonlocal seen
        for described in enrichment.enricher.take_events():
            # A container described since the last batch: its record goes in first, as the
            # events of its processes that follow expect it.
            state.process(described)
            writer.write_event(described)
        seen += len(events)
        for event in events:
            state.process(event)
            if event_filter is None or event_filter(event):
                writer.write_event(event)

    try:
        while not stop:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            events = source.poll()
            if events:
                take(events)
            else:
                time.sleep(source.poll_interval)
            if progress and now >= next_progress:
                next_progress = now + _PROGRESS_EVERY_S
                sys.stderr.write(
                    f"\rlanner capture: {writer.events} events written, {seen} seen, "
                    f"{source.stats().drops} drops, {now - started:.0f}s "
                )
                sys.stderr.flush()
        source.pause()  # nothing more comes in: a busy node would keep the ring from emptying
        while events := source.poll():  # what the kernel already wrote
            take(events)
        take([])  # descriptions that came in last
    except OSError as exc:  # disk full, file system gone...
        write_error = exc
    finally:
        stats = source.stats()
        source.close()
        enrichment.stop()
        try:
            writer.close()
        except OSError as exc:
            write_error = write_error or exc
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if write_error is not None:
        fail(f"{write}: write failed after {writer.events} events: {write_error.strerror}")
    if progress:
        sys.stderr.write("\n")
    if not quiet:
        sys.stderr.write(
            f"lanner capture: {writer.events} events written to {write} "
            f"({seen} captured, {stats.drops} dropped in the kernel, "
            f"{writer.bytes / 1e6:.1f} MB, {time.monotonic() - started:.1f}s)\n"
        )
