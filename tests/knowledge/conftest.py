"""Fixtures for the knowledge tests: a real Bolt server, real SQLite files, sample turns.

The Neo4j sink runs against ArcadeDB's Bolt server, started once per test session from the
``arcadedb-embedded`` wheel on free loopback ports, or against the server that
``NEO4J_URI`` / ``NEO4J_USER`` / ``NEO4J_PASSWORD`` (and optionally ``NEO4J_DATABASE``) name.
Each test writes under its own session-id prefix and removes its facts afterwards, so a real
database is left as it was found. Fault tests that kill the server always start their own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contextual_avatar.knowledge import Neo4jGraphSink, SQLiteGraphSink
from contextual_avatar.testing import BoltServer


@dataclass(frozen=True)
class BoltTarget:
    uri: str
    user: str
    password: str
    database: str | None


@pytest.fixture(scope="session")
def bolt_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoltTarget]:
    uri = os.environ.get("NEO4J_URI")
    if uri:
        yield BoltTarget(
            uri=uri,
            user=os.environ.get("NEO4J_USER", "neo4j"),
            password=os.environ.get("NEO4J_PASSWORD", ""),
            database=os.environ.get("NEO4J_DATABASE") or None,
        )
        return
    with BoltServer(tmp_path_factory.mktemp("bolt")) as server:
        yield BoltTarget(server.uri, server.user, server.password, None)


@pytest.fixture
def own_bolt(tmp_path: Path) -> Iterator[BoltServer]:
    """A Bolt server this test may kill and restart."""
    server = BoltServer(tmp_path / "bolt")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def prefix() -> str:
    """A session-id prefix unique to the test, so tests sharing a graph do not meet."""
    return f"t{uuid.uuid4().hex[:12]}-"


_CLEANUP = "MATCH (f:Fact) WHERE f.session_id STARTS WITH $prefix DETACH DELETE f"


async def delete_sessions(target: BoltTarget, prefix: str) -> None:
    """Remove the facts of every session whose id starts with ``prefix``."""
    import neo4j

    async with (
        neo4j.AsyncGraphDatabase.driver(target.uri, auth=(target.user, target.password)) as driver,
        driver.session(database=target.database) as session,
    ):
        await (await session.run(_CLEANUP, prefix=prefix)).consume()


@pytest.fixture
async def neo4j_sink(bolt_target: BoltTarget, prefix: str) -> AsyncIterator[Neo4jGraphSink]:
    sink = Neo4jGraphSink(
        bolt_target.uri,
        bolt_target.user,
        bolt_target.password,
        bolt_target.database,
        connect_timeout_s=5.0,
    )
    yield sink
    await delete_sessions(bolt_target, prefix)
    await sink.close()


@pytest.fixture
async def sqlite_sink(tmp_path: Path) -> AsyncIterator[SQLiteGraphSink]:
    sink = SQLiteGraphSink(tmp_path / "kg.sqlite3")
    yield sink
    await sink.close()
