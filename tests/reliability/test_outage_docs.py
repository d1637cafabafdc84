"""The Redis-outage pages say what the engine does, checked against a real redis-server.

``docs/deployment.md`` ("When Redis goes down") and ``docs/troubleshooting.md`` ("Redis
went down") quote the fallback's log lines, its retry interval and the exception of
``cache.fallback = false``. Each test runs the engine through an outage (the server is
stopped mid-conversation, then started again, empty) and compares what it logged and
raised with what the pages quote, so a change to either side fails here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import pytest

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts
from contextual_avatar.cache import FallbackChunkStore, FallbackHistory, session_key
from contextual_avatar.cache._redis import SOCKET_TIMEOUT_S
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.testing import RedisServer

DOCS = Path(__file__).resolve().parents[2] / "docs"
LOGGER = "contextual_avatar.cache._fallback"
# How the command line prints a log record (cli.py), which is how the pages quote them.
CLI_FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")
HEALTHY = ["When is the museum open?", "When do guided tours start?"]
OUTAGE = ["How much is an adult ticket?", "And for children?", "Is entry ever free?"]
AFTER = "How do I get to the museum?"


def section(page: str, heading: str) -> str:
    """The text under ``heading`` (``## ...`` or ``### ...``) up to the next heading as high."""
    text = (DOCS / page).read_text()
    marker = f"\n{heading}\n"
    assert marker in text, f"{page} has no heading {heading!r}"
    body = text.split(marker, 1)[1]
    level = len(heading.split(" ", 1)[0])
    end = re.search(rf"^#{{1,{level}}} ", body, flags=re.MULTILINE)
    return body if end is None else body[: end.start()]


def prose(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as single spaces."""
    return " ".join(text.split())


def fixed_part(line: str) -> str:
    """A quoted line up to Redis's own error text (which names the host and port)."""
    head, sep, _ = line.partition(" failed: ")
    return head + sep


def quoted_log_lines() -> list[str]:
    """The log lines in the ``text`` block of Troubleshooting's "Redis went down"."""
    body = section("troubleshooting.md", "## Redis went down")
    block = body.split("```text\n", 1)[1].split("```", 1)[0]
    return block.strip().splitlines()


def fallback_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The fallback's log records so far, as the command line prints them."""
    return [CLI_FORMAT.format(r) for r in caplog.records if r.name == LOGGER]


async def redis_questions(url: str, prefix: str, session: str) -> list[str]:
    """The questions of the session's history as Redis holds it."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        raw = await client.lrange(session_key(prefix, session, "history"), 0, -1)
    finally:
        await client.aclose()
    return [json.loads(item)["q"] for item in raw]


def test_the_pages_quote_the_defaults_and_point_at_each_other() -> None:
    deployment = prose(section("deployment.md", "### When Redis goes down"))
    trouble = prose(section("troubleshooting.md", "## Redis went down"))
    retry = f"`cache.fallback_retry_s` (default {EngineConfig().cache.fallback_retry_s:g} s)"
    timeout = f"{SOCKET_TIMEOUT_S:g} s socket timeout"
    for text in (deployment, trouble):
        assert retry in text and timeout in text
        assert "reliability.md#redis-outages" in text
    assert EngineConfig().cache.fallback is True
    assert "`cache.fallback = true`, the default" in deployment
    assert "troubleshooting.md#redis-went-down" in deployment
    assert "deployment.md#when-redis-goes-down" in trouble
    # The old, wrong sentence ("If Redis is down, calls raise StoreUnavailable") is gone.
    assert "calls raise `StoreUnavailable`" not in prose((DOCS / "deployment.md").read_text())
    # The exception section sends Redis readers to the fallback entry.
    assert "[Redis went down](#redis-went-down)" in section(
        "troubleshooting.md", "### `StoreUnavailable`"
    )
    # Deployment quotes the same messages as Troubleshooting's block.
    for line in quoted_log_lines():
        message = line.split(f"{LOGGER}: ", 1)[1]
        assert fixed_part(message) in deployment, message


async def test_redis_stopped_mid_conversation_matches_the_pages(
    own_redis: RedisServer,
    key_prefix: str,
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    guide_pdf: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    # The defaults the pages describe: fallback on, Redis retried 1 s after a failure.
    config = EngineConfig(
        data_dir=tmp_path / "data",
        cache={"store": "redis", "redis_url": own_redis.url, "key_prefix": key_prefix},
    )
    session = "caller-1"
    async with AsyncContextEngine(config, parts=Parts(embedder=embedder)) as engine:
        store, history = engine.parts.store, engine.parts.history
        assert isinstance(store, FallbackChunkStore) and isinstance(history, FallbackHistory)
        await engine.ingest(guide_pdf)
        for question in HEALTHY:
            await engine.ask(session, question)
        assert not fallback_lines(caplog)

        own_redis.stop()
        down = [await engine.ask(session, q) for q in OUTAGE]
        # Answers keep coming, from the index, with no exception.
        for answer in down:
            assert answer.text and answer.citations
            assert {c.source for c in answer.citations} == {"guide.pdf"}
        # Cache from memory: empty at first (a miss), then hit as usual.
        assert not down[0].cache_hit and down[0].cache.reason == "session cache is empty"
        assert down[1].cache_hit, down[1].cache.reason
        # History from memory: only the outage's turns.
        assert [t.question for t in await history.recent(session)] == OUTAGE
        assert store.breaker.degraded and history.breaker.degraded
        went_down = fallback_lines(caplog)
        caplog.clear()

        own_redis.start()  # same port, empty: the server kept nothing
        await asyncio.sleep(config.cache.fallback_retry_s + 0.1)
        back = await engine.ask(session, AFTER)
        assert back.text and back.citations
        came_back = fallback_lines(caplog)
        assert not store.breaker.degraded and not history.breaker.degraded
        assert store.breaker.recoveries == history.breaker.recoveries == 1
        # Write-back: the outage's turns reached Redis, in order, before the new one.
        assert await redis_questions(own_redis.url, key_prefix, session) == [*OUTAGE, AFTER]

    # Exactly the lines Troubleshooting quotes (one per store down, one per store back;
    # failed retries between log nothing), up to Redis's own error text.
    quoted = [fixed_part(line) for line in quoted_log_lines()]
    logged = [fixed_part(line) for line in went_down + came_back]
    assert logged == quoted, "\n".join(went_down + came_back)


async def test_without_fallback_the_documented_exception_reaches_the_caller(
    own_redis: RedisServer,
    key_prefix: str,
    tmp_path: Path,
    embedder: MiniLMEmbedder,
    guide_pdf: Path,
) -> None:
    deployment = prose(section("deployment.md", "### When Redis goes down"))
    name = f"`{StoreUnavailable.__module__}.{StoreUnavailable.__name__}`"
    assert name in deployment and "With `cache.fallback = false`" in deployment
    example = re.search(r"with a message such as `([^`]+)`", deployment)
    assert example is not None
    trouble = prose(section("troubleshooting.md", "## Redis went down"))
    assert "set `cache.fallback = false`: `ask` then raises `StoreUnavailable`" in trouble

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
        await engine.ingest(guide_pdf)
        await engine.ask("s", HEALTHY[0])
        own_redis.stop()
        # Raised by the turn's first step (reading the history): before its first item.
        with pytest.raises(StoreUnavailable) as raised:
            await anext(engine.ask_stream("s", OUTAGE[0]))
        assert str(raised.value).startswith(fixed_part(example.group(1))), raised.value
        assert isinstance(raised.value, ConnectionError)
        with pytest.raises(StoreUnavailable):
            await engine.forget("s")
        # No reopening: the first call after Redis answers again works.
        own_redis.start()
        assert (await engine.ask("s", OUTAGE[0])).text
