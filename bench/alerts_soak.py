"""Soak: N alerts (100k by default) through every sink at once, receivers on this machine.

    .venv/bin/python bench/alerts_soak.py [--count N] [--no-nats]

Sinks: stdout (to /dev/null), file (rotating), syslog (a unix datagram socket read by a
thread), program (``cat >> file``), http (a local falcosidekick-like receiver), slack (a
second local receiver) and nats (a real nats-server, when installed), all behind one
dispatcher with a durable spool. The receivers run in this process, so they share its two
cores with lanner: the end-to-end figure is a floor, not a ceiling.

Printed: the detection thread's cost per alert (``publish``), the reference cost of
``json.dumps`` of the same alert alone and their ratio, the time until every sink has
everything, what each destination received (must equal N: no loss, no duplicate), the
spool's peak depth, and memory: RSS before, peak and after, plus the Python heap growth
measured with tracemalloc over the whole run (``--tracemalloc``, slower).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.alerts.receivers import HttpReceiver, free_port, make_alert  # noqa: E402

from lanner.alerts.delivery import AlertDispatcher, RetryPolicy  # noqa: E402
from lanner.alerts.http_sinks import HttpSink, SlackSink  # noqa: E402
from lanner.alerts.local_sinks import FileSink, ProgramSink, StdoutSink, SyslogSink  # noqa: E402
from lanner.alerts.nats_sink import NatsSink  # noqa: E402
from lanner.alerts.sink import DeliveryError, LineFormat, Sink  # noqa: E402
from lanner.store.spool import AlertSpool, SpoolLimits  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class SyslogCounter:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.5)
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop:
            try:
                self.sock.recv(65536)
                self.count += 1
            except TimeoutError:
                continue


class NatsCounter:
    """nats-server plus a subscriber counting distinct uuids."""

    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.ids: set[str] = set()
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.done: asyncio.Event | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.thread.start()
        self.ready.wait(10)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def _main(self) -> None:
        import nats

        self.loop = asyncio.get_running_loop()
        self.done = asyncio.Event()
        client = await nats.connect(servers=[self.url])

        async def on_message(msg: Any) -> None:
            self.ids.add(json.loads(msg.data)["uuid"])

        await client.subscribe("soak", cb=on_message, pending_msgs_limit=10_000_000)
        await client.flush()
        self.ready.set()
        await self.done.wait()
        await client.close()

    def close(self) -> None:
        if self.loop is not None and self.done is not None:
            self.loop.call_soon_threadsafe(self.done.set)
        self.thread.join(10)
        self.proc.terminate()
        self.proc.wait(10)


def count_lines(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        if path.exists():
            with open(path, "rb") as handle:
                total += sum(1 for _ in handle)
    return total


class _Parked(Sink):
    """A sink that never takes anything: its worker sleeps in backoff, so publishing runs
    without any delivery work beside it."""

    name = "parked"

    def send(self, alerts: Any) -> None:
        raise DeliveryError("parked", 0)


def publish_cost_quiet(work: Path, count: int) -> float:
    """Microseconds per publish on the detection thread, with no delivery going on."""
    spool = AlertSpool(work / "quiet.db", ["parked"], SpoolLimits(max_rows=count * 2))
    dispatcher = AlertDispatcher([_Parked()], spool=spool, retry=RetryPolicy(initial=600))
    alerts = [make_alert(i) for i in range(count)]
    time.sleep(0.1)
    start = time.perf_counter()
    for alert in alerts:
        dispatcher(alert)
    elapsed = time.perf_counter() - start
    dispatcher.close(timeout=0)
    return elapsed / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--no-nats", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    count = args.count
    work = Path(tempfile.mkdtemp(prefix="lanner-soak-"))

    alerts = [
        make_alert(i, **{"container.id": "3ad7b26ded6d", "fd.sip": "10.0.0.9"}) for i in range(1000)
    ]
    start = time.perf_counter()
    for i in range(count):
        json.dumps(alerts[i % 1000].to_dict(), separators=(",", ":"))
    dumps_us = (time.perf_counter() - start) / count * 1e6

    quiet_us = publish_cost_quiet(work, min(count, 5000))

    http_rx = HttpReceiver(keep_bodies=False).start()
    slack_rx = HttpReceiver(keep_bodies=False).start()
    syslog_rx = SyslogCounter(str(work / "log.sock"))
    nats_rx = None
    nats_binary = Path(sys.executable).with_name("nats-server")
    if not args.no_nats and nats_binary.exists():
        nats_rx = NatsCounter(str(nats_binary))
    fmt = LineFormat(json=True)
    devnull = open(os.devnull, "w")  # noqa: SIM115
    file_path = work / "alerts.log"
    program_out = work / "program.txt"
    sinks: list[Sink] = [
        StdoutSink(fmt, devnull),
        FileSink(fmt, file_path, keep_alive=True, max_bytes=16 << 20, backups=8),
        SyslogSink(fmt, str(work / "log.sock")),
        ProgramSink(fmt, f"cat >> {program_out}", keep_alive=True),
        HttpSink(http_rx.url),
        SlackSink(slack_rx.url),
    ]
    if nats_rx is not None:
        sinks.append(NatsSink([nats_rx.url], "soak"))
    spool = AlertSpool(
        work / "spool.db", [s.name for s in sinks if s.spooled], SpoolLimits(max_rows=count * 2)
    )
    dispatcher = AlertDispatcher(
        sinks, spool=spool, retry=RetryPolicy(initial=0.05, maximum=0.5), batch_size=256
    )

    if args.tracemalloc:
        tracemalloc.start()
    rss_before = rss_bytes()
    rss_peak = rss_before
    peak_depth = 0
    publish_s = 0.0
    t0 = time.perf_counter()
    for i in range(count):
        alert = make_alert(i, **{"container.id": "3ad7b26ded6d", "fd.sip": "10.0.0.9"})
        p0 = time.perf_counter()
        dispatcher(alert)
        publish_s += time.perf_counter() - p0
        if i % 5000 == 0:
            rss_peak = max(rss_peak, rss_bytes())
            peak_depth = max(peak_depth, spool.rows)
    published_s = time.perf_counter() - t0
    while not dispatcher.wait_idle(1.0):
        rss_peak = max(rss_peak, rss_bytes())
        peak_depth = max(peak_depth, spool.rows)
    drained_s = time.perf_counter() - t0
    heap_peak = 0
    if args.tracemalloc:
        _current, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss_after = rss_bytes()
    http_count = len(http_rx.snapshot())
    http_unique = len({b["uuid"] for b in http_rx.snapshot()})
    slack_count = len(slack_rx.snapshot())
    dispatcher.close()
    time.sleep(0.2)
    syslog_rx.stop = True
    files = [file_path, *(Path(f"{file_path}.{n}") for n in range(1, 9))]
    received = {
        "file": count_lines(files),
        "syslog": syslog_rx.count,
        "program": count_lines([program_out]),
        "http": http_count,
        "http (distinct uuid)": http_unique,
        "slack": slack_count,
    }
    if nats_rx is not None:
        received["nats (distinct uuid)"] = len(nats_rx.ids)
        nats_rx.close()
    http_rx.stop()
    slack_rx.stop()

    per_alert_us = publish_s / count * 1e6
    print(f"alerts: {count}, sinks: {', '.join(s.name for s in sinks)}")
    print(f"json.dumps of one alert (reference): {dumps_us:.1f} us")
    print(
        f"publish (detection thread) per alert, no delivery beside it: {quiet_us:.1f} us "
        f"= {quiet_us / dumps_us:.1f}x json.dumps"
    )
    print(
        f"publish per alert during the soak (sharing the GIL with 7 workers and the "
        f"in-process receivers): {per_alert_us:.1f} us = {per_alert_us / dumps_us:.1f}x json.dumps"
    )
    print(f"all published after {published_s:.1f} s; every sink drained after {drained_s:.1f} s")
    print(f"end-to-end throughput: {count / drained_s:,.0f} alerts/s through all sinks")
    print(f"spool peak depth: {peak_depth} rows; rows left: {spool.rows}")
    mib = 1 << 20
    print(
        f"RSS: {rss_before / mib:.0f} MiB before, {rss_peak / mib:.0f} MiB peak, "
        f"{rss_after / mib:.0f} MiB after; max RSS of the process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    if args.tracemalloc:
        print(f"Python heap peak during the run (tracemalloc): {heap_peak / mib:.1f} MiB")
    lost = {k: v for k, v in received.items() if v != count}
    for name, got in received.items():
        print(f"  {name:22s} {got:>8d}")
    print("no loss, no duplicate" if not lost else f"MISMATCH: {lost}")
    return 0 if not lost else 1


if __name__ == "__main__":
    sys.exit(main())
