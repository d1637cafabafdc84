"""The knowledge graph on a Neo4j (or Bolt-compatible) server, through the official driver.

Graph model::

    (:Fact {id, subject, predicate, object, session_id, turn, sources, created_at})
        -[:MENTIONS]->(:Entity {key, name})

``Fact.id`` and ``Entity.key`` carry uniqueness constraints and every write ``MERGE`` s on
them, so replays are idempotent. Writes are ``UNWIND`` batches in managed transactions
(``execute_write``). User text reaches the server only as query parameters: every Cypher
string here is a constant.

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
from contextual_avatar.knowledge._extract import (
    DEFAULT_MAX_KEY_DF,
    DEFAULT_MAX_QUERY_KEYS,
    fact_entries,
    index_terms,
)
from contextual_avatar.knowledge._sink import sources_from_json, sources_to_json
from contextual_avatar.types import Fact

if TYPE_CHECKING:
    from neo4j import AsyncDriver, AsyncManagedTransaction

__all__ = ["Neo4jGraphSink"]

DEFAULT_ROWS_PER_TX = 1000
_CONSTRAINT_RETRIES = 5

SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT kg_fact_id IF NOT EXISTS FOR (f:Fact) REQUIRE f.id IS UNIQUE",
    "CREATE CONSTRAINT kg_entity_key IF NOT EXISTS FOR (e:Entity) REQUIRE e.key IS UNIQUE",
)

MERGE_ENTITIES: LiteralString = """
UNWIND $entities AS e
MERGE (n:Entity {key: e.key})
ON CREATE SET n.name = e.name
"""

MERGE_FACTS: LiteralString = """
UNWIND $facts AS r
MERGE (f:Fact {id: r.id})
ON CREATE SET f.subject = r.subject, f.predicate = r.predicate, f.object = r.object,
              f.session_id = r.session_id, f.turn = r.turn, f.sources = r.sources,
              f.created_at = r.created_at
"""

MERGE_MENTIONS: LiteralString = """
UNWIND $links AS l
MATCH (f:Fact {id: l.fact})
MATCH (e:Entity {key: l.key})
MERGE (f)-[:MENTIONS]->(e)
"""

_RETURN_FACT: LiteralString = """
RETURN f.id AS id, f.subject AS subject, f.predicate AS predicate, f.object AS object,
       f.session_id AS session_id, f.turn AS turn, f.sources AS sources,
       f.created_at AS created_at
"""

RELATED: LiteralString = (
    """
MATCH (e:Entity) WHERE e.key IN $keys
WITH e, COUNT { (e)<-[:MENTIONS]-() } AS df
WHERE df <= $max_df
WITH e ORDER BY df ASC, e.key ASC LIMIT $max_keys
MATCH (f:Fact)-[:MENTIONS]->(e)
WHERE $exclude IS NULL OR f.session_id <> $exclude
WITH f, count(DISTINCT e) AS score
"""
    + _RETURN_FACT
    + """, score,
       CASE f.predicate WHEN 'answered' THEN 0 WHEN 'related_to' THEN 1 WHEN 'mentions' THEN 2
                        WHEN 'asked' THEN 3 ELSE 4 END AS kind
