"""RedisHistory behaves like MemoryHistory (same methods, same results)."""

from __future__ import annotations

import pytest

from contextual_avatar.cache import MemoryHistory, RedisHistory
from contextual_avatar.types import Turn


@pytest.fixture(params=["memory", "redis"])
async def history(request, redis_url, key_prefix):
    if request.param == "memory":
        h = MemoryHistory(max_turns=3)
    else:
        h = RedisHistory(url=redis_url, prefix=key_prefix, max_turns=3)
    yield h
    await h.aclose()


async def test_keeps_the_last_turns_and_counts_all(history):
    numbers = [await history.append("s", Turn(f"q{i}", f"a{i}", (f"d:{i}",))) for i in range(5)]
    assert numbers == [1, 2, 3, 4, 5]
    recent = await history.recent("s")
    assert [t.question for t in recent] == ["q2", "q3", "q4"]
    assert recent[-1] == Turn("q4", "a4", ("d:4",))


async def test_sessions_are_separate_and_clear(history):
    await history.append("a:b", Turn("x", "y"))
    await history.append("*", Turn("z", "w"))
    assert [t.question for t in await history.recent("a:b")] == ["x"]
    await history.clear("*")
    assert await history.recent("*") == []
    assert await history.recent("a:b") != []
