"""Session bindings: a session keeps the collection of its first turn, memory and Redis."""

from __future__ import annotations

import pytest

from contextual_avatar.cache import MemoryBindings, RedisBindings


@pytest.fixture(params=["memory", "redis"])
async def bindings(request, redis_url, key_prefix):
    made = (
        MemoryBindings()
        if request.param == "memory"
        else RedisBindings(url=redis_url, prefix=key_prefix)
    )
    yield made
    await made.aclose()


async def test_the_first_collection_sticks(bindings) -> None:
    assert await bindings.bound("s") is None
    assert await bindings.bind("s", "museum") == "museum"
    assert await bindings.bind("s", "hr") == "museum"
    assert await bindings.bound("s") == "museum"


async def test_sessions_are_bound_separately_and_forgotten(bindings) -> None:
    await bindings.bind("a:b", "museum")
    assert await bindings.bind("a", "hr") == "hr"
    assert await bindings.bind("b", "sales") == "sales"
    await bindings.clear("a:b")
    assert await bindings.bound("a:b") is None
    assert await bindings.bind("a:b", "hr") == "hr"
    assert await bindings.bound("a") == "hr"


async def test_memory_bindings_expire_when_idle() -> None:
    now = [0.0]
    bindings = MemoryBindings(ttl_s=10, timer=lambda: now[0])
    await bindings.bind("s", "museum")
    now[0] = 9
    assert await bindings.bind("s", "hr") == "museum"  # refreshed
    now[0] = 18
    assert await bindings.bound("s") == "museum"
    now[0] = 30
    assert await bindings.bind("s", "hr") == "hr"


async def test_redis_keys_hold_no_user_text(redis_url, key_prefix, redis_client) -> None:
    bindings = RedisBindings(url=redis_url, prefix=key_prefix, ttl_s=60)
    await bindings.bind("alice's *secret* session", "museum")
    keys = [k.decode() for k in await redis_client.keys(f"{key_prefix}:*")]
    assert len(keys) == 1 and "alice" not in keys[0] and keys[0].endswith(":collection")
    assert 0 < await redis_client.pttl(keys[0]) <= 60_000
    await bindings.aclose()