ORDER BY score DESC, kind ASC, created_at DESC, id ASC
LIMIT $limit
"""
)

GET: LiteralString = "MATCH (f:Fact) WHERE f.id IN $ids" + _RETURN_FACT

COUNT: LiteralString = "MATCH (f:Fact) WHERE f.session_id STARTS WITH $prefix RETURN count(f) AS n"


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
        max_key_df: int = DEFAULT_MAX_KEY_DF,
        max_query_keys: int = DEFAULT_MAX_QUERY_KEYS,
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
            max_key_df: ``related()`` ignores entities mentioned by more facts than this.
            max_query_keys: ``related()`` uses at most this many of the question's keys,
                the rarest first.

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
        self._max_key_df = max_key_df
        self._max_query_keys = max_query_keys
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
    async def _write_tx(
        tx: AsyncManagedTransaction,
        entities: list[dict[str, str]],
        facts: list[dict[str, Any]],
        links: list[dict[str, str]],
    ) -> None:
        for query, params in (
            (MERGE_ENTITIES, {"entities": entities}),
            (MERGE_FACTS, {"facts": facts}),
            (MERGE_MENTIONS, {"links": links}),
        ):
            result = await tx.run(query, params)
            await result.consume()

    @staticmethod
    def _prepare(
        facts: Sequence[Fact],
    ) -> tuple[list[dict[str, str]], list[dict[str, Any]], list[dict[str, str]]]:
        entities: dict[str, str] = {}
        links: list[dict[str, str]] = []
        rows: list[dict[str, Any]] = []
        for f in facts:
            rows.append(
                {
                    "id": f.id,
                    "subject": f.subject,
                    "predicate": f.predicate,
                    "object": f.object,
                    "session_id": f.session_id,
                    "turn": f.turn,
                    "sources": sources_to_json(f.sources),
                    "created_at": f.created_at,
                }
            )
            for key, name in fact_entries(f).items():
                entities.setdefault(key, name)
                links.append({"fact": f.id, "key": key})
        return [{"key": k, "name": n} for k, n in entities.items()], rows, links

    async def _write_batch(self, facts: Sequence[Fact]) -> None:
        # Key extraction is ~20 us a fact of CPU: keep it off the event loop.
        ents, rows, links = await asyncio.to_thread(self._prepare, facts)
        async with self._driver.session(database=self.database) as session:
            await session.execute_write(self._write_tx, ents, rows, links)

    async def write(self, facts: Sequence[Fact]) -> None:
        """MERGE facts, their entities and ``MENTIONS`` links, ``rows_per_tx`` per transaction.

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
        except (nx.Neo4jError, nx.DriverError, OSError) as exc:
            raise self._translate(exc) from exc

    async def _read(self, query: LiteralString, params: dict[str, Any]) -> list[Any]:
        import neo4j.exceptions as nx

        if self._closed:
            raise StoreUnavailable(f"Neo4j sink for {self.uri} is closed")

        async def work(tx: AsyncManagedTransaction) -> list[Any]:
            result = await tx.run(query, params)
            return [rec async for rec in result]

        try:
            await self._ensure_schema()
            async with self._driver.session(database=self.database) as session:
                return await session.execute_read(work)
        except (nx.Neo4jError, nx.DriverError, OSError) as exc:
            raise self._translate(exc) from exc

    async def related(
        self, text: str, limit: int = 10, *, exclude_session: str | None = None
    ) -> list[Fact]:
        """Facts sharing the most entity keys with ``text``, newest first among equals.

        Args:
            text: Usually the question being answered.
            limit: At most this many facts.
            exclude_session: Leave out facts learned in this session.

        Returns:
            Facts, best first; empty when nothing shares a key.

        Raises:
            StoreUnavailable: The server cannot be reached.
        """
        keys = index_terms([text])
        if not keys or limit < 1:
            return []
        params = {
            "keys": keys,
            "exclude": exclude_session,
            "limit": int(limit),
            "max_df": self._max_key_df,
            "max_keys": self._max_query_keys,
        }
        records = await self._read(RELATED, params)
        return [_record_to_fact(r) for r in records]

    async def get(self, ids: Sequence[str]) -> list[Fact]:
        """Fact records by id; a duplicated id would appear twice."""
        wanted = list(dict.fromkeys(ids))
        out: list[Fact] = []
        for i in range(0, len(wanted), self._rows_per_tx):
            records = await self._read(GET, {"ids": wanted[i : i + self._rows_per_tx]})
            out.extend(_record_to_fact(r) for r in records)
        return out

    async def count(self, *, session_prefix: str = "") -> int:
        """Fact nodes whose session id starts with ``session_prefix`` (all by default)."""
        records = await self._read(COUNT, {"prefix": session_prefix})
        return int(records[0]["n"])

    async def close(self) -> None:
        """Close the driver. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._driver.close()
