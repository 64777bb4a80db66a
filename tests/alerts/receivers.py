"""Real local receivers for the delivery tests: an HTTP server on 127.0.0.1 that can be
stopped and started again on the same port, and helpers to make alerts."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lanner.alerts.alert import Alert


def make_alert(
    n: int, *, rule: str = "Test rule", priority: str = "Warning", **fields: Any
) -> Alert:
    output_fields: dict[str, Any] = {"seq": n, "proc.cmdline": f"cat /etc/shadow-{n}"}
    output_fields.update(fields)
    return Alert(
        time_ns=1_700_000_000_000_000_000 + n * 1_000_000,
        rule=rule,
        priority=priority,
        source="syscall",
        hostname="node-1",
        output=f"alert number {n}",
        output_fields=output_fields,
        tags=("test", "mitre_credential_access"),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HttpReceiver:
    """Records every JSON body POSTed to it. ``status`` is what it answers (200 by default).

    ``stop()`` closes the listening socket AND the kept-alive connections, so the sender
    really sees the receiver go away, as it would with a crashed falcosidekick.
    """

    def __init__(self, port: int | None = None, *, keep_bodies: bool = True) -> None:
        self.port = port or free_port()
        self.keep_bodies = keep_bodies
        """False: keep only each body's ``uuid`` (the soak bench measures lanner's memory)."""
        self.bodies: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.status = 200
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._conns: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm
                # and the client's delayed ACK cost 40 ms per request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with receiver._lock:
                    receiver._conns.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._conns.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status
                if 200 <= status < 300:
                    with receiver._lock:
                        body = json.loads(data)
                        if receiver.keep_bodies:
                            receiver.requests.append((self.path, dict(self.headers.items())))
                        else:
                            body = {"uuid": body.get("uuid")}
                        receiver.bodies.append(body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def wait_for(self, count: int, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.bodies) >= count:
                    return True
            time.sleep(0.02)
        return False

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.bodies)
