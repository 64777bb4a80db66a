"""Live cost of lanner on a web server: nginx loaded by wrk, throughput without lanner, under
`lanner run` with rules only (metrics.enabled=false), and with rules + metrics, interleaved in
the same run (the machine is shared: interleaving spreads its noise over the three).

For each configuration: the median of the requests/s wrk reports, the ratio to the baseline,
the kernel events written and dropped as `lanner run` reports them at exit, and (with metrics)
whether the HTTP request counter lanner served on /metrics matched wrk's count.

    .venv/bin/python bench/metrics_live.py [--rounds 3] [--seconds 5] [--connections 4]

Needs root (eBPF), nginx and wrk (scripts/install-deps.sh).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.metrics.servers import free_port, nginx_server  # noqa: E402

CONFIGS = ("baseline", "rules", "rules+metrics")


class Agent:
    """`lanner run` in the background, started and ready (probe attached)."""

    def __init__(self, metrics: bool, state_dir: Path) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "lanner", "run", "--duration", "600"]
        command += ["-o", f"metrics.enabled={'true' if metrics else 'false'}"]
        command += ["-o", f"webserver.enabled={'true' if metrics else 'false'}"]
        command += ["-o", f"webserver.listen_port={self.port}"]
        env = {**os.environ, "LANNER_STATE_DIR": str(state_dir)}
        self.proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        self.log: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line)
                if "Live capture started" in line:
                    ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(120):
            self.proc.kill()
            raise RuntimeError("lanner run did not start:\n" + "".join(self.log))

    def http_requests(self, proc: str) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            text = r.read().decode()
        pattern = rf'^lanner_http_requests_total\{{[^}}]*proc="{proc}",role="client"[^}}]*\}} (\d+)'
        return sum(int(n) for n in re.findall(pattern, text, re.M))

    def stop(self) -> tuple[int, int]:
        """Stop the agent; (kernel events written, dropped) from its summary."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        self.reader.join(5)
        found = re.search(r"Kernel: (\d+) events written, (\d+) dropped", "".join(self.log))
        return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def wrk(port: int, seconds: float, connections: int) -> tuple[float, int]:
    """(requests/s, requests) of one wrk run against /ok."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed (scripts/install-deps.sh installs it)")
    out = subprocess.run(
        [binary, "-t1", f"-c{connections}", f"-d{seconds:g}s", f"http://127.0.0.1:{port}/ok"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    assert rate and total, out
    return float(rate.group(1)), int(total.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {c: [] for c in CONFIGS}
    kernel: dict[str, list[tuple[int, int]]] = {c: [] for c in CONFIGS}
    agreement: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        servers = nginx_server(Path(tmp))
        port = next(servers)
        wrk(port, 1, args.connections)  # warm-up
        for round_no in range(args.rounds):
            for config in CONFIGS:
                agent = None
                if config != "baseline":
                    agent = Agent(config == "rules+metrics", Path(tmp))
                rate, total = wrk(port, args.seconds, args.connections)
                rates[config].append(rate)
                if agent is not None:
                    if config == "rules+metrics":
                        time.sleep(2)  # let the agent catch up before the scrape
                        agreement.append((agent.http_requests("wrk"), total))
                    kernel[config].append(agent.stop())
                print(f"round {round_no + 1} {config:>14}: {rate:>9.0f} req/s", flush=True)
        servers.close()
    base = statistics.median(rates["baseline"])
    print(f"\nnginx + wrk -t1 -c{args.connections}, {args.seconds:g} s x {args.rounds} rounds")
    print(f"{'config':>14} {'req/s':>9} {'ratio':>6} {'kernel events':>14} {'dropped':>8}")
    for config in CONFIGS:
        median = statistics.median(rates[config])
        written = sum(w for w, _d in kernel[config])
        dropped = sum(d for _w, d in kernel[config])
        share = f"{100 * dropped / (written + dropped):.1f}%" if written else "-"
        print(f"{config:>14} {median:>9.0f} {median / base:>6.2f} {written:>14} {share:>8}")
    for seen, truth in agreement:
        print(f"/metrics wrk requests {seen} vs wrk's own count {truth}")


if __name__ == "__main__":
    main()
