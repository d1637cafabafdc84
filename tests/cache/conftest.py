"""A real redis-server for the cache tests, on a free loopback port (or ``REDIS_URL``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from contextual_avatar.testing import RedisServer


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``REDIS_URL`` if set, else a throwaway ``redis-server`` (no persistence)."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def key_prefix() -> str:
    """A fresh namespace per test, so tests never see each other's keys."""
    return f"test:{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[object]:
    """An asyncio client (bytes responses) closed after the test."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, decode_responses=False)
    yield client
    await client.aclose()
