"""Isolation: no session can read another's cached chunks or history, in either store.

Session ids are drawn at random, mixed with hostile ones (Redis glob characters, ``:``,
braces that look like hash tags, newlines, Cypher and SQL fragments, lone surrogates).
Each session writes chunks and turns that only it owns; every session must then read
exactly its own, and clearing one session must leave the others untouched. In Redis no
user text may reach a key: every key is ``prefix:{<32 hex>}:<kind>``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar.cache import (
    CacheEntry,
    ChunkStore,
    History,
    LRUPolicy,
    MemoryChunkStore,
    MemoryHistory,
    RedisChunkStore,
    RedisHistory,
)
from contextual_avatar.testing import RedisServer
from contextual_avatar.types import Chunk, SourceRef, Span, Turn

HOSTILE_IDS = [
    "*",
    "?",
    "[a-z]",
    "a:b",
    "a:b:*",
    "{tag}",
    "}{",
    "ca:cache:{*}:entries",
    "line\nbreak",
    "\r\n",
    "' OR '1'='1",
    '"}) MATCH (n) DETACH DELETE n //',
    "KEYS *",
    "\x00nul",
    "lone \ud800 surrogate",
    "é",
    "e\u0301",  # the same letter decomposed: a different id
    " ",
]

session_ids = st.lists(
    st.sampled_from(HOSTILE_IDS) | st.text(min_size=1, max_size=40),
    min_size=2,
    max_size=6,
    unique=True,
)

_KEY = re.compile(r"^rel:[0-9a-f]{12}:\{[0-9a-f]{32}\}:(entries|meta|history|turns)$")


def _entry(owner: int, i: int) -> CacheEntry:
    text = f"chunk {i} owned by session number {owner}"
    chunk = Chunk(
        id=f"doc{owner}:{i}",
        doc_id=f"doc{owner}",
        ordinal=i,
        text=text,
        spans=(Span(0, len(text), SourceRef(f"doc{owner}.pdf", page=i + 1)),),
    )
    vector = np.zeros(8, dtype=np.float32)
    vector[(owner + i) % 8] = 1.0
    return CacheEntry(chunk, vector)


async def _check_isolated(
    sessions: list[str], store: ChunkStore, history: History, turns: int
) -> None:
    for owner, sid in enumerate(sessions):
        await store.admit(sid, [_entry(owner, i) for i in range(3)])
        for t in range(turns):
            await history.append(sid, Turn(f"q{t} from {owner}", f"a{t} to {owner}", ()))
    for owner, sid in enumerate(sessions):
        got = {e.chunk.id for e in await store.entries(sid)}
        assert got == {f"doc{owner}:{i}" for i in range(3)}, (sid, got)
        questions = [t.question for t in await history.recent(sid)]
        assert questions == [f"q{t} from {owner}" for t in range(turns)], (sid, questions)
    # Forgetting one session leaves every other as it was.
    gone = sessions[0]
    await store.clear(gone)
    await history.clear(gone)
    assert await store.entries(gone) == []
    assert await history.recent(gone) == []
    for owner, sid in enumerate(sessions[1:], start=1):
        assert {e.chunk.id for e in await store.entries(sid)} == {
            f"doc{owner}:{i}" for i in range(3)
        }
        assert len(await history.recent(sid)) == turns


@settings(max_examples=60, deadline=None)
@given(sessions=session_ids, turns=st.integers(min_value=1, max_value=4))
def test_memory_store_isolates_sessions(sessions: list[str], turns: int) -> None:
    store = MemoryChunkStore(capacity=5, policy_factory=LRUPolicy)
    history = MemoryHistory(max_turns=8)
    asyncio.run(_check_isolated(sessions, store, history, turns))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sessions=session_ids, turns=st.integers(min_value=1, max_value=4))
def test_redis_store_isolates_sessions_and_keeps_user_text_out_of_keys(
    sessions: list[str], turns: int, shared_redis: RedisServer, key_prefix: str
) -> None:
    async def run() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(shared_redis.url, decode_responses=False)
        # A fresh namespace per example: examples must not see each other either.
        prefix = f"{key_prefix[:16]}"
        await client.delete(*[k async for k in client.scan_iter(match=f"{prefix}:*")] or ["-"])
        store = RedisChunkStore(capacity=5, policy_factory=LRUPolicy, client=client, prefix=prefix)
        history = RedisHistory(client=client, prefix=prefix, max_turns=8)
        try:
            await _check_isolated(sessions, store, history, turns)
            keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}:*")]
            assert keys and all(_KEY.match(k) for k in keys), keys
        finally:
            await client.aclose()

    asyncio.run(run())


def _two_engines_share_nothing(make: Callable[[], tuple[ChunkStore, History]]) -> None:
    """Two avatars (two store objects) on the same backend see only their own sessions."""

    async def run() -> None:
        a_store, a_hist = make()
        b_store, b_hist = make()
        await a_store.admit("alice", [_entry(0, 0)])
        await a_hist.append("alice", Turn("secret question", "secret answer", ()))
        for store, hist in ((a_store, a_hist), (b_store, b_hist)):
            assert await store.entries("bob") == []
            assert await hist.recent("bob") == []
            assert await store.entries("alice*") == []
            assert await hist.recent("ALICE") == []
        for closable in (a_store, a_hist, b_store, b_hist):
            await closable.aclose()

    asyncio.run(run())


def test_redis_backed_avatars_share_sessions_not_across_them(
    shared_redis: RedisServer, key_prefix: str
) -> None:
    _two_engines_share_nothing(
        lambda: (
            RedisChunkStore(
                capacity=5, policy_factory=LRUPolicy, url=shared_redis.url, prefix=key_prefix
            ),
            RedisHistory(url=shared_redis.url, prefix=key_prefix),
        )
    )
