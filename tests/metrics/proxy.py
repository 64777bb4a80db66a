"""A loopback TCP proxy that records both directions of every connection with timestamps,
and turns what it saw into the server-side read/write events a capture would hold."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field

from lanner.events.event import Event
from lanner.metrics.synthetic import Conversation


@dataclass
class Recorded:
    client: tuple[str, int]
    chunks: list[tuple[int, bool, bytes]] = field(default_factory=list)  # ts, from_client, data
    closed_ts: int = 0


class RecordingProxy:
    def __init__(self, backend_port: int) -> None:
        self.backend_port = backend_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[Recorded] = []
        self.lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, addr = self.listener.accept()
            except OSError:
                return
            backend = socket.create_connection(("127.0.0.1", self.backend_port))
            record = Recorded((addr[0], addr[1]))
            with self.lock:
                self.connections.append(record)
            for src, dst, from_client in ((client, backend, True), (backend, client, False)):
                thread = threading.Thread(
                    target=self._pump, args=(src, dst, from_client, record), daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _pump(
        self, src: socket.socket, dst: socket.socket, from_client: bool, rec: Recorded
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                ts = time.time_ns()
                if not data:
                    break
                with self.lock:
                    rec.chunks.append((ts, from_client, data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            rec.closed_ts = max(rec.closed_ts, time.time_ns())
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def server_events(self, tid: int = 4242) -> list[Event]:
        """The backend's view: accept, a read per client chunk, a write per server chunk.
        Connection n is served by thread tid + n (so enters and exits pair per thread)."""
        events: list[Event] = []
        with self.lock:
            records = list(self.connections)
        for number, rec in enumerate(records):
            conv = Conversation(tid + number, 10)
            first = rec.chunks[0][0] if rec.chunks else rec.closed_ts
            conv.accept(first - 1, rec.client, ("127.0.0.1", self.backend_port))
            for ts, from_client, data in rec.chunks:
                conv.io("read" if from_client else "write", ts, ts, data)
            conv.close(rec.closed_ts or first)
            events += conv.events
        events.sort(key=lambda e: e.ts)
        return events
