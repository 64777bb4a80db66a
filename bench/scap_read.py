"""Read throughput of the .scap reader on a synthetic capture of >= 1M events.

The capture is built in a temp dir by repeating the events of Falco's corpus traces
(re-encoded as plain V2 event blocks). Three passes are timed:
  header-only   iterate the batches (Event objects built, no param touched)
  full decode   decode every param of every event
  render        sysdig-style text of every event's args

Usage: python bench/scap_read.py [--events N] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from lanner.capture.scap import ScapReader
from lanner.capture.scap_write import write_scap
from lanner.events.event import Event

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("LANNER_COMPAT_DIR", ROOT.parent / "shared" / "compat"))


def corpus_events(corpus: Path) -> list[Event]:
    events: list[Event] = []
    for trace in sorted((corpus / "scap").glob("*/*.scap")):
        for batch in ScapReader(trace).events():
            events.extend(batch)
    return events


def repeated(events: list[Event], total: int) -> Iterator[Event]:
    written = 0
    while written < total:
        for event in events:
            yield event
            written += 1
            if written >= total:
                return


def timed(label: str, path: Path, visit: str) -> float:
    start = time.perf_counter()
    count = 0
    for batch in ScapReader(path, batch_size=4096).events():
        count += len(batch)
        if visit == "decode":
            for event in batch:
                for index in range(event.nparams):
                    event.param(index)
        elif visit == "render":
            for event in batch:
                event.render_args()
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"{label:<12} {count:>9} events  {elapsed:6.2f} s  {rate / 1e3:8.0f} k events/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    source = corpus_events(args.corpus)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.scap"
        with open(path, "wb") as stream:
            written = write_scap(stream, repeated(source, args.events))
        size_mb = path.stat().st_size / 1e6
        print(
            f"synthetic capture: {written} events, {size_mb:.0f} MB "
            f"(from {len(source)} corpus events)"
        )
        timed("header-only", path, "none")
        timed("full decode", path, "decode")
        timed("render", path, "render")


if __name__ == "__main__":
    main()
