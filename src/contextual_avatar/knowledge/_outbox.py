"""The writer's durable outbox: facts acknowledged to disk before they reach the store.

One SQLite file (``outbox.sqlite3``) in a directory the caller chooses, WAL mode. A fact
appended here survives the process being killed (a committed WAL transaction is on disk
before :meth:`Outbox.append` returns; ``synchronous=NORMAL`` may lose the last commits only
on power loss). Rows leave the outbox only after the store confirmed them, so a crash between
the two replays them, and the store's idempotent writes make the replay harmless.

The methods are synchronous and thread-safe (one connection behind a lock); the background
writer calls them from its worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from contextual_avatar.knowledge._sink import sources_from_json, sources_to_json
from contextual_avatar.types import Fact

__all__ = ["OUTBOX_FILENAME", "Outbox"]

OUTBOX_FILENAME = "outbox.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fact TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fact TEXT NOT NULL,
    error TEXT NOT NULL
);
"""


def _encode(fact: Fact) -> str:
    return json.dumps(
        [
            fact.id,
            fact.subject,
            fact.predicate,
            fact.object,
            fact.session_id,
            fact.turn,
            sources_to_json(fact.sources),
            fact.created_at,
            fact.collection,
        ],
        # ASCII escapes keep even unencodable text (lone surrogates) storable and exact.
        ensure_ascii=True,
    )


def _decode(raw: str) -> Fact:
    v: list[Any] = json.loads(raw)
    return Fact(
        id=str(v[0]),
        subject=str(v[1]),
        predicate=str(v[2]),
        object=str(v[3]),
        session_id=str(v[4]),
        turn=int(v[5]),
        sources=sources_from_json(v[6]),
        created_at=float(v[7]),
        # Entries written before collections existed have 8 fields: never served.
        collection=str(v[8]) if len(v) > 8 else "",
    )


class Outbox:
    """An append-only queue of facts on disk, consumed in order."""

    def __init__(self, directory: str | Path) -> None:
        """Open (or create) ``directory/outbox.sqlite3``.

        Args:
            directory: Where the outbox file lives; created if missing. One writer per
                directory is the intended use (two would both replay, harmlessly).
        """
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / OUTBOX_FILENAME
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=30.0, check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError(f"outbox {self.path} is closed")
        return self._conn

    def append(self, facts: Sequence[Fact]) -> None:
        """Append facts in one transaction; when this returns they are on disk."""
        if not facts:
            return
        rows = [(_encode(f),) for f in facts]
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT INTO outbox (fact) VALUES (?)", rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def peek(self, limit: int) -> list[tuple[int, Fact]]:
        """The oldest ``limit`` rows as ``(seq, fact)``, without removing them."""
        with self._lock:
            cur = self._db().execute(
                "SELECT seq, fact FROM outbox ORDER BY seq LIMIT ?", (int(limit),)
            )
            return [(int(seq), _decode(raw)) for seq, raw in cur]

    def delete_through(self, seq: int) -> None:
        """Remove every row up to and including ``seq`` (rows are delivered in order)."""
        with self._lock:
            self._db().execute("DELETE FROM outbox WHERE seq <= ?", (int(seq),))

    def reject(self, seq: int, bad: Sequence[tuple[Fact, str]]) -> None:
        """Remove rows through ``seq`` and keep ``bad`` facts in ``rejected``, atomically.

        ``bad`` are facts the store refused as data, each with the error it gave.
        """
        rows = [(_encode(f), err) for f, err in bad]
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT INTO rejected (fact, error) VALUES (?, ?)", rows)
                db.execute("DELETE FROM outbox WHERE seq <= ?", (int(seq),))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def rejected(self) -> list[tuple[Fact, str]]:
        """Facts the store refused as data (not as an outage), with the error, oldest first."""
        with self._lock:
            cur = self._db().execute("SELECT fact, error FROM rejected ORDER BY seq")
            return [(_decode(raw), str(err)) for raw, err in cur]

    @staticmethod
    def waiting(directory: str | Path) -> int | None:
        """Rows waiting in ``directory``'s outbox, read-only (a writer may hold it open).

        Creates nothing: ``None`` when there is no outbox file yet.

        Raises:
            sqlite3.Error: The file exists but cannot be read.
        """
        path = Path(directory) / OUTBOX_FILENAME
        if not path.is_file():
            return None
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            (rows,) = db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(rows)

    def count(self) -> int:
        """Rows waiting for delivery."""
        with self._lock:
            row = self._db().execute("SELECT COUNT(*) FROM outbox").fetchone()
            return int(row[0])

    def close(self) -> None:
        """Close the file. Safe to call twice."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
