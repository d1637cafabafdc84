"""Sessions and histories on a real Redis Cluster (3 primaries + 3 replicas on loopback).

The store and the history pass the same contract as on one server through redis-py's
cluster client; every script's keys share a slot; sessions spread over the primaries;
and a primary killed mid-conversation is replaced by its replica while the conversation
goes on, with no committed turn lost.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar import ContextEngine
from contextual_avatar.cache import CacheConfig, RedisChunkStore, RedisHistory, session_key
from contextual_avatar.cache._keys import KeyKind
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.testing import ChunkStoreContract
from contextual_avatar.testing._redis_cluster import RedisClusterServer
from contextual_avatar.types import Turn

redis = pytest.importorskip("redis")
from redis.crc import key_slot  # noqa: E402

KINDS: tuple[KeyKind, ...] = ("entries", "meta", "history", "turns")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServer]:
    """A fresh six-node cluster per module (a failover test changes who is primary)."""
    with RedisClusterServer(tmp_path_factory.mktemp("cluster")) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    return f"t:{uuid.uuid4().hex[:10]}"


class TestRedisChunkStoreOnCluster(ChunkStoreContract):
    @pytest.fixture
    def make_store(self, cluster: RedisClusterServer, prefix: str) -> Callable[..., object]:
        def make(capacity: int, policy: Callable[[], object]) -> RedisChunkStore:
            return RedisChunkStore(
                capacity=capacity,
                policy_factory=policy,  # type: ignore[arg-type]
                url=cluster.url,
                prefix=prefix,
                cluster=True,
            )

        return make


@settings(max_examples=200, deadline=None)
@given(session=st.text(max_size=60), prefix=st.from_regex(r"[a-z:]{1,12}", fullmatch=True))
def test_a_sessions_keys_share_one_slot(session: str, prefix: str) -> None:
    slots = {key_slot(session_key(prefix, session, kind).encode()) for kind in KINDS}
    assert len(slots) == 1


async def test_history_on_the_cluster_is_per_session(
    cluster: RedisClusterServer, prefix: str
) -> None:
    history = RedisHistory(url=cluster.url, prefix=prefix, max_turns=3, cluster=True)
    try:
        for i in range(5):
            assert await history.append("alice", Turn(f"q{i}", f"a{i}", (f"c{i}",))) == i + 1
        await history.append("bob", Turn("secret?", "yes", ()))
        assert [t.question for t in await history.recent("alice")] == ["q2", "q3", "q4"]
        assert [t.question for t in await history.recent("bob")] == ["secret?"]
        assert await history.recent("carol") == []
        await history.clear("alice")
        assert await history.recent("alice") == []
        assert [t.question for t in await history.recent("bob")] == ["secret?"]
    finally:
        await history.aclose()


def test_sessions_spread_over_the_primaries(cluster: RedisClusterServer) -> None:
    owners = {
        cluster.node_for_key(session_key("p", f"session-{i}", "history")).port for i in range(24)
    }
    assert len(owners) == 3


async def test_an_unreachable_cluster_is_store_unavailable(tmp_path: Path) -> None:
    from contextual_avatar.testing._redis_cluster import cluster_port

    port = cluster_port(set())
    history = RedisHistory(url=f"redis://127.0.0.1:{port}/0", cluster=True)
    with pytest.raises(StoreUnavailable, match="Redis"):
        await history.recent("s")
    await history.aclose()


def test_config_chooses_the_cluster_client() -> None:
    from redis.asyncio.cluster import RedisCluster

    from contextual_avatar.cache import build_history

    history = build_history(
        CacheConfig(store="redis", redis_cluster=True, fallback=False, redis_url="redis://h:1/0")
    )
    assert isinstance(history, RedisHistory)
    assert isinstance(history._client, RedisCluster)
    asyncio.run(history.aclose())


@pytest.mark.timeout(180)
def test_a_primary_dies_mid_conversation(
    cluster: RedisClusterServer,
    make_engine: Callable[..., ContextEngine],
    guide_pdf: Path,
    prefix: str,
) -> None:
    """Kill the primary that holds the session; the replica takes over, asks go on."""
    engine = make_engine(
        cache={
            "store": "redis",
            "redis_url": cluster.url,
            "redis_cluster": True,
            "key_prefix": prefix,
            "fallback": False,  # no memory to hide behind: the cluster must serve
        }
    )
    engine.ingest(guide_pdf)
    session = "visitor-1"
    questions = [
        "How much is a ticket?",
        "Are there discounts for children?",
        "When does the museum open?",
        "Is there a cafe?",
        "Can I bring a dog?",
        "How much is a ticket for a student?",
    ]
    for question in questions[:3]:
        assert engine.ask(session, question).text
    victim = cluster.kill_primary_of(session_key(prefix, session, "history"))
    started = time.monotonic()
    answers = [engine.ask(session, question) for question in questions[3:]]
    first_after_kill_s = time.monotonic() - started
    assert all(a.text for a in answers)
    promoted = cluster.wait_failover(session_key(prefix, session, "history"))
    assert promoted.port != victim.port

    async def turns() -> list[Turn]:
        history = RedisHistory(url=cluster.live_url, prefix=prefix, cluster=True)
        try:
            return await history.recent(session)
        finally:
            await history.aclose()

    kept = asyncio.run(turns())
    # Every committed turn, before and after the failover, in order.
    assert [t.question for t in kept] == questions
    assert first_after_kill_s < 15
    print(f"failover: 3 asks after the kill took {first_after_kill_s:.1f} s, 0 failed")
