"""Redis killed or stalled mid-conversation: answers continue, and Redis takes over again.

The engine uses ``cache.store="redis"``; by default the store and the history degrade to
process memory while Redis is unreachable (``cache/_fallback.py``). These tests kill the
real redis-server with SIGKILL (it loses everything, no persistence) or stop it with
SIGSTOP (a stall: the port is open, nothing answers), and restart or resume it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts
from contextual_avatar.cache import (
    FallbackChunkStore,
    FallbackHistory,
    LRUPolicy,
    MemoryChunkStore,
    MemoryHistory,
    RedisChunkStore,
    RedisHistory,
    session_key,
)
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.testing import RedisServer
from contextual_avatar.types import Turn

GUIDE = Path(__file__).resolve().parents[2] / "examples" / "data" / "guide.pdf"
QUESTIONS = [
    "When is the museum open?",
    "How much is an adult ticket?",
    "And for children?",
    "When do guided tours start?",
    "How do I get to the museum?",
    "Is there a car park?",
    "Is entry ever free?",
    "Can groups book a tour?",
]


async def _history_questions(url: str, prefix: str, session: str) -> list[str]:
    import json

    from redis.asyncio import Redis

    client = Redis.from_url(url, decode_responses=False)
    try:
        raw = await client.lrange(session_key(prefix, session, "history"), 0, -1)
    finally:
        await client.aclose()
    return [json.loads(item)["q"] for item in raw]


async def test_redis_killed_mid_conversation_answers_continue_and_recover(
    own_redis: RedisServer, key_prefix: str, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    config = EngineConfig(
        data_dir=tmp_path / "data",
        cache={
            "store": "redis",
            "redis_url": own_redis.url,
            "key_prefix": key_prefix,
            "fallback_retry_s": 0,  # probe Redis on every call: recovery without waiting
        },
    )
    session = "caller:{1}*"
    async with AsyncContextEngine(config, parts=Parts(embedder=embedder)) as engine:
        await engine.ingest(GUIDE)
        healthy = [await engine.ask(session, q) for q in QUESTIONS[:3]]
        assert await _history_questions(own_redis.url, key_prefix, session) == [
            q for q in QUESTIONS[:3]
        ]

        own_redis.kill()
        down = [await engine.ask(session, q) for q in QUESTIONS[3:6]]
        for answer in healthy + down:
            assert answer.text and answer.citations  # every turn answered, with a source
            assert all(c.source == "guide.pdf" for c in answer.citations)
        # Within the outage the in-process cache keeps working: the session's cache holds
        # what the outage turns admitted and is scored (it is not the empty cold cache).
        again = await engine.ask(session, QUESTIONS[5])
        assert again.cache.score > 0.3, again.cache.reason

        own_redis.start()  # same port, empty (no persistence)
        back = await engine.ask(session, QUESTIONS[6])
        assert back.text
        # Redis holds the conversation again: the turns of the outage were written back
        # (in order) before the new one; the turns lost with the old server are gone.
        assert await _history_questions(own_redis.url, key_prefix, session) == [
            *QUESTIONS[3:6],
            QUESTIONS[5],
            QUESTIONS[6],
        ]
        # And the chunk cache is back in Redis too.
        from redis.asyncio import Redis

        client = Redis.from_url(own_redis.url)
        try:
            assert await client.exists(session_key(key_prefix, session, "entries")) == 1
        finally:
            await client.aclose()


async def test_without_fallback_an_outage_is_a_clear_store_error(
    own_redis: RedisServer, key_prefix: str, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    config = EngineConfig(
        data_dir=tmp_path / "data",
        cache={
            "store": "redis",
            "redis_url": own_redis.url,
            "key_prefix": key_prefix,
            "fallback": False,
        },
    )
    async with AsyncContextEngine(config, parts=Parts(embedder=embedder)) as engine:
        await engine.ingest(GUIDE)
        await engine.ask("s", QUESTIONS[0])
        own_redis.kill()
        with pytest.raises(StoreUnavailable, match="Redis"):
            await engine.ask("s", QUESTIONS[1])


async def test_stalled_redis_fails_over_within_the_socket_timeout(
    own_redis: RedisServer, key_prefix: str
) -> None:
    """SIGSTOP: the connection stays open and silent. The call must not hang the turn."""
    store = FallbackChunkStore(
        RedisChunkStore(capacity=5, policy_factory=LRUPolicy, url=own_redis.url, prefix=key_prefix),
        MemoryChunkStore(capacity=5, policy_factory=LRUPolicy),
        retry_after_s=3600,
    )
    history = FallbackHistory(
        RedisHistory(url=own_redis.url, prefix=key_prefix),
        MemoryHistory(),
        retry_after_s=3600,
    )
    await history.append("s", Turn("before", "a", ()))
    own_redis.pause()
    try:
        # The 2 s socket timeout ends the call; an outer bound proves it did not hang.
        async with asyncio.timeout(30):
            await history.append("s", Turn("during", "a", ()))
            assert [t.question for t in await history.recent("s")] == ["during"]
            assert await store.entries("s") == []
        assert history.breaker.degraded and store.breaker.degraded
        assert history.breaker.failures == 1  # later calls skipped Redis entirely
    finally:
        own_redis.resume()
        await store.aclose()
        await history.aclose()


async def test_breaker_probes_again_only_after_the_retry_interval(
    own_redis: RedisServer, key_prefix: str
) -> None:
    now = [0.0]
    history = FallbackHistory(
        RedisHistory(url=own_redis.url, prefix=key_prefix),
        MemoryHistory(),
        retry_after_s=5.0,
        timer=lambda: now[0],
    )
    own_redis.kill()
    for i in range(10):
        await history.append("s", Turn(f"q{i}", "a", ()))
    assert history.breaker.failures == 1 and history.breaker.fallback_calls == 10
    own_redis.start()
    kept = [f"q{i}" for i in range(2, 10)]  # the last 8
    now[0] = 4.9
    assert [t.question for t in await history.recent("s")] == kept
    assert history.breaker.degraded  # still inside the interval: Redis not asked
    assert await _history_questions(own_redis.url, key_prefix, "s") == []
    now[0] = 5.0
    assert [t.question for t in await history.recent("s")] == kept
    assert not history.breaker.degraded and history.breaker.recoveries == 1
    assert await _history_questions(own_redis.url, key_prefix, "s") == kept  # written back
    assert await history.fallback.recent("s") == []  # and only once
    await history.aclose()


async def test_turn_numbers_go_on_through_an_outage(
    own_redis: RedisServer, key_prefix: str
) -> None:
    # Facts are named by (session, turn number, time): numbers that restarted at 1 in
    # the middle of a conversation would misdate its turns in the graph.
    history = FallbackHistory(
        RedisHistory(url=own_redis.url, prefix=key_prefix), MemoryHistory(), retry_after_s=0
    )
    numbers = [await history.append("s", Turn(f"q{i}", "a", ())) for i in range(3)]
    own_redis.kill()
    numbers += [await history.append("s", Turn(f"q{i}", "a", ())) for i in range(3, 5)]
    assert numbers == [1, 2, 3, 4, 5]
    assert [t.question for t in await history.recent("s")] == ["q3", "q4"]  # from memory
    own_redis.start()  # empty: the server lost the session, numbering starts again
    assert [t.question for t in await history.recent("s")] == ["q3", "q4"]  # written back
    assert await history.append("s", Turn("q5", "a", ())) == 3
    await history.clear("s")
    assert await history.append("s", Turn("q6", "a", ())) == 1
    await history.aclose()
