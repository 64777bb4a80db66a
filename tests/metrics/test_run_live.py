"""`lanner run` with metrics on: the probe selects the I/O syscalls, the metrics engine is fed
from the same batches, and one /metrics endpoint serves the engine's own counters and the
performance metrics; a scrape finds the HTTP requests a real client made during the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.capture.bpf_support import require_bpf
from tests.metrics.servers import free_port, require

pytestmark = [pytest.mark.bpf, pytest.mark.slow]


def _scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_run_serves_http_request_counters_for_requests_made_during_the_run(
    nginx_port: int, tmp_path: Path
) -> None:
    require_bpf()
    curl = require("curl")
    port = free_port()
    command = [sys.executable, "-m", "lanner", "run", "--duration", "120"]
    command += ["-o", f"webserver.listen_port={port}", "-o", "metrics.snaplen=256"]
    env = {**os.environ, "LANNER_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    log: list[str] = []
    started = threading.Event()

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if "Live capture started" in line:
                started.set()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        assert started.wait(90), "".join(log)
        urls = [f"http://127.0.0.1:{nginx_port}/ok"] * 7 + [f"http://127.0.0.1:{nginx_port}/boom"]
        subprocess.run([curl, "-s", "-o", "/dev/null", *urls], check=True)
        base = {"container": "host", "proc": "curl", "role": "client", "method": "GET"}
        ok = (
            "lanner_http_requests_total",
            frozenset({**base, "path": "/ok", "status": "200"}.items()),
        )
        boom = (
            "lanner_http_requests_total",
            frozenset({**base, "path": "/boom", "status": "500"}.items()),
        )
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 15
        samples = _scrape(url)
        while samples.get(boom) != 1 and time.monotonic() < deadline:
            time.sleep(0.2)  # the batch with the last reply may not be fed yet
            samples = _scrape(url)
        assert (samples.get(ok), samples.get(boom)) == (7, 1)
        assert samples[("lanner_engine_events_total", frozenset())] > 0
        assert samples[("falcosecurity_scap_n_evts_total", frozenset())] > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            assert reply.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        reader.join(5)
    assert code == 0, "".join(log)
    assert any(f"Serving /metrics and /healthz on http://127.0.0.1:{port}" in line for line in log)
