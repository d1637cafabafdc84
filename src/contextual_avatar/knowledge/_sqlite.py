"""The embedded knowledge graph: one SQLite file in WAL mode that processes can share.

Facts live in ``facts`` (primary key ``id``, so ``INSERT OR IGNORE`` makes writes idempotent)
and their lookup keys in ``fact_terms``. Every statement binds its values as parameters. The
stdlib ``sqlite3`` connection is owned by one worker thread, so the event loop never blocks on
disk; WAL plus a busy timeout lets two avatars in two processes read and write one file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge._extract import (
    DEFAULT_MAX_KEY_DF,
    DEFAULT_MAX_QUERY_KEYS,
    fact_entries,
    index_terms,
)
from contextual_avatar.knowledge._sink import sources_from_json, sources_to_json
from contextual_avatar.types import Fact

__all__ = ["SQLiteGraphSink"]

_T = TypeVar("_T")

DEFAULT_BUSY_TIMEOUT_MS = 10_000

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
CREATE TABLE IF NOT EXISTS terms (
    term TEXT PRIMARY KEY,
    df INTEGER NOT NULL
) WITHOUT ROWID;
-- Document frequency per key; INSERT OR IGNORE of a known (term, fact) fires nothing, so
-- replays leave the counts alone.
CREATE TRIGGER IF NOT EXISTS fact_terms_df AFTER INSERT ON fact_terms BEGIN
    INSERT INTO terms (term, df) VALUES (NEW.term, 1)
    ON CONFLICT (term) DO UPDATE SET df = df + 1;
END;
"""

_INSERT_FACT = (
    "INSERT OR IGNORE INTO facts "
    "(id, subject, predicate, object, session_id, turn, sources, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_TERM = "INSERT OR IGNORE INTO fact_terms (term, fact_id) VALUES (?, ?)"
_COLUMNS = "f.id, f.subject, f.predicate, f.object, f.session_id, f.turn, f.sources, f.created_at"

_DATA_ERRORS = (sqlite3.DataError, sqlite3.IntegrityError, sqlite3.InterfaceError)

_Row = tuple[str, str, str, str, str, int, str, float]


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
    )


class SQLiteGraphSink:
    """A :class:`~contextual_avatar.knowledge.KnowledgeGraphSink` in one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        max_key_df: int = DEFAULT_MAX_KEY_DF,
        max_query_keys: int = DEFAULT_MAX_QUERY_KEYS,
    ) -> None:
        """Open (or create) the graph file; the connection is made in the worker thread.

        Args:
            path: The database file; its directory is created if missing.
            busy_timeout_ms: How long a write waits for another process's lock.
            max_key_df: ``related()`` ignores keys indexed on more facts than this (words
                that are everywhere say nothing and cost a scan of their postings).
            max_query_keys: ``related()`` uses at most this many of the question's keys,
                the rarest first.
        """
        self.path = Path(path)
        self._max_key_df = max_key_df
        self._max_query_keys = max_query_keys
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
        batch = list(facts)

        def tx(conn: sqlite3.Connection) -> None:
            # Built here, in the worker thread: key extraction is ~20 us a fact of CPU.
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
                )
                for f in batch
            ]
            terms = [(t, f.id) for f in batch for t in fact_entries(f)]
            with conn:
                conn.executemany(_INSERT_FACT, rows)
                conn.executemany(_INSERT_TERM, terms)

        await self._run(tx)

    async def related(
        self, text: str, limit: int = 10, *, exclude_session: str | None = None
    ) -> list[Fact]:
        """Facts sharing the most lookup keys with ``text``, newest first among equals.

        Of the text's keys, the ``max_query_keys`` rarest ones indexed on at most
        ``max_key_df`` facts are used (see :data:`DEFAULT_MAX_KEY_DF`).

        Args:
            text: Usually the question being answered.
            limit: At most this many facts.
            exclude_session: Leave out facts learned in this session.

        Returns:
            Facts, best first; empty when nothing shares a key.
        """
        keys = index_terms([text])
        if not keys or limit < 1:
            return []
        marks = ",".join("?" for _ in keys)
        sql = (
            f"SELECT {_COLUMNS}, COUNT(*) AS score FROM fact_terms t "  # noqa: S608 (placeholders only)
            "JOIN facts f ON f.id = t.fact_id WHERE t.term IN ("
            f"  SELECT term FROM terms WHERE term IN ({marks}) AND df <= ?"
            "   ORDER BY df, term LIMIT ?) "
            "AND (? IS NULL OR f.session_id <> ?) "
            "GROUP BY f.id ORDER BY score DESC, "
            "CASE f.predicate WHEN 'answered' THEN 0 WHEN 'related_to' THEN 1 "
            "WHEN 'mentions' THEN 2 WHEN 'asked' THEN 3 ELSE 4 END, "
            "f.created_at DESC, f.id LIMIT ?"
        )
        params = (
            *keys,
            self._max_key_df,
            self._max_query_keys,
            exclude_session,
            exclude_session,
            limit,
        )

        def query(conn: sqlite3.Connection) -> list[Fact]:
            return [_row_to_fact(r[:8]) for r in conn.execute(sql, params)]

        return await self._run(query)

    async def get(self, ids: Sequence[str]) -> list[Fact]:
        """Facts by id (missing ids are skipped), in no particular order."""
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

    async def count(self, *, session_prefix: str = "") -> int:
        """Fact records whose session id starts with ``session_prefix`` (all by default)."""

        def query(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM facts WHERE substr(session_id, 1, ?) = ?",
                (len(session_prefix), session_prefix),
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
