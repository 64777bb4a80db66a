"""The alert spool: a durable, bounded journal of alerts with one read cursor per sink.

Every alert bound for a spooled sink is appended once (one row, shared by all sinks) before
the producer goes on; each sink's worker reads the rows after its own cursor, delivers
them, and moves its cursor. So a sink that is down or slow only lets its cursor lag, the
other sinks go on, and whatever was appended survives a crash of the process (SQLite in WAL
mode; with ``synchronous=NORMAL`` a power loss may take the last transactions, ``FULL``
closes that gap at the cost of an fsync per alert).

Bounds: ``max_rows`` and ``max_bytes``. When an append would pass either, the OLDEST rows
go, and each sink whose cursor had not reached them counts them in its ``overflow``
counter. Rows go only once every cursor has passed them otherwise. The journal stores
opaque text: this module knows nothing of alerts (the store sits below alerts/).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    consumer TEXT PRIMARY KEY,
    acked INTEGER NOT NULL,
    overflow INTEGER NOT NULL DEFAULT 0
);
"""


class SpoolError(Exception):
    """The spool file cannot be used: one line naming the file."""


@dataclass(frozen=True)
class SpoolLimits:
    max_rows: int = 100_000
    max_bytes: int = 256 << 20


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    seq: int
    key: str
    body: str


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


