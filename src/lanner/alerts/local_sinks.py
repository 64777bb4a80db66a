"""Sinks on this machine: stdout, a file with rotation, syslog, and a program's stdin."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TextIO

from lanner.alerts.alert import Alert
from lanner.alerts.sink import DeliveryError, LineFormat, Sink, severity


class StdoutSink(Sink):
    """Falco's stdout output: one line per alert, written by the detection thread itself."""

    name = "stdout"
    spooled = False

    def __init__(self, fmt: LineFormat, stream: TextIO | None = None) -> None:
        self.fmt = fmt
        self.stream = stream

    def send(self, alerts: Sequence[Alert]) -> None:
        # sys.stdout is looked up at send time: test runners swap it after the sink is built.
        stream = self.stream or sys.stdout
        line = self.fmt.line
        stream.write("".join(line(a) + "\n" for a in alerts))


class FileSink(Sink):
    """Appends alert lines to a file, rotated by size (``name`` → ``name.1`` ... ``name.N``).

    Without ``keep_alive`` the file is opened for each batch, so an outside rotation
    (logrotate's move) is picked up at once; with it, the file stays open until rotation.
    """

    name = "file"

    def __init__(
        self,
        fmt: LineFormat,
        filename: Path,
        *,
        keep_alive: bool = False,
        max_bytes: int = 0,
        backups: int = 5,
    ) -> None:
        self.fmt = fmt
        self.filename = filename
        self.keep_alive = keep_alive
        self.max_bytes = max_bytes
        self.backups = backups
        self._file: IO[str] | None = None

    def _open(self) -> IO[str]:
        if self._file is None:
            self._file = open(self.filename, "a", encoding="utf-8")  # noqa: SIM115
        return self._file

    def _rotate(self) -> None:
        self._close_file()
        if self.backups <= 0:
            os.truncate(self.filename, 0)
            return
        for index in range(self.backups - 1, 0, -1):
            older = Path(f"{self.filename}.{index}")
            if older.exists():
                os.replace(older, f"{self.filename}.{index + 1}")
        os.replace(self.filename, f"{self.filename}.1")

    def send(self, alerts: Sequence[Alert]) -> None:
        done = 0
        try:
            for alert in alerts:
                data = self.fmt.line(alert) + "\n"
                handle = self._open()
                if self.max_bytes and handle.tell() and handle.tell() + len(data) > self.max_bytes:
                    handle.flush()
                    self._rotate()
                    handle = self._open()
                handle.write(data)
                done += 1
            if self._file is not None:
                self._file.flush()
        except OSError as exc:
            self._close_file()
            raise DeliveryError(f"{self.filename}: {exc.strerror or exc}", 0) from None
        if not self.keep_alive:
            self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def close(self) -> None:
        self._close_file()


# syslog facility LOG_USER, as Falco's syslog() calls use the default facility.
_LOG_USER = 1


class SyslogSink(Sink):
    """Sends each alert as one datagram to the local syslog socket (``/dev/log``), with the
    alert's priority as the syslog severity, as Falco's ``syslog(priority, msg)`` does."""

    name = "syslog"

    def __init__(self, fmt: LineFormat, address: str = "/dev/log", ident: str = "lanner") -> None:
        self.fmt = fmt
        self.address = address
        self.ident = ident
        self._sock: socket.socket | None = None

    def _socket(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise
            self._sock = sock
        return self._sock

    def send(self, alerts: Sequence[Alert]) -> None:
        done = 0
        try:
            for alert in alerts:
                pri = _LOG_USER * 8 + severity(alert.priority)
                message = f"<{pri}>{self.ident}[{os.getpid()}]: {self.fmt.line(alert)}"
                self._socket().send(message.encode("utf-8", "replace"))
                done += 1
        except OSError as exc:
            self.close()
            raise DeliveryError(f"syslog {self.address}: {exc.strerror or exc}", done) from None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class ProgramSink(Sink):
    """Pipes alert lines into a shell command's stdin (Falco's ``program_output``).

    With ``keep_alive`` one process takes every alert; without it, as in Falco, a process is
    started per alert. The program's stdout is lanner's; when lanner's stdout is not a real
    file (a test runner's capture), the program's output is copied into it.
    """

    name = "program"

    def __init__(self, fmt: LineFormat, program: str, *, keep_alive: bool = False) -> None:
        self.fmt = fmt
        self.program = program
        self.keep_alive = keep_alive
        self._proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        stdout_target: int | None
        out = sys.stdout
        try:
            out.flush()
            out.fileno()
            stdout_target = None
        except (AttributeError, OSError, ValueError):
            stdout_target = subprocess.PIPE
        proc = subprocess.Popen(
            self.program, shell=True, stdin=subprocess.PIPE, stdout=stdout_target
        )
        if proc.stdout is not None:
            source = proc.stdout

            def pump() -> None:
                for chunk in iter(lambda: source.read1(65536), b""):  # type: ignore[attr-defined]
                    out.write(chunk.decode("utf-8", "replace"))

            self._pump = threading.Thread(target=pump, name="lanner-program-out", daemon=True)
            self._pump.start()
        return proc

    def send(self, alerts: Sequence[Alert]) -> None:
        if not self.keep_alive:
            for done, alert in enumerate(alerts):
                self._run_once(alert, done)
            return
        data = "".join(self.fmt.line(a) + "\n" for a in alerts).encode("utf-8")
        try:
            if self._proc is None or self._proc.poll() is not None:
                self._finish()
                self._proc = self._start()
            assert self._proc.stdin is not None
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except OSError as exc:
            self._finish()
            raise DeliveryError(f"program {self.program!r}: {exc.strerror or exc}", 0) from None

    def _run_once(self, alert: Alert, done: int) -> None:
        try:
            proc = self._start()
            assert proc.stdin is not None
            # Not communicate(): the program's stdout belongs to the pump thread.
            with proc.stdin:
                proc.stdin.write((self.fmt.line(alert) + "\n").encode("utf-8"))
            proc.wait()
        except OSError as exc:
            raise DeliveryError(f"program {self.program!r}: {exc.strerror or exc}", done) from None
        finally:
            self._join_pump()
        if proc.returncode != 0:
            raise DeliveryError(
                f"program {self.program!r} exited with status {proc.returncode}", done
            )

    def _join_pump(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=5)
            self._pump = None

    def _finish(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._join_pump()

    def close(self) -> None:
        self._finish()
