"""Local sinks against real things: files, a unix datagram syslog socket, a shell program."""

from __future__ import annotations

import io
import json
import socket
import time
from pathlib import Path

import pytest

from lanner.alerts.alert import OutputOptions
from lanner.alerts.delivery import AlertDispatcher, RetryPolicy
from lanner.alerts.local_sinks import FileSink, ProgramSink, StdoutSink, SyslogSink
from lanner.alerts.sink import DeliveryError, LineFormat
from tests.alerts.receivers import make_alert

JSON = LineFormat(json=True, options=OutputOptions(time_format_iso_8601=True))


def test_stdout_text_and_json_lines() -> None:
    out = io.StringIO()
    StdoutSink(LineFormat(), out).send([make_alert(1)])
    StdoutSink(JSON, out).send([make_alert(2)])
    text, js = out.getvalue().splitlines()
    assert text.endswith(": Warning alert number 1") and text[2] == ":"
    data = json.loads(js)
    assert data["output"].endswith("+0000: Warning alert number 2")
    assert data["output_fields"]["seq"] == 2


@pytest.mark.parametrize("keep_alive", [False, True])
def test_file_rotation_is_bounded_and_keeps_order(tmp_path: Path, keep_alive: bool) -> None:
    log = tmp_path / "alerts.log"
    sink = FileSink(JSON, log, keep_alive=keep_alive, max_bytes=2000, backups=3)
    for i in range(40):
        sink.send([make_alert(i)])
    sink.close()
    files = [log, *(Path(f"{log}.{n}") for n in (1, 2, 3))]
    assert all(f.exists() for f in files)
    assert not Path(f"{log}.4").exists()
    for f in files:
        assert f.stat().st_size <= 2000
    # Newest in the live file, older ones in .1, .2, .3, nothing reordered.
    seqs = [
        json.loads(line)["output_fields"]["seq"]
        for f in reversed(files)
        for line in f.read_text().splitlines()
    ]
    assert seqs == list(range(seqs[0], 40))
    assert seqs[0] > 0  # the oldest rotated out past the last backup


