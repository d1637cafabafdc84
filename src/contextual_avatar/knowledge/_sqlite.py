"""The embedded knowledge graph: one SQLite file in WAL mode that processes can share.

Facts live in ``facts`` (primary key ``id``, so ``INSERT OR IGNORE`` makes writes
idempotent), indexed by ``(collection, subject, predicate)`` for ``related()``. Files
written by earlier releases open unchanged and gain the ``collection`` column; their rows
are never served. Every statement binds its values as parameters. The stdlib ``sqlite3``
connection is owned by one worker thread, so the event loop never blocks on disk; WAL plus
a busy timeout lets two avatars in two processes read and write one file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge._extract import ANSWERED_BY, session_key
from contextual_avatar.knowledge._sink import (
    DEFAULT_COLLECTION,
    query_keys,
    sources_from_json,
    sources_to_json,
)
from contextual_avatar.types import Fact

__all__ = ["SQLiteGraphSink"]

_T = TypeVar("_T")

DEFAULT_BUSY_TIMEOUT_MS = 10_000

# ``fact_terms`` and ``terms`` indexed the free-text facts of earlier releases; they are
# kept (so old files open) but no longer written or read.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    predicate TEXT NOT NULL,
    object TEXT NOT NULL,
    session_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    sources TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fact_terms (
    term TEXT NOT NULL,
    fact_id TEXT NOT NULL REFERENCES facts(id),
    PRIMARY KEY (term, fact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS facts_session ON facts(session_id);
CREATE INDEX IF NOT EXISTS facts_created ON facts(created_at);
"""
# Migration: files from before collections get the column; their rows get "" and are
# never served (no collection is named "").
_ADD_COLLECTION = "ALTER TABLE facts ADD COLUMN collection TEXT NOT NULL DEFAULT ''"
_PRIOR_INDEX = "CREATE INDEX IF NOT EXISTS facts_prior ON facts(collection, subject, predicate)"

_INSERT_FACT = (
    "INSERT OR IGNORE INTO facts "
    "(id, subject, predicate, object, session_id, turn, sources, created_at, collection) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLUMNS = (
    "f.id, f.subject, f.predicate, f.object, f.session_id, f.turn, f.sources, f.created_at, "
    "f.collection"
)

_DATA_ERRORS = (sqlite3.DataError, sqlite3.IntegrityError, sqlite3.InterfaceError)

_Row = tuple[str, str, str, str, str, int, str, float, str]


def _row_to_fact(row: _Row) -> Fact:
    return Fact(
        id=row[0],
        subject=row[1],
        predicate=row[2],
        object=row[3],
        session_id=row[4],
        turn=int(row[5]),
        sources=sources_from_json(row[6]),
        created_at=float(row[7]),
        collection=row[8],
    )


