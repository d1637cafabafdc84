"""The engine's streamed answer through the real litellm path, priced as gpt-4o-mini / gpt-4o.

Both tiers are served by the local SmolLM2 server under OpenAI model names, so the ledger
uses litellm's real price map while no paid API is called.
"""

from __future__ import annotations

import asyncio

import pytest

from contextual_avatar import AsyncContextEngine, ContextEngine, EngineConfig, Parts
from contextual_avatar.cache import MemoryHistory
from contextual_avatar.routing import LLMConfig, RoutingConfig
from contextual_avatar.types import Answer, Tier

pytestmark = pytest.mark.slow


@pytest.fixture
def routing(llm_server) -> RoutingConfig:
    def tier(model: str) -> LLMConfig:
        return LLMConfig(
            model=model, api_base=llm_server.api_base, context_window=2048, max_output_tokens=24
        )

    return RoutingConfig(
        small=tier("gpt-4o-mini"),
        large=tier("gpt-4o"),
        retries=0,
        first_token_timeout_s=120,
        timeout_s=120,
    )


@pytest.fixture
def engine(tmp_path, embedder, routing, guide_pdf):
    eng = ContextEngine(
        EngineConfig(data_dir=tmp_path / "data", routing=routing),
        parts=Parts(embedder=embedder, history=MemoryHistory(max_turns=8)),
    )
    eng.ingest(guide_pdf)
    yield eng
    eng.close()


def history(eng: ContextEngine, session: str):
    """The session's turns, read from the in-memory history the test gave the engine."""
    assert eng.parts.history is not None
    return asyncio.run(eng.parts.history.recent(session))


def test_sync_stream_yields_deltas_then_a_priced_answer(engine):
    items = list(engine.ask_stream("s", "How much does an adult ticket cost?"))
    *deltas, answer = items
    assert deltas
    assert all(isinstance(d, str) for d in deltas)
    assert isinstance(answer, Answer)
    assert answer.text == "".join(deltas).strip()
    assert answer.route.model == ("gpt-4o-mini" if answer.route.tier is Tier.SMALL else "gpt-4o")
    assert answer.cost_usd > 0
    assert "first_token" in answer.timings
    entry = engine.ledger.entries("s")[-1]
    assert entry.cost_usd == answer.cost_usd
    assert entry.baseline_model == "gpt-4o"
    assert answer.saved_usd == pytest.approx(entry.baseline_usd - entry.cost_usd)
    if answer.route.tier is Tier.SMALL:
        assert answer.saved_usd > 0
    assert history(engine, "s")[-1].answer == answer.text


def test_breaking_out_of_the_sync_stream_records_an_interrupted_turn(engine):
    stream = engine.ask_stream("s", "Tell me about the tickets.")
    first = next(stream)
    assert isinstance(first, str)
    stream.close()  # barge-in
    turn = history(engine, "s")[-1]
    assert turn.question == "Tell me about the tickets."
    assert turn.answer.endswith("[interrupted]")
    assert turn.answer.startswith(first.strip())
    entry = engine.ledger.entries("s")[-1]
    assert entry.interrupted
    assert engine.ledger.totals("s").interrupted_turns == 1
    # The session stays usable: the next turn is answered and sees the cut turn.
    answer = engine.ask("s", "How much does an adult ticket cost?")
    assert answer.text
    assert len(history(engine, "s")) == 2


def test_ask_equals_the_end_of_the_stream(engine):
    answer = engine.ask("s2", "How much does an adult ticket cost?")
    assert isinstance(answer, Answer)
    assert engine.ledger.totals("s2").turns == 1
    assert engine.ledger.totals().cost_usd >= answer.cost_usd


async def test_cancelling_the_async_stream_task_is_a_barge_in(
    tmp_path, embedder, routing, guide_pdf
):
    async with AsyncContextEngine(
        EngineConfig(data_dir=tmp_path / "d", routing=routing), parts=Parts(embedder=embedder)
    ) as eng:
        await eng.ingest(guide_pdf)
        first = asyncio.Event()

        async def listen() -> None:
            async for item in eng.ask_stream("a", "Tell me about the tickets."):
                if isinstance(item, str):
                    first.set()

        task = asyncio.create_task(listen())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert eng.parts.history is not None
        turns = await eng.parts.history.recent("a")
        assert turns[-1].answer.endswith("[interrupted]")
        assert eng.ledger.entries("a")[-1].interrupted


def test_default_engine_streams_the_extractive_answer_for_free(make_engine, guide_pdf):
    eng = make_engine()
    eng.ingest(guide_pdf)
    *deltas, answer = list(eng.ask_stream("x", "How much does an adult ticket cost?"))
    assert "9" in "".join(deltas)
    assert answer.route.model == "extractive"
    assert answer.cost_usd == 0.0
    assert answer.saved_usd == 0.0
    assert eng.ledger.totals().turns == 1
