"""Replay throughput on a large trace: lanner's engine with the stable ruleset vs `sysdig -r`.

Builds a >= 1M-event trace by repeating the events of a real capture (502Error.scap from the
corpus by default) with shifted timestamps, keeping its process/fd/user blocks, so both tools
rebuild real state. Then, in the same run:

  sysdig      `sysdig -r big.scap -q <filter>` where <filter> is the OR of the stable rules'
              conditions (lists and macros expanded) that sysdig 0.29.3 can compile
  lanner      the same rules through reader -> state -> ruleset (legacy event model, as
              sysdig evaluates enter events too), in this Python process, the reader
              building only the events the rules and the state parser need (in-reader
              selection, as Falco selects syscalls in the kernel); also without selection
  reader      lanner's reader alone (every event built), for reference

Prints events/s (best of --repeat alternated runs), the ratio lanner/sysdig (>1 = lanner
faster) and lanner's peak RSS. sysdig's time includes its process start; lanner's excludes
Python start-up and the rules load (measured by bench/rules_load.py).

Usage: python bench/replay.py [--events 1000000] [--repeat 3] [--trace PATH] [--rules PATH]
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from lanner.capture.scap import ScapReader
from lanner.engine import DetectionEngine
from lanner.rules.loader import load_rules_files
from lanner.rules.parser import format_condition

ROOT = Path(__file__).resolve().parent.parent
COMPAT = Path(os.environ.get("LANNER_COMPAT_DIR", ROOT.parent / "shared" / "compat"))
EVENT_BLOCKS = {0x204: 2, 0x216: 2, 0x221: 2, 0x208: 6, 0x217: 6, 0x222: 6}


def _raw(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def build_big_trace(source: Path, target: Path, min_events: int) -> int:
    """Write ``target``: the non-event blocks of ``source`` once, then its event blocks repeated
    (timestamps shifted past the previous copy) until ``min_events`` is reached."""
    data = _raw(source)
    head: list[bytes] = []
    events: list[tuple[int, bytes]] = []  # (offset of ts inside the block, block bytes)
    pos = 0
    while pos + 8 <= len(data):
        block_type, length = struct.unpack_from("<II", data, pos)
        block = data[pos : pos + length]
        if block_type in EVENT_BLOCKS:
            events.append((8 + EVENT_BLOCKS[block_type], block))
        elif not events:
            head.append(block)
        pos += length
    first_ts = struct.unpack_from("<Q", events[0][1], events[0][0])[0]
    last_ts = struct.unpack_from("<Q", events[-1][1], events[-1][0])[0]
    span = last_ts - first_ts + 1_000_000
    written = 0
    with open(target, "wb") as out:
        for block in head:
            out.write(block)
        copy = 0
        while written < min_events:
            shift = copy * span
            for ts_at, block in events:
                patched = bytearray(block)
                ts = struct.unpack_from("<Q", patched, ts_at)[0]
                struct.pack_into("<Q", patched, ts_at, (ts + shift) & 0xFFFF_FFFF_FFFF_FFFF)
                out.write(patched)
            written += len(events)
            copy += 1
    return written


def sysdig_filter(rules_path: Path, probe_trace: Path) -> tuple[str, list[str], list[str]]:
    """The OR of the rules' expanded conditions that sysdig accepts; names kept and dropped."""
    loaded = load_rules_files([rules_path])
    kept: list[str] = []
    names: list[str] = []
    dropped: list[str] = []
    for rule in loaded.rules:
        text = format_condition(rule.condition_node)
        probe = subprocess.run(
            ["sysdig", "-r", str(probe_trace), "-q", text],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            kept.append(f"({text})")
            names.append(rule.name)
        else:
            dropped.append(rule.name)
    return " or ".join(kept), names, dropped


def time_sysdig(trace: Path, flt: str) -> float:
    start = time.perf_counter()
    subprocess.run(["sysdig", "-r", str(trace), "-q", flt], check=True, capture_output=True)
    return time.perf_counter() - start


def time_lanner(
    trace: Path, rules_path: Path, keep: list[str], select: bool = True
) -> tuple[float, int, int]:
    loaded = load_rules_files([rules_path])
    ruleset = loaded.ruleset()
    ruleset.apply([])
    for rule in loaded.rules:
        if rule.name not in keep:
            ruleset.disable_rules([rule.name])
    alerts = 0

    def count(_alert: object) -> None:
        nonlocal alerts
        alerts += 1

    engine = DetectionEngine(ruleset, count, legacy_events=True, hostname="bench")
    start = time.perf_counter()
    reader = engine.scap_reader(trace) if select else ScapReader(trace)
    for _ in engine.feed(reader):
        pass
    return time.perf_counter() - start, engine.stats.events, alerts


def time_reader(trace: Path) -> float:
    start = time.perf_counter()
    for _ in ScapReader(trace).events():
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--trace", type=Path, default=COMPAT / "scap/gpl-sysdig-inspect/502Error.scap"
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=COMPAT / "rules/falcosecurity-rules-c72713e/falco_rules.yaml",
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N alternated runs")
    args = parser.parse_args()
    if shutil.which("sysdig") is None:
        raise SystemExit("bench/replay.py: sysdig not installed (apt-get install sysdig)")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.scap"
        n = build_big_trace(args.trace, big, args.events)
        print(f"trace: {n} events ({big.stat().st_size / 1e6:.0f} MB) from {args.trace.name}")
        flt, kept, dropped = sysdig_filter(args.rules, args.trace)
        print(f"rules: {len(kept)} of {len(kept) + len(dropped)} stable rules sysdig can compile")
        if dropped:
            print(f"  left out (sysdig 0.29.3 lacks their fields/ops): {', '.join(dropped)}")
        # The machine is shared: alternate the runs and keep each one's best time.
        t_sysdig = t_reader = t_all = t_lanner = float("inf")
        for _ in range(args.repeat):
            t_sysdig = min(t_sysdig, time_sysdig(big, flt))
            t_lanner_once, events, alerts = time_lanner(big, args.rules, kept)
            t_lanner = min(t_lanner, t_lanner_once)
            t_reader = min(t_reader, time_reader(big))
            t_all_once, _, alerts_all = time_lanner(big, args.rules, kept, select=False)
            t_all = min(t_all, t_all_once)
            if alerts != alerts_all:
                raise SystemExit(f"selection changed the alerts: {alerts} vs {alerts_all}")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rate = events / t_lanner
        print(f"sysdig -r + filter : {t_sysdig:7.2f} s  {n / t_sysdig / 1e3:8.0f} k events/s")
        print(f"lanner reader only : {t_reader:7.2f} s  {n / t_reader / 1e3:8.0f} k events/s")
        print(f"lanner, no select  : {t_all:7.2f} s  {events / t_all / 1e3:8.0f} k events/s")
        print(f"lanner full replay : {t_lanner:7.2f} s  {rate / 1e3:8.0f} k events/s")
        print(f"alerts             : {alerts}")
        print(f"ratio lanner/sysdig: {t_sysdig / t_lanner:.2f}x (>1 means lanner is faster)")
        print(f"lanner peak RSS    : {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
