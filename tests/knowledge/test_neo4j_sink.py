from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import Neo4jGraphSink
from contextual_avatar.testing import BoltServer, KnowledgeGraphSinkContract

from .conftest import BoltTarget, delete_sessions
from .helpers import turn_facts
from .sink_extras import SinkExtras


class TestNeo4jGraphSink(KnowledgeGraphSinkContract, SinkExtras):
    @pytest.fixture
    async def sink(
        self, neo4j_sink: Neo4jGraphSink, bolt_target: BoltTarget
    ) -> AsyncIterator[Neo4jGraphSink]:
        yield neo4j_sink
        # The server is shared by the session (or is a real database): leave it as found.
        await delete_sessions(bolt_target, self.session_prefix)


async def test_down_server_raises_store_unavailable_and_data_survives_a_kill(
    own_bolt: BoltServer,
) -> None:
    sink = Neo4jGraphSink(own_bolt.uri, own_bolt.user, own_bolt.password, connect_timeout_s=1.0)
    try:
        facts = turn_facts("k", 1)
        await sink.write(facts)
        own_bolt.kill()
        with pytest.raises(StoreUnavailable):
            await sink.write(turn_facts("k", 2))
        with pytest.raises(StoreUnavailable):
            await sink.related("Depot 1", collection="default")
        own_bolt.start()
        assert len(await sink.get([f.id for f in facts])) == len(facts)
        await sink.write(turn_facts("k", 2))
        assert await sink.count(session_prefix="k") == len(facts) + len(turn_facts("k", 2))
    finally:
        await sink.close()


async def test_wrong_password_raises_store_unavailable(own_bolt: BoltServer) -> None:
    sink = Neo4jGraphSink(own_bolt.uri, own_bolt.user, "wrong-password", connect_timeout_s=1.0)
    try:
        with pytest.raises(StoreUnavailable):
            await sink.write(turn_facts("p", 1))
    finally:
        await sink.close()
