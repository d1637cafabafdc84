"""The knowledge graph on a Neo4j (or Bolt-compatible) server, through the official driver.

Graph model::

    (:Fact {id, subject, predicate, object, session_id, turn, sources, created_at, collection})

``Fact.id`` carries a uniqueness constraint and every write ``MERGE`` s on it, so replays are
idempotent; ``Fact.subject`` (the hashed question key) is indexed for ``related()``, which
filters on ``collection`` so knowledge bases never meet. Writes are ``UNWIND`` batches in
managed transactions (``execute_write``). User text reaches the server only as query
parameters: every Cypher string here is a constant.

Graphs written by earlier releases open unchanged: their facts carry no ``collection`` and
another predicate, so they are never served; their ``Entity`` nodes are removed by
``forget``/``expire`` once no fact points at them.

Only the portable Cypher subset is used (no full-text or vector indexes, no APOC, no
``SET +=`` of maps), so the same queries run on Neo4j 5 and on ArcadeDB's Bolt server, the
stand-in the tests use (see ``docs/knowledge.md``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, LiteralString

from contextual_avatar.errors import MissingDependencyError, StoreUnavailable
from contextual_avatar.knowledge._config import DEFAULT_CONNECT_TIMEOUT_S
from contextual_avatar.knowledge._extract import ANSWERED_BY, session_key
from contextual_avatar.knowledge._sink import (
    DEFAULT_COLLECTION,
    query_keys,
    sources_from_json,
    sources_to_json,
)
from contextual_avatar.types import Fact

if TYPE_CHECKING:
    from neo4j import AsyncDriver, AsyncManagedTransaction

__all__ = ["Neo4jGraphSink"]

DEFAULT_ROWS_PER_TX = 1000
_CONSTRAINT_RETRIES = 5

SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT kg_fact_id IF NOT EXISTS FOR (f:Fact) REQUIRE f.id IS UNIQUE",
    "CREATE INDEX kg_fact_subject IF NOT EXISTS FOR (f:Fact) ON (f.subject)",
)

MERGE_FACTS: LiteralString = """
UNWIND $facts AS r
MERGE (f:Fact {id: r.id})
ON CREATE SET f.subject = r.subject, f.predicate = r.predicate, f.object = r.object,
              f.session_id = r.session_id, f.turn = r.turn, f.sources = r.sources,
              f.created_at = r.created_at, f.collection = r.collection
"""

RELATED: LiteralString = """
MATCH (f:Fact)
WHERE f.subject IN $keys AND f.collection = $collection AND f.predicate = $predicate
  AND f.created_at >= $since AND f.session_id <> $exclude
WITH f.object AS chunk, count(DISTINCT f.subject) AS score,
     count(DISTINCT f.session_id) AS votes, max(f.created_at) AS latest,
     min(f.sources) AS sources, min(f.subject) AS subject
RETURN chunk, score, votes, latest, sources, subject
ORDER BY score DESC, votes DESC, latest DESC, chunk ASC
LIMIT $limit
"""

_RETURN_FACT: LiteralString = """
RETURN f.id AS id, f.subject AS subject, f.predicate AS predicate, f.object AS object,
       f.session_id AS session_id, f.turn AS turn, f.sources AS sources,
       f.created_at AS created_at, f.collection AS collection