class AlertSpool:
    """The journal file, its cursors and its bounds.

    ``path=None`` makes a private journal in a temporary directory, removed on close: the
    same code path, without durability across runs (for ``lanner replay``).
    """

    def __init__(
        self,
        path: Path | None,
        consumers: Sequence[str],
        limits: SpoolLimits | None = None,
        *,
        synchronous: str = "NORMAL",
    ) -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL"):
            raise SpoolError(
                f"spool synchronous: expected off, normal or full, got {synchronous!r}"
            )
        self.limits = limits or SpoolLimits()
        self.durable = path is not None
        self._tempdir: str | None = None
        if path is None:
            self._tempdir = tempfile.mkdtemp(prefix="lanner-spool-")
            path = Path(self._tempdir) / "spool.db"
        self.path = path
        self._synchronous = synchronous.upper()
        self._lock_file = self._take_lock(path)
        try:
            self._conn = _connect(path, self._synchronous)
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._release_lock()
            raise SpoolError(f"{path}: cannot open the alert spool: {exc}") from None
        self._write_lock = threading.Lock()
        self.abandoned: dict[str, int] = {}
        """Undelivered rows of consumers no longer configured (dropped at open)."""
        self._rows, self._bytes = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM journal"
        ).fetchone()
        self._register(consumers)

    @staticmethod
    def _take_lock(path: Path) -> int:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(f"{path}: cannot create the alert spool: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SpoolError(f"{path}: alert spool in use by another lanner process") from None
        return fd

    def _release_lock(self) -> None:
        if self._lock_file >= 0:
            os.close(self._lock_file)
            self._lock_file = -1

    def _register(self, consumers: Sequence[str]) -> None:
        conn = self._conn
        wanted = set(consumers)
        conn.execute("BEGIN IMMEDIATE")
        try:
            top = self._max_seq()
            known = dict(conn.execute("SELECT consumer, acked FROM cursors").fetchall())
            for name, acked in known.items():
                if name not in wanted:
                    pending = conn.execute(
                        "SELECT COUNT(*) FROM journal WHERE seq > ?", (acked,)
                    ).fetchone()[0]
                    if pending:
                        self.abandoned[name] = pending
                    conn.execute("DELETE FROM cursors WHERE consumer = ?", (name,))
            for name in consumers:
                if name not in known:
                    # A new sink starts at the head: it is not sent what came before it existed.
                    conn.execute("INSERT INTO cursors (consumer, acked) VALUES (?, ?)", (name, top))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._trim()

    def _max_seq(self) -> int:
        row = self._conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'journal'"
        ).fetchone()
        return int(row[0]) if row else 0

    # -- producer side ---------------------------------------------------------------------

    def append(self, key: str, body: str) -> int:
        """Store one entry durably; returns its sequence number."""
        return self.append_many(((key, body),))

    def append_many(self, items: Sequence[tuple[str, str]] | tuple[tuple[str, str], ...]) -> int:
        """Store entries in one transaction; returns the last sequence number."""
        rows = [(key, body, len(body)) for key, body in items]
        added = sum(r[2] for r in rows)
        with self._write_lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                over_rows = self._rows + len(rows) - self.limits.max_rows
                over_bytes = self._bytes + added - self.limits.max_bytes
                if over_rows > 0 or over_bytes > 0:
                    self._drop_oldest(max(over_rows, 0), max(over_bytes, 0))
                if len(rows) == 1:
                    last = conn.execute(
                        "INSERT INTO journal (key, body, size) VALUES (?, ?, ?)", rows[0]
                    ).lastrowid
                else:
                    conn.executemany("INSERT INTO journal (key, body, size) VALUES (?, ?, ?)", rows)
                    last = self._max_seq()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._rows += len(rows)
            self._bytes += added
            return int(last or 0)

    def _drop_oldest(self, rows_needed: int, bytes_needed: int) -> None:
        """Make room (inside the caller's transaction): the overflow policy lives here."""
        conn = self._conn
        # Free a little more than needed so a full spool does not pay this on every append.
        rows_needed = max(rows_needed, self.limits.max_rows // 100, 1) if rows_needed else 0
        floor = 0
        freed_rows = freed_bytes = 0
        while freed_rows < rows_needed or freed_bytes < bytes_needed:
            chunk = conn.execute(
                "SELECT seq, size FROM journal WHERE seq > ? ORDER BY seq LIMIT 1000", (floor,)
            ).fetchall()
            if not chunk:
                break
            for seq, size in chunk:
                if freed_rows >= rows_needed and freed_bytes >= bytes_needed:
                    break
                floor = seq
                freed_rows += 1
                freed_bytes += size
        if not floor:
            return
        for consumer, acked in conn.execute("SELECT consumer, acked FROM cursors").fetchall():
            if acked < floor:
                lost = conn.execute(
                    "SELECT COUNT(*) FROM journal WHERE seq > ? AND seq <= ?", (acked, floor)
                ).fetchone()[0]
                conn.execute(
                    "UPDATE cursors SET acked = ?, overflow = overflow + ? WHERE consumer = ?",
                    (floor, lost, consumer),
                )
        conn.execute("DELETE FROM journal WHERE seq <= ?", (floor,))
        self._rows -= freed_rows
        self._bytes -= freed_bytes

    # -- consumer side ---------------------------------------------------------------------

    def reader(self) -> SpoolReader:
        """A connection for one worker thread."""
        return SpoolReader(self, _connect(self.path, self._synchronous))

    def _ack(self, conn: sqlite3.Connection, consumer: str, seq: int) -> None:
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # MAX: an overflow may have moved the cursor past what this worker had read.
                conn.execute(
                    "UPDATE cursors SET acked = MAX(acked, ?) WHERE consumer = ?", (seq, consumer)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        self._trim()

    def _trim(self) -> None:
        """Delete the rows every cursor has passed."""
        with self._write_lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                floor = conn.execute("SELECT MIN(acked) FROM cursors").fetchone()[0]
                if floor is None:
                    floor = self._max_seq()
                count, size = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM journal WHERE seq <= ?",
                    (floor,),
                ).fetchone()
                if count:
                    conn.execute("DELETE FROM journal WHERE seq <= ?", (floor,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._rows -= count
            self._bytes -= size

    # -- inspection ------------------------------------------------------------------------

    def depth(self, consumer: str) -> int:
        """Entries the consumer has not acknowledged yet."""
        with self._write_lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM journal WHERE seq > "
                "(SELECT acked FROM cursors WHERE consumer = ?)",
                (consumer,),
            ).fetchone()
        return int(row[0])

    def overflow(self, consumer: str) -> int:
        """Entries dropped for this consumer by the bound (cumulative, kept across runs)."""
        with self._write_lock:
            row = self._conn.execute(
                "SELECT overflow FROM cursors WHERE consumer = ?", (consumer,)
            ).fetchone()
        return int(row[0]) if row else 0

    @property
    def rows(self) -> int:
        return int(self._rows)

    @property
    def bytes(self) -> int:
        return int(self._bytes)

    def close(self) -> None:
        with self._write_lock:
            self._conn.close()
        self._release_lock()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None


class SpoolReader:
    """One worker's view of the journal: what comes after its cursor, and acknowledgement."""

    def __init__(self, spool: AlertSpool, conn: sqlite3.Connection) -> None:
        self.spool = spool
        self._conn = conn

    def after_cursor(self, consumer: str, limit: int) -> list[SpoolEntry]:
        """Up to ``limit`` entries after the consumer's cursor, oldest first."""
        rows = self._conn.execute(
            "SELECT seq, key, body FROM journal WHERE seq > "
            "(SELECT acked FROM cursors WHERE consumer = ?) ORDER BY seq LIMIT ?",
            (consumer, limit),
        ).fetchall()
        return [SpoolEntry(seq, key, body) for seq, key, body in rows]

    def ack(self, consumer: str, seq: int) -> None:
        """Everything up to ``seq`` is delivered for this consumer."""
        self.spool._ack(self._conn, consumer, seq)

    def close(self) -> None:
        self._conn.close()
