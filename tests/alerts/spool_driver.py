"""A small lanner stand-in for the crash test: feeds alerts into the delivery framework with
a durable spool and an HTTP sink, printing ``published <id>`` once each publish returned.

    python tests/alerts/spool_driver.py SPOOL URL FIRST COUNT INTERVAL_S
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lanner.alerts.delivery import AlertDispatcher, RetryPolicy  # noqa: E402
from lanner.alerts.http_sinks import HttpSink  # noqa: E402
from lanner.store.spool import AlertSpool  # noqa: E402
from tests.alerts.receivers import make_alert  # noqa: E402


def main() -> None:
    spool_path, url, first, count, interval = sys.argv[1:6]
    spool = AlertSpool(Path(spool_path), ["http"])
    dispatcher = AlertDispatcher(
        [HttpSink(url)],
        spool=spool,
        retry=RetryPolicy(initial=0.02, maximum=0.1),
        batch_size=8,
        log=lambda m: print(f"log {m}", file=sys.stderr, flush=True),
    )
    stop = []
    # lanner's SIGTERM path: stop producing, then close the dispatcher (workers get
    # alerts.shutdown_timeout to deliver; the rest stays in the spool).
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.append(True))
    print("started", flush=True)
    for n in range(int(first), int(first) + int(count)):
        if stop:
            break
        alert = make_alert(n)
        dispatcher(alert)
        print(f"published {alert.id}", flush=True)
        time.sleep(float(interval))
    idle = False if stop else dispatcher.wait_idle(20)
    dispatcher.close(timeout=1.0)
    print(f"done idle={idle}", flush=True)


if __name__ == "__main__":
    main()