"""

GET: LiteralString = "MATCH (f:Fact) WHERE f.id IN $ids" + _RETURN_FACT

COUNT: LiteralString = """
MATCH (f:Fact)
WHERE f.session_id STARTS WITH $prefix AND ($collection IS NULL OR f.collection = $collection)
RETURN count(f) AS n
"""

FORGET: LiteralString = (
    "MATCH (f:Fact) WHERE f.session_id IN $names DETACH DELETE f RETURN count(f) AS n"
)
EXPIRE: LiteralString = (
    "MATCH (f:Fact) WHERE f.created_at < $before DETACH DELETE f RETURN count(f) AS n"
)
# Entity nodes of earlier releases (names taken from callers' text) once no fact uses them.
ORPHANS: LiteralString = """
MATCH (e:Entity)
WITH e, COUNT { (e)<-[:MENTIONS]-() } AS uses
WHERE uses = 0
DETACH DELETE e
"""


def _store_errors() -> tuple[type[Exception], ...]:
    """What the driver raises when the server is unreachable or refuses.

    All become ``StoreUnavailable``: the driver's public errors, and the read deadline it can
    let escape unwrapped while a server dies mid-call.
    """
    import neo4j.exceptions as nx

    found: list[type[Exception]] = [nx.Neo4jError, nx.DriverError, OSError]
    try:
        from neo4j._exceptions import SocketDeadlineExceededError
    except ImportError:  # pragma: no cover - another driver version
        pass
    else:
        found.append(SocketDeadlineExceededError)
    return tuple(found)


def _record_to_fact(rec: Any) -> Fact:
    return Fact(
        id=str(rec["id"]),
        subject=str(rec["subject"]),
        predicate=str(rec["predicate"]),
        object=str(rec["object"]),
        session_id=str(rec["session_id"]),
        turn=int(rec["turn"]),
        sources=sources_from_json(rec["sources"]),
        created_at=float(rec["created_at"]),
        collection=str(rec["collection"] or ""),
    )


class Neo4jGraphSink:
    """A :class:`~contextual_avatar.knowledge.KnowledgeGraphSink` on a Bolt server."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str | None = None,
        *,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        rows_per_tx: int = DEFAULT_ROWS_PER_TX,
    ) -> None:
        """Create the driver (no connection is made until the first call).

        Args:
            uri: Bolt URI, e.g. ``"bolt://127.0.0.1:7687"``.
            user: User name.
            password: Password.
            database: Database name; ``None`` uses the server's default.
            connect_timeout_s: Connection timeout, and how long a managed transaction keeps
                retrying transient errors before the call fails (so an outage surfaces
                quickly and the background writer's outbox takes over).
            rows_per_tx: Facts per ``UNWIND`` transaction.

        Raises:
            MissingDependencyError: The ``neo4j`` extra is not installed.
        """
        try:
            import neo4j
        except ImportError as exc:
            raise MissingDependencyError("the Neo4j knowledge graph", "neo4j", "neo4j") from exc
        self.uri = uri
        self.database = database
        self._rows_per_tx = max(1, rows_per_tx)
        self._driver: AsyncDriver = neo4j.AsyncGraphDatabase.driver(
            uri,
            auth=(user, password),
            connection_timeout=connect_timeout_s,
            connection_acquisition_timeout=connect_timeout_s,
            max_transaction_retry_time=connect_timeout_s,
            # The driver's first retry waits 1 s by default; an outage should reach the
            # background writer (and its outbox) within about connect_timeout_s instead.
            initial_retry_delay=min(1.0, connect_timeout_s / 10),
        )
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()
        self._closed = False

    def _translate(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"Neo4j at {self.uri}: {type(exc).__name__}: {exc}")

    async def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        async with self._schema_lock:
            if self._schema_ready:
                return
            async with self._driver.session(database=self.database) as session:
                for stmt in SCHEMA:
                    result = await session.run(stmt)
                    await result.consume()
            self._schema_ready = True

    @staticmethod
    async def _write_tx(tx: AsyncManagedTransaction, facts: list[dict[str, Any]]) -> None:
        result = await tx.run(MERGE_FACTS, {"facts": facts})
        await result.consume()

    @staticmethod
    def _rows(facts: Sequence[Fact]) -> list[dict[str, Any]]:
        return [
            {
                "id": f.id,
                "subject": f.subject,
                "predicate": f.predicate,
                "object": f.object,
                "session_id": f.session_id,
                "turn": f.turn,
                "sources": sources_to_json(f.sources),
                "created_at": f.created_at,
                "collection": f.collection,
            }
            for f in facts
        ]

    async def _write_batch(self, facts: Sequence[Fact]) -> None:
        rows = self._rows(facts)
        async with self._driver.session(database=self.database) as session:
            await session.execute_write(self._write_tx, rows)

    async def write(self, facts: Sequence[Fact]) -> None:
        """MERGE facts by id, ``rows_per_tx`` per transaction.

        Raises:
            StoreUnavailable: The server cannot be reached or refused the write.
        """
        import neo4j.exceptions as nx

        if self._closed:
            raise StoreUnavailable(f"Neo4j sink for {self.uri} is closed")
        if not facts:
            return
        try:
            await self._ensure_schema()
            for i in range(0, len(facts), self._rows_per_tx):
                batch = facts[i : i + self._rows_per_tx]
                for attempt in range(_CONSTRAINT_RETRIES):
                    try:
                        await self._write_batch(batch)
                        break
                    except nx.ConstraintError:
                        # Another writer created the same new key concurrently (ArcadeDB
                        # reports it where Neo4j waits); the MERGE now finds it.
                        if attempt == _CONSTRAINT_RETRIES - 1:
                            raise
        except _store_errors() as exc:
            raise self._translate(exc) from exc

    async def _read(self, query: LiteralString, params: dict[str, Any]) -> list[Any]:
        if self._closed:
            raise StoreUnavailable(f"Neo4j sink for {self.uri} is closed")

        async def work(tx: AsyncManagedTransaction) -> list[Any]:
            result = await tx.run(query, params)
            return [rec async for rec in result]

        try:
            await self._ensure_schema()
            async with self._driver.session(database=self.database) as session:
                return await session.execute_read(work)
        except _store_errors() as exc:
            raise self._translate(exc) from exc

    async def _change(self, query: LiteralString, params: dict[str, Any]) -> int:
        """Run a deleting query, then drop orphaned entities of earlier releases."""
        if self._closed:
            raise StoreUnavailable(f"Neo4j sink for {self.uri} is closed")

        async def work(tx: AsyncManagedTransaction) -> int:
            result = await tx.run(query, params)
            rows = [rec async for rec in result]
            await (await tx.run(ORPHANS)).consume()
            return int(rows[0]["n"]) if rows else 0

        try:
            await self._ensure_schema()
            async with self._driver.session(database=self.database) as session:
                return await session.execute_write(work)
        except _store_errors() as exc:
            raise self._translate(exc) from exc

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

        Raises:
            StoreUnavailable: The server cannot be reached.
        """
        wanted = query_keys(keys, collection)
        if not wanted or limit < 1 or not collection:
            return []
        params = {
            "keys": wanted,
            "collection": collection,
            "predicate": ANSWERED_BY,
            "since": float(since),
            "exclude": session_key(exclude_session) if exclude_session is not None else "",
            "limit": int(limit),
        }
        return [
            Fact(
                id=f"{collection}:{rec['chunk']}",
                subject=str(rec["subject"]),
                predicate=ANSWERED_BY,
                object=str(rec["chunk"]),
                session_id="",
                turn=0,
                sources=sources_from_json(rec["sources"]),
                created_at=float(rec["latest"]),
                collection=collection,
                score=float(rec["score"]),
            )
            for rec in await self._read(RELATED, params)
        ]

    async def forget(self, session_id: str) -> int:
        """Delete every fact the session taught (and any an older release kept verbatim)."""
        return await self._change(FORGET, {"names": [session_key(session_id), session_id]})

    async def expire(self, before: float) -> int:
        """Delete facts learned before ``before`` (Unix time)."""
        return await self._change(EXPIRE, {"before": float(before)})

    async def get(self, ids: Sequence[str]) -> list[Fact]:
        """Fact records by id; a duplicated id would appear twice."""
        wanted = list(dict.fromkeys(ids))
        out: list[Fact] = []
        for i in range(0, len(wanted), self._rows_per_tx):
            records = await self._read(GET, {"ids": wanted[i : i + self._rows_per_tx]})
            out.extend(_record_to_fact(r) for r in records)
        return out

    async def count(self, *, session_prefix: str = "", collection: str | None = None) -> int:
        """Fact nodes whose stored session id starts with ``session_prefix`` (all by default)."""
        records = await self._read(COUNT, {"prefix": session_prefix, "collection": collection})
        return int(records[0]["n"])

    async def close(self) -> None:
        """Close the driver. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._driver.close()
