"""The agent's small HTTP endpoint: ``/metrics`` (Prometheus text: the engine's own counters,
then the performance metrics) and ``/healthz``, served from a background thread.

The pipeline mutates the performance aggregates from the main thread; a scrape reads them under
`lock`, which the pipeline also holds while it feeds a batch, so a scrape never sees a table
half-updated (the lock is uncontended between scrapes, one acquire per batch).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from lanner.config import ConfigError, get_bool, get_value

DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8765
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class WebserverSettings:
    """Falco's `webserver.*` keys (the listening address is loopback unless told otherwise)."""

    enabled: bool = True
    address: str = DEFAULT_ADDRESS
    port: int = DEFAULT_PORT

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WebserverSettings:
        """Read and check the settings; a bad value raises ConfigError naming the key."""
        enabled = get_bool(config, "webserver.enabled", True)
        address = get_value(config, "webserver.listen_address", DEFAULT_ADDRESS)
        if not isinstance(address, str) or not address:
            raise ConfigError(f"webserver.listen_address: expected an address, got {address!r}")
        port = get_value(config, "webserver.listen_port", DEFAULT_PORT)
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"webserver.listen_port: expected a port (0-65535), got {port!r}")
        return cls(enabled, address, port)


class MetricsServer:
    """Serves `/metrics` and `/healthz` until `close()`; port 0 picks a free port."""

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        port: int = DEFAULT_PORT,
        *,
        registry: CollectorRegistry | None = None,
        performance: Callable[[], str] | None = None,
        healthy: Callable[[], bool] | None = None,
    ) -> None:
        self.registry = registry
        self.performance = performance
        self.healthy = healthy
        self.lock = threading.Lock()
        self.scrapes = 0
        handler = _handler_for(self)
        # OSError (address in use, bad address) goes to the caller, who reports it in one line.
        self._httpd = ThreadingHTTPServer((address, port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="lanner-http", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def render_metrics(self) -> str:
        """The whole exposition: engine self-metrics first, then the performance metrics."""
        with self.lock:
            self.scrapes += 1
            parts = []
            if self.registry is not None:
                parts.append(generate_latest(self.registry).decode())
            if self.performance is not None:
                parts.append(self.performance())
        return "".join(parts)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, server.render_metrics(), CONTENT_TYPE)
            elif path == "/healthz":
                ok = server.healthy is None or server.healthy()
                body = '{"status": "ok"}\n' if ok else '{"status": "unhealthy"}\n'
                self._reply(200 if ok else 503, body, "application/json")
            else:
                self._reply(404, "not found: try /metrics or /healthz\n", "text/plain")

        def _reply(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            # Scrapes every few seconds would flood stderr, where alerts diagnostics go.
            return

    return Handler