class SQLiteGraphSink:
    """A :class:`~contextual_avatar.knowledge.KnowledgeGraphSink` in one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        """Open (or create) the graph file; the connection is made in the worker thread.

        Args:
            path: The database file; its directory is created if missing.
            busy_timeout_ms: How long a write waits for another process's lock.
        """
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kg-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(facts)")}
            if "collection" not in columns:
                with conn:
                    conn.execute(_ADD_COLLECTION)
            conn.execute(_PRIOR_INDEX)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closed:
            raise StoreUnavailable(f"knowledge graph {self.path} is closed")

        def call() -> _T:
            try:
                return fn(self._connect())
            except _DATA_ERRORS:
                raise  # about the facts, not the store (the writer sets such facts aside)
            except (sqlite3.Error, OSError) as exc:
                # Locked, unreadable, corrupt or unwritable: the store is at fault.
                raise StoreUnavailable(f"knowledge graph {self.path}: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def write(self, facts: Sequence[Fact]) -> None:
        """Store facts in one transaction; ids already present are left as they are.

        Raises:
            StoreUnavailable: The file cannot be opened or written.
        """
        if not facts:
            return
        rows = [
            (
                f.id,
                f.subject,
                f.predicate,
                f.object,
                f.session_id,
                f.turn,
                sources_to_json(f.sources),
                f.created_at,
                f.collection,
            )
            for f in facts
        ]

        def tx(conn: sqlite3.Connection) -> None:
            with conn:
                conn.executemany(_INSERT_FACT, rows)

        await self._run(tx)

    async def related(
        self,
        keys: str | Sequence[str],
        limit: int = 10,
        *,
        collection: str = DEFAULT_COLLECTION,
        exclude_session: str | None = None,
        since: float = 0.0,
    ) -> list[Fact]:
        """Chunks that answered questions on ``keys`` in ``collection``, best first.

        Args:
            keys: Feature keys of the question (or a text, see :func:`query_keys`).
            limit: At most this many chunks.
            collection: Only facts learned in this knowledge base.
            exclude_session: Leave out what this session taught.
            since: Only facts learned at or after this Unix time (retention).

        Returns:
            One fact per chunk (``object``), ``score`` the distinct keys it matched,
            ``session_id`` empty; empty when nothing matches.
        """
        wanted = query_keys(keys, collection)
        if not wanted or limit < 1 or not collection:
            return []
        marks = ",".join("?" for _ in wanted)
        sql = (
            "SELECT f.object, COUNT(DISTINCT f.subject) AS score, "  # noqa: S608 (placeholders only)
            "COUNT(DISTINCT f.session_id) AS votes, MAX(f.created_at) AS latest, "
            "MIN(f.sources), MIN(f.subject) FROM facts f "
            f"WHERE f.collection = ? AND f.predicate = ? AND f.subject IN ({marks}) "
            "AND f.created_at >= ? AND f.session_id <> ? "
            "GROUP BY f.object ORDER BY score DESC, votes DESC, latest DESC, f.object LIMIT ?"
        )
        exclude = session_key(exclude_session) if exclude_session is not None else ""
        params = (collection, ANSWERED_BY, *wanted, float(since), exclude, int(limit))

        def query(conn: sqlite3.Connection) -> list[Fact]:
            return [
                Fact(
                    id=f"{collection}:{row[0]}",
                    subject=str(row[5]),
                    predicate=ANSWERED_BY,
                    object=str(row[0]),
                    session_id="",
                    turn=0,
                    sources=sources_from_json(row[4]),
                    created_at=float(row[3]),
                    collection=collection,
                    score=float(row[1]),
                )
                for row in conn.execute(sql, params)
            ]

        return await self._run(query)

    async def forget(self, session_id: str) -> int:
        """Delete every fact the session taught (and any an older release kept verbatim)."""
        names = (session_key(session_id), session_id)

        def tx(conn: sqlite3.Connection) -> int:
            with conn:
                conn.execute(
                    "DELETE FROM fact_terms WHERE fact_id IN "
                    "(SELECT id FROM facts WHERE session_id IN (?, ?))",
                    names,
                )
                return conn.execute("DELETE FROM facts WHERE session_id IN (?, ?)", names).rowcount

        return await self._run(tx)

    async def expire(self, before: float) -> int:
        """Delete facts learned before ``before`` (Unix time)."""

        def tx(conn: sqlite3.Connection) -> int:
            with conn:
                conn.execute(
                    "DELETE FROM fact_terms WHERE fact_id IN "
                    "(SELECT id FROM facts WHERE created_at < ?)",
                    (float(before),),
                )
                return conn.execute(
                    "DELETE FROM facts WHERE created_at < ?", (float(before),)
                ).rowcount

        return await self._run(tx)

    async def get(self, ids: Sequence[str]) -> list[Fact]:
        """Fact records by id as stored (missing ids are skipped), in no particular order."""
        wanted = list(dict.fromkeys(ids))

        def query(conn: sqlite3.Connection) -> list[Fact]:
            out: list[Fact] = []
            for i in range(0, len(wanted), 500):
                part = wanted[i : i + 500]
                marks = ",".join("?" for _ in part)
                sql = f"SELECT {_COLUMNS} FROM facts f WHERE f.id IN ({marks})"  # noqa: S608
                out.extend(_row_to_fact(r) for r in conn.execute(sql, part))
            return out

        return await self._run(query)

    async def count(self, *, session_prefix: str = "", collection: str | None = None) -> int:
        """Fact records whose stored session id starts with ``session_prefix`` (all by default).

        Stored session ids are :func:`~contextual_avatar.knowledge.session_key` hashes for
        facts the engine writes; ``collection`` narrows to one knowledge base.
        """

        def query(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM facts WHERE substr(session_id, 1, ?) = ? "
                "AND (? IS NULL OR collection = ?)",
                (len(session_prefix), session_prefix, collection, collection),
            ).fetchone()
            return int(row[0])

        return await self._run(query)

    async def close(self) -> None:
        """Close the connection and stop the worker thread. Safe to call twice."""
        if self._closed:
            return

        def shut(_: object = None) -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._closed = True
        self._executor.shutdown(wait=True)
