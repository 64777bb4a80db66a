"""NATS sink: publishes each alert's falcosidekick payload (Falco JSON plus ``uuid``) on a
subject. A batch counts as delivered once the server answered a flush (a round trip after
the publishes), so alerts lost with a dropped connection are retried, not forgotten.

nats-py is asyncio-only; the sink owns a private event loop that runs in its worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from lanner.alerts.alert import Alert, OutputOptions
from lanner.alerts.sink import DeliveryError, Sink, SinkConfigError


async def _ignore_error(error: Exception) -> None:
    """nats-py logs every connection error itself; the worker reports failures once."""
    del error


class NatsSink(Sink):
    name = "nats"

    def __init__(
        self,
        servers: Sequence[str],
        subject: str,
        *,
        options: OutputOptions | None = None,
        timeout: float = 5.0,
    ) -> None:
        if not servers:
            raise SinkConfigError("nats_output.servers: at least one server URL is needed")
        if not subject or any(c in subject for c in " \t\r\n"):
            raise SinkConfigError(f"nats_output.subject: not a valid subject: {subject!r}")
        self.servers = list(servers)
        self.subject = subject
        self.options = options or OutputOptions()
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None

    async def _connect(self) -> Any:
        import nats

        if self._client is None or not self._client.is_connected:
            await self._drop_client()
            # One attempt per server: retrying is the delivery worker's job (with its own
            # backoff), and nats-py would otherwise loop forever inside connect().
            self._client = await asyncio.wait_for(
                nats.connect(
                    servers=self.servers,
                    allow_reconnect=False,
                    connect_timeout=self.timeout,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.05,
                    error_cb=_ignore_error,
                ),
                timeout=self.timeout * (len(self.servers) * 2 + 1),
            )
        return self._client

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # already failing; closing is best effort
                await client.close()

    async def _publish(self, alerts: Sequence[Alert]) -> None:
        client = await self._connect()
        for alert in alerts:
            body = json.dumps(alert.sidekick_payload(self.options), separators=(",", ":"))
            await client.publish(self.subject, body.encode())
        await client.flush(timeout=self.timeout)

    def send(self, alerts: Sequence[Alert]) -> None:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._publish(alerts))
        except Exception as exc:  # any client error means: not delivered
            self._loop.run_until_complete(self._drop_client())
            raise DeliveryError(f"nats {self.servers[0]}: {exc or type(exc).__name__}", 0) from None

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._drop_client())
            self._loop.close()
            self._loop = None
