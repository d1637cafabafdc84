"""The graph server killed mid-run of 1,000 turns: 0 facts lost, 0 duplicated.

A real Bolt server (ArcadeDB from the ``arcadedb-embedded`` wheel, or ``NEO4J_URI``'s
when the knowledge tests are aimed elsewhere) takes the facts of 1,000 turns from the
:class:`BackgroundWriter` as the engine would submit them. The server is SIGKILLed at
turn 300 and restarted at turn 650; writes in between go to the durable outbox. Turns come
from sessions with hostile ids and entity names (quotes, Cypher fragments, newlines), so
the run also shows that user text reaches Cypher only as parameters. The builders are the
knowledge tests' own (``tests/knowledge/helpers.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from contextual_avatar.knowledge import BackgroundWriter, Neo4jGraphSink
from contextual_avatar.testing import BoltServer
from contextual_avatar.types import Fact

from ..knowledge.helpers import HOSTILE, hostile_facts, turn_facts

pytestmark = pytest.mark.slow

TURNS = 1_000
KILL_AT, RESTART_AT = 300, 650


@pytest.fixture
def bolt(tmp_path: Path) -> Iterator[BoltServer]:
    server = BoltServer(tmp_path / "bolt")
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _hostile_turn(session: str, turn: int) -> list[Fact]:
    """A turn whose question and answer name hostile entities."""
    return hostile_facts(session, turn, HOSTILE[turn % len(HOSTILE)])


async def test_graph_server_killed_mid_run_loses_and_duplicates_nothing(
    bolt: BoltServer, tmp_path: Path
) -> None:
    prefix = f"g{uuid.uuid4().hex[:8]}"
    sessions = [f"{prefix}:{h}" for h in HOSTILE[:5]] + [f"{prefix}*", f"{prefix}\n)"]
    sink = Neo4jGraphSink(bolt.uri, bolt.user, bolt.password, connect_timeout_s=0.5)
    writer = BackgroundWriter(
        sink, outbox_dir=tmp_path / "outbox", batch_size=100, retry_initial_s=0.01, retry_max_s=0.1
    ).start()
    submitted: list[str] = []
    try:
        for turn in range(TURNS):
            if turn == KILL_AT:
                bolt.kill()
            if turn == RESTART_AT:
                await writer.checkpoint()  # everything so far is on disk or in the graph
                bolt.start()
            session = sessions[turn % len(sessions)]
            make = _hostile_turn if turn % 2 else turn_facts
            facts = make(session, turn)
            submitted += [f.id for f in facts]
            writer.submit(facts)
            await asyncio.sleep(0)  # the ask path yields like this between turns
        await writer.flush()
        unique = set(submitted)
        assert len(unique) >= TURNS  # every turn contributed facts
        assert await sink.count(session_prefix=prefix) == len(unique)  # 0 duplicated
        stored = await sink.get(sorted(unique))
        assert len(stored) == len(unique)  # get() would list a duplicated id twice
        assert {f.id for f in stored} == unique  # 0 lost
        stats = writer.stats
        assert stats.failures > 0  # the outage was real: writes failed and were retried
        assert stats.rejected == 0 and stats.queued == 0
        assert stats.submitted == len(submitted)
        # Hostile text stored verbatim, as data.
        for fact in stored:
            if fact.session_id.endswith("\n)"):
                assert fact.session_id == f"{prefix}\n)"
        names = {f.subject for f in stored} | {f.object for f in stored}
        assert any("DETACH DELETE" in n for n in names)
    finally:
        await writer.aclose()
        await sink.close()
