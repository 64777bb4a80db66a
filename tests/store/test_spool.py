"""The SQLite alert spool: order, cursors, bounds, persistence and the single-user lock."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lanner.store.spool import AlertSpool, SpoolError, SpoolLimits


def _bodies(spool: AlertSpool, consumer: str, limit: int = 1000) -> list[str]:
    reader = spool.reader()
    try:
        return [e.body for e in reader.after_cursor(consumer, limit)]
    finally:
        reader.close()


def test_each_consumer_reads_in_order_from_its_own_cursor(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path / "s.db", ["a", "b"])
    for i in range(5):
        spool.append(f"id{i}", f"body{i}")
    reader = spool.reader()
    first = reader.after_cursor("a", 2)
    assert [e.body for e in first] == ["body0", "body1"]
    reader.ack("a", first[-1].seq)
    assert _bodies(spool, "a") == ["body2", "body3", "body4"]
    assert _bodies(spool, "b") == [f"body{i}" for i in range(5)]
    assert spool.depth("a") == 3 and spool.depth("b") == 5
    reader.close()
    spool.close()


def test_rows_go_once_every_cursor_has_passed_them(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path / "s.db", ["a", "b"])
    last = spool.append_many([(f"id{i}", "x" * 10) for i in range(4)])
    reader = spool.reader()
    reader.ack("a", last)
    assert spool.rows == 4  # b still needs them
    reader.ack("b", last - 2)
    assert spool.rows == 2 and spool.bytes == 20
    reader.ack("b", last)
    assert spool.rows == 0 and spool.bytes == 0
    # Sequence numbers keep growing after the journal emptied (cursors stay meaningful).
    assert spool.append("id-next", "y") > last
    assert _bodies(spool, "a") == ["y"]
    reader.close()
    spool.close()


def test_overflow_drops_oldest_and_counts_for_lagging_consumers_only(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path / "s.db", ["fast", "slow"], SpoolLimits(max_rows=10))
    reader = spool.reader()
    for i in range(25):
        seq = spool.append(f"id{i}", f"b{i:02d}")
        reader.ack("fast", seq)
    assert spool.rows <= 10
    remaining = _bodies(spool, "slow")
    # What is left is the newest, still in order, and ends with the last append.
    assert remaining == sorted(remaining) and remaining[-1] == "b24"
    assert spool.overflow("slow") == 25 - len(remaining)
    assert spool.overflow("fast") == 0
    assert _bodies(spool, "fast") == []
    reader.close()
    spool.close()


def test_byte_bound(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path / "s.db", ["a"], SpoolLimits(max_rows=1000, max_bytes=100))
    for i in range(30):
        spool.append(f"id{i}", f"{i:09d}")  # 9 bytes each
    assert spool.bytes <= 100
    kept = _bodies(spool, "a")
    assert kept[-1] == f"{29:09d}"
    assert spool.overflow("a") == 30 - len(kept)
    spool.close()


def test_cursors_and_rows_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    spool = AlertSpool(path, ["a"])
    for i in range(3):
        spool.append(f"id{i}", f"body{i}")
    reader = spool.reader()
    reader.ack("a", reader.after_cursor("a", 1)[0].seq)
    reader.close()
    spool.close()
    again = AlertSpool(path, ["a", "new"])
    assert _bodies(again, "a") == ["body1", "body2"]
    # A sink configured after the fact is not sent the past.
    assert _bodies(again, "new") == []
    again.append("id3", "body3")
    assert _bodies(again, "new") == ["body3"]
    again.close()


def test_consumer_no_longer_configured_is_reported_and_released(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    spool = AlertSpool(path, ["a", "gone"])
    spool.append("id0", "body0")
    spool.close()
    again = AlertSpool(path, ["a"])
    assert again.abandoned == {"gone": 1}
    again.close()


def test_second_process_cannot_share_a_spool(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    spool = AlertSpool(path, ["a"])
    with pytest.raises(SpoolError, match="in use by another lanner"):
        AlertSpool(path, ["a"])
    spool.close()
    AlertSpool(path, ["a"]).close()  # free again once closed


def test_temporary_spool_is_removed_on_close() -> None:
    spool = AlertSpool(None, ["a"])
    spool.append("id", "body")
    assert spool.path.exists() and not spool.durable
    spool.close()
    assert not spool.path.parent.exists()


def test_unusable_path_is_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SpoolError, match="cannot create the alert spool"):
        AlertSpool(blocker / "spool.db", ["a"])
    with pytest.raises(SpoolError, match="synchronous"):
        AlertSpool(tmp_path / "s.db", ["a"], synchronous="sometimes")


def test_concurrent_appends_and_acks_lose_nothing(tmp_path: Path) -> None:
    spool = AlertSpool(tmp_path / "s.db", ["a"])
    seen: list[str] = []
    done = threading.Event()

    def consume() -> None:
        reader = spool.reader()
        while True:
            finished = done.is_set()  # read before looking, so the last appends are seen
            entries = reader.after_cursor("a", 50)
            if not entries:
                if finished:
                    break
                continue
            seen.extend(e.body for e in entries)
            reader.ack("a", entries[-1].seq)
        reader.close()

    thread = threading.Thread(target=consume)
    thread.start()
    for i in range(500):
        spool.append(f"id{i}", str(i))
    done.set()
    thread.join(10)
    assert seen == [str(i) for i in range(500)]
    assert spool.rows == 0
    spool.close()