def test_file_without_rotation_appends(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("existing\n")
    sink = FileSink(LineFormat(), log)
    sink.send([make_alert(0), make_alert(1)])
    assert log.read_text().splitlines()[0] == "existing"
    assert len(log.read_text().splitlines()) == 3


def test_file_error_is_a_delivery_failure(tmp_path: Path) -> None:
    sink = FileSink(LineFormat(), tmp_path / "missing-dir" / "a.log")
    with pytest.raises(DeliveryError, match="missing-dir"):
        sink.send([make_alert(0)])


def test_syslog_datagrams_carry_priority_and_line(tmp_path: Path) -> None:
    address = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(5)
    try:
        sink = SyslogSink(LineFormat(), address)
        sink.send([make_alert(0, priority="Critical"), make_alert(1, priority="Debug")])
        first = server.recv(65536).decode()
        second = server.recv(65536).decode()
        sink.close()
    finally:
        server.close()
    # facility user (1) * 8 + severity: critical 2, debug 7
    assert first.startswith("<10>lanner[") and first.endswith("Critical alert number 0")
    assert second.startswith("<15>lanner[") and second.endswith("Debug alert number 1")


def test_syslog_down_then_up_through_the_dispatcher(tmp_path: Path) -> None:
    address = str(tmp_path / "log.sock")
    dispatcher = AlertDispatcher(
        [SyslogSink(LineFormat(), address)], retry=RetryPolicy(initial=0.02, maximum=0.05)
    )
    for i in range(3):
        dispatcher(make_alert(i))
    time.sleep(0.1)  # nobody listening: kept and retried
    assert dispatcher.depth("syslog") == 3
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(5)
    try:
        got = [server.recv(65536).decode() for _ in range(3)]
        assert dispatcher.wait_idle(5)
    finally:
        dispatcher.close()
        server.close()
    assert [g.rsplit(" ", 1)[1] for g in got] == ["0", "1", "2"]


@pytest.mark.parametrize("keep_alive", [False, True])
def test_program_receives_every_line(tmp_path: Path, keep_alive: bool) -> None:
    target = tmp_path / "out.txt"
    sink = ProgramSink(LineFormat(), f"cat >> {target}", keep_alive=keep_alive)
    sink.send([make_alert(i) for i in range(3)])
    sink.send([make_alert(3)])
    sink.close()
    lines = target.read_text().splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["0", "1", "2", "3"]


def test_program_failure_is_retried(tmp_path: Path) -> None:
    marker = tmp_path / "ok"
    target = tmp_path / "out.txt"
    # Fails until the marker exists: the alert must still arrive once it does.
    program = f"test -e {marker} && cat >> {target}"
    dispatcher = AlertDispatcher(
        [ProgramSink(LineFormat(), program)], retry=RetryPolicy(initial=0.02, maximum=0.05)
    )
    dispatcher(make_alert(0))
    time.sleep(0.2)
    assert not target.exists()
    assert dispatcher.workers[0].stats.failures >= 1
    marker.touch()
    assert dispatcher.wait_idle(5)
    dispatcher.close()
    assert target.read_text().strip().endswith("alert number 0")


def test_program_output_goes_to_a_captured_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    sink = ProgramSink(LineFormat(), "cat", keep_alive=True)
    sink.send([make_alert(5)])
    sink.close()
    assert capsys.readouterr().out.strip().endswith("alert number 5")


def test_a_spool_error_in_a_worker_is_retried_not_fatal(tmp_path: Path) -> None:
    """A worker whose spool read fails (SQLite can answer `database is locked`) logs it and
    tries again; before, the error ended the worker thread and its sink got nothing more.
    The failure is injected into the first read: a real lock cannot be produced on demand."""
    import sqlite3

    from lanner.store.spool import AlertSpool, SpoolReader

    spool = AlertSpool(None, ["file"])
    real_reader = spool.reader
    failed: list[str] = []

    def flaky_reader() -> SpoolReader:
        reader = real_reader()
        after = reader.after_cursor

        def after_cursor(consumer: str, limit: int) -> list:  # type: ignore[type-arg]
            if not failed:
                failed.append(consumer)
                raise sqlite3.OperationalError("database is locked")
            return after(consumer, limit)

        reader.after_cursor = after_cursor  # type: ignore[method-assign]
        return reader

    spool.reader = flaky_reader  # type: ignore[method-assign]
    log = tmp_path / "alerts.log"
    messages: list[str] = []
    dispatcher = AlertDispatcher(
        [FileSink(LineFormat(), log)],
        spool=spool,
        retry=RetryPolicy(initial=0.01, maximum=0.02),
        log=messages.append,
    )
    for i in range(5):
        dispatcher(make_alert(i))
    assert dispatcher.wait_idle(5)
    dispatcher.close(timeout=2)
    assert failed == ["file"]
    assert len(log.read_text().splitlines()) == 5
    assert any("database is locked" in m for m in messages)


def test_an_alert_appended_while_the_worker_reads_is_delivered_at_close(tmp_path: Path) -> None:
    """The race a CI run hit once: the worker reads the spool (nothing new), the last alert is
    appended and close() asks the worker to stop, then the worker looks at the stop request.
    It must deliver that alert before stopping. The worker is held between its read and its
    check to make the interleaving certain."""
    import threading

    from lanner.store.spool import AlertSpool, SpoolReader

    spool = AlertSpool(None, ["file"])
    real_reader = spool.reader
    read_empty, proceed = threading.Event(), threading.Event()

    def gated_reader() -> SpoolReader:
        reader = real_reader()
        after = reader.after_cursor

        def after_cursor(consumer: str, limit: int) -> list:  # type: ignore[type-arg]
            entries = after(consumer, limit)
            if not entries and not proceed.is_set():
                read_empty.set()
                proceed.wait(10)
            return entries

        reader.after_cursor = after_cursor  # type: ignore[method-assign]
        return reader

    spool.reader = gated_reader  # type: ignore[method-assign]
    log = tmp_path / "alerts.log"
    dispatcher = AlertDispatcher([FileSink(LineFormat(), log)], spool=spool)
    assert read_empty.wait(10)  # the worker has read an empty spool and is held there
    dispatcher(make_alert(1))
    closing = threading.Thread(target=dispatcher.close, kwargs={"timeout": 5})
    closing.start()
    deadline = time.monotonic() + 5
    while not dispatcher.workers[0]._stopping.is_set() and time.monotonic() < deadline:
        time.sleep(0.001)
    proceed.set()
    closing.join(15)
    assert not closing.is_alive()
    assert len(log.read_text().splitlines()) == 1
