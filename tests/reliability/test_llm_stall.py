"""The LLM server stalls: a timeout, the fallback tier, no hung session.

The small tier points at a real process that accepts connections and never answers
(``stalled_llm.py``), or answers one token and then goes silent. The first-token timeout
ends the call; the engine answers from the other tier (the offline extractive answerer),
and the same session keeps working. A stall after tokens were streamed cannot fall back
(the listener heard them): it ends in a ``ModelError`` within ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts
from contextual_avatar.errors import ModelError
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.testing import free_port

pytestmark = pytest.mark.slow

GUIDE = Path(__file__).resolve().parents[2] / "examples" / "data" / "guide.pdf"
# A generous outer bound: it only proves the turn ended instead of hanging.
HANG_GUARD_S = 120


def _stalled(mode: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("stalled_llm.py")), str(port), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def silent_llm() -> Iterator[str]:
    yield from _stalled("silent")


@pytest.fixture
def half_answer_llm() -> Iterator[str]:
    yield from _stalled("first-token")


def _config(tmp_path: Path, api_base: str, **routing: Any) -> EngineConfig:
    small = {
        "model": "openai/stalled",
        "api_base": api_base,
        "context_window": 2048,
        "input_usd_per_mtok": 0,
        "output_usd_per_mtok": 0,
    }
    return EngineConfig(
        data_dir=tmp_path / "data",
        routing={
            "small": small,  # the large tier stays the offline extractive answerer
            "threshold": -1.0,  # every turn is routed to the (stalled) small tier
            "first_token_timeout_s": 1.0,
            "retries": 1,
            **routing,
        },
    )


async def test_stalled_llm_times_out_and_the_other_tier_answers(
    silent_llm: str, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    config = _config(tmp_path, silent_llm, timeout_s=600)
    async with AsyncContextEngine(config, parts=Parts(embedder=embedder)) as engine:
        await engine.ingest(GUIDE)
        async with asyncio.timeout(HANG_GUARD_S):
            first = await engine.ask("caller", "How much is an adult ticket?")
            second = await engine.ask("caller", "And for children?")
        for answer in (first, second):
            assert answer.route.model == "openai/stalled"  # routed to the stalled tier
            assert answer.text and answer.citations  # yet answered, with sources
        assert "9 euros" in first.text
        models = [e.model for e in engine.ledger.entries("caller")]
        assert models == ["extractive", "extractive"]  # the fallback tier answered


async def test_without_fallback_a_stall_is_a_model_error_not_a_hang(
    silent_llm: str, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    config = _config(tmp_path, silent_llm, timeout_s=600, fallback=False, retries=0)
    async with AsyncContextEngine(config, parts=Parts(embedder=embedder)) as engine:
        await engine.ingest(GUIDE)
        async with asyncio.timeout(HANG_GUARD_S):
            with pytest.raises(ModelError, match="openai/stalled"):
                await engine.ask("caller", "How much is an adult ticket?")


async def test_stall_after_the_first_token_ends_within_timeout_s(
    half_answer_llm: str, tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    config = _config(tmp_path, half_answer_llm, timeout_s=2.0)
    async with AsyncContextEngine(config, parts=Parts(embedder=embedder)) as engine:
        await engine.ingest(GUIDE)
        heard: list[str] = []

        async def listen() -> None:
            async for item in engine.ask_stream("caller", "How much is an adult ticket?"):
                if isinstance(item, str):
                    heard.append(item)

        async with asyncio.timeout(HANG_GUARD_S):
            with pytest.raises(ModelError, match=r"(?i)timed out|timeout"):
                await listen()
        assert heard == ["The"]  # the listener heard a token, so no silent switch of model
        # The session is not stuck: the next turn also ends (in the same bounded way).
        async with asyncio.timeout(HANG_GUARD_S):
            with pytest.raises(ModelError):
                await engine.ask("caller", "When is the museum open?")
