"""Each stage of a turn on its own, over real parts (FAISS, BM25, memory cache, SQLite)."""

from __future__ import annotations

import asyncio
import time

import pytest

from contextual_avatar import Parts, RouteDecision, Tier
from contextual_avatar.pipeline import TurnState, TurnTasks
from contextual_avatar.types import Turn

from .conftest import HashEmbedder


async def ready(make_built, guide_txt, **config):
    built = make_built(**config)
    await built.indexer.ingest(guide_txt)
    return built


async def routed(make_built, guide_txt):
    """A ready engine's stages and a turn taken up to the answer stage (sharing on)."""
    built = await ready(make_built, guide_txt, knowledge={"backend": "sqlite"})
    turn = TurnState("s", "What do tickets cost for adults?")
    for stage in (built.pipeline.understand, built.pipeline.recall, built.pipeline.route):
        await stage(turn)
    return built, turn


async def test_understand_reads_history_and_embeds_conversation_aware_queries(
    make_built, guide_txt
):
    built = await ready(make_built, guide_txt)
    await built.history.append("s", Turn("How much are tickets for adults?", "9 euros.", ()))
    turn = TurnState("s", "And for children?")
    await built.pipeline.understand(turn)
    assert [t.question for t in turn.history] == ["How much are tickets for adults?"]
    assert turn.queries == [
        "And for children?",
        "How much are tickets for adults? And for children?",
    ]
    assert turn.vectors.shape == (2, 64)
    assert "embed" in turn.timings


async def test_recall_misses_then_admits_and_the_next_turn_hits(make_built, guide_txt):
    built = await ready(make_built, guide_txt)
    first = TurnState("s", "What do tickets cost for adults?")
    await built.pipeline.understand(first)
    await built.pipeline.recall(first)
    assert first.cache is not None and not first.cache.hit
    assert any("9 euros" in c.chunk.text for c in first.context)
    assert await built.cache.store.entries("s"), "a miss admits the results"
    again = TurnState("s", "What do tickets cost for adults?")
    await built.pipeline.understand(again)
    await built.pipeline.recall(again)
    assert again.cache is not None and again.cache.hit
    assert again.timings["search"] == 0.0


async def test_recall_embeds_results_a_host_retriever_found_outside_the_corpus(
    make_built, guide_txt
):
    from contextual_avatar import Chunk, ScoredChunk, SourceRef, Span

    outside = Chunk("crm:0", "crm", 0, "Members enter free.", (Span(0, 19, SourceRef("crm")),))

    class Elsewhere:
        def search(self, texts, vectors, k, *, state=None):
            return [ScoredChunk(outside, 0.9)]

    built = make_built(Parts(retriever=Elsewhere()))
    await built.indexer.ingest(guide_txt)
    turn = TurnState("s", "Do members pay?")
    await built.pipeline.understand(turn)
    await built.pipeline.recall(turn)
    assert [c.chunk.id for c in turn.context] == ["crm:0"]
    cached = await built.cache.store.entries("s")
    assert [e.chunk.id for e in cached] == ["crm:0"]
    assert cached[0].vector.shape == (64,)


async def test_assemble_fits_the_budget(make_built, guide_txt):
    built = await ready(make_built, guide_txt, retrieval={"context_tokens": 40})
    turn = TurnState("s", "When does the museum open and how much are tickets?")
    await built.pipeline.understand(turn)
    await built.pipeline.recall(turn)
    await built.pipeline.assemble(turn)
    from contextual_avatar.ingest import count_tokens

    assert turn.context
    assert sum(count_tokens(c.chunk.text) for c in turn.context) <= 40 or len(turn.context) == 1


async def test_route_names_the_model_when_the_router_only_picks_a_tier(make_built, guide_txt):
    class AlwaysLarge:
        def route(self, question, context, *, cache_hit=False):
            return RouteDecision(Tier.LARGE, 0.0, 1.0, "host rule")

    built = make_built(Parts(router=AlwaysLarge()))
    turn = TurnState("s", "Anything?")
    await built.pipeline.route(turn)
    assert turn.route is not None
    assert turn.route.tier is Tier.LARGE
    assert turn.route.model == "extractive"


async def test_enrich_fits_chunks_other_sessions_found_inside_the_budget(make_built, guide_txt):
    from contextual_avatar.ingest import count_tokens
    from contextual_avatar.knowledge import feature_keys
    from contextual_avatar.testing._contract_knowledge import vote

    budget = 70
    small = {"chunk_tokens": 24, "overlap_tokens": 0}
    built = await ready(
        make_built,
        guide_txt,
        chunking=small,
        retrieval={"context_tokens": budget, "top_k": 1},
        knowledge={"backend": "sqlite", "min_similarity": -1.0, "context_tokens": 40},
    )
    question = "What do tickets cost for adults?"
    own = TurnState("s", question)
    for stage in (built.pipeline.understand, built.pipeline.recall, built.pipeline.assemble):
        await stage(own)
    steps = next(
        c for c in built.corpus.current.search([question], own.vectors, 50) if "120" in c.chunk.text
    )
    assert steps.chunk.id not in {c.chunk.id for c in own.context}
    keys = feature_keys(built.knowledge.terms(question, "default"), "default")
    assert keys, "the question has document terms"
    await built.parts.sink.write(
        [
            vote("other", k, steps.chunk.id, collection="default", created_at=time.time())
            for k in keys
        ]
    )

    await built.pipeline.enrich(own)
    assert [f.object for f in own.facts] == [steps.chunk.id]
    assert own.facts[0].session_id == ""
    built.pipeline.enrich.attach(own)
    ids = [c.chunk.id for c in own.context]
    assert steps.chunk.id in ids, "the shared chunk is used"
    assert "9 euros" in own.context[0].chunk.text, "the turn's own best chunk stays first"
    assert sum(count_tokens(c.chunk.text) for c in own.context) <= budget

    mine = TurnState("other", question)
    await built.pipeline.enrich(mine)
    assert mine.facts == [], "a session is not shown what it taught itself"
    elsewhere = TurnState("s2", question, collection="other")
    await built.pipeline.enrich(elsewhere)
    assert elsewhere.facts == [], "knowledge stays in its collection"
    await built.parts.sink.close()


async def test_enrich_drops_shared_chunks_below_the_relevance_floor(make_built, guide_txt):
    from contextual_avatar.knowledge import feature_keys
    from contextual_avatar.testing._contract_knowledge import vote

    built = await ready(
        make_built,
        guide_txt,
        chunking={"chunk_tokens": 24, "overlap_tokens": 0},
        retrieval={"top_k": 1},
        knowledge={"backend": "sqlite", "min_similarity": 0.99},
    )
    question = "What do tickets cost for adults?"
    turn = TurnState("s", question)
    for stage in (built.pipeline.understand, built.pipeline.recall, built.pipeline.assemble):
        await stage(turn)
    before = list(turn.context)
    other = next(
        c
        for c in built.corpus.current.search([question], turn.vectors, 50)
        if c.chunk.id not in {x.chunk.id for x in before}
    )
    keys = feature_keys(built.knowledge.terms(question, "default"), "default")
    await built.parts.sink.write(
        [vote("o", k, other.chunk.id, collection="default", created_at=time.time()) for k in keys]
    )
    await built.pipeline.enrich(turn)
    assert turn.facts
    built.pipeline.enrich.attach(turn)
    assert turn.context == before
    assert turn.facts == []
    await built.parts.sink.close()


async def test_answer_streams_deltas_then_keeps_the_reply(make_built, guide_txt):
    built, turn = await routed(make_built, guide_txt)
    deltas = [d async for d in built.pipeline.answer.stream(turn)]
    assert deltas and "".join(deltas) == turn.reply.text
    assert "9 euros" in turn.reply.text
    assert "first_token" in turn.timings and "answer" in turn.timings


async def test_record_appends_history_prices_and_queues_facts(make_built, guide_txt):
    built, turn = await routed(make_built, guide_txt)
    _ = [d async for d in built.pipeline.answer.stream(turn)]
    await built.pipeline.record(turn)
    assert turn.turn_number == 1
    assert (await built.history.recent("s"))[-1].answer == turn.reply.text
    assert len(built.ledger.entries("s")) == 1
    await built.knowledge.flush()
    assert built.knowledge.writer is not None and built.knowledge.writer.stats.delivered > 0
    await built.knowledge.aclose(close_sink=True)


async def test_record_interrupted_marks_the_history_and_the_ledger(make_built, guide_txt):
    built, turn = await routed(make_built, guide_txt)
    turn.deltas = ["Tickets cost"]
    await built.pipeline.record.interrupted(turn)
    assert (await built.history.recent("s"))[-1].answer == "Tickets cost [interrupted]"
    assert built.ledger.entries("s")[-1].interrupted


async def test_a_failed_turn_leaves_no_enrich_task_running(make_built, guide_txt):
    started = asyncio.Event()
    cancelled = asyncio.Event()

    class SlowSink:
        async def write(self, facts):
            return None

        async def related(self, keys, limit=10, **options):
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return []

        async def close(self):
            return None

    class Broken(HashEmbedder):
        down = False

        def embed(self, texts):
            if self.down:
                raise ValueError("embedder down")
            return super().embed(texts)

    embedder = Broken()
    built = make_built(
        Parts(sink=SlowSink(), embedder=embedder), knowledge={"related_timeout_s": 60}
    )
    await built.indexer.ingest(guide_txt)  # the question has document terms to look up
    embedder.down = True
    with pytest.raises(ValueError, match="embedder down"):
        async for _ in built.pipeline.run("s", "How much are tickets?"):
            pass
    assert started.is_set() and cancelled.is_set()
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


async def test_turn_tasks_raise_the_body_error_unwrapped_and_cancel_the_rest():
    cancelled = asyncio.Event()

    async def forever():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def turn() -> None:
        async with TurnTasks() as tasks:
            tasks.start(forever())
            await asyncio.sleep(0)
            raise KeyError("body")

    with pytest.raises(KeyError):
        await turn()
    assert cancelled.is_set()


async def test_the_pipeline_times_every_stage(make_built, guide_txt):
    built = await ready(make_built, guide_txt)
    items = [i async for i in built.pipeline.run("s", "What do tickets cost for adults?")]
    answer = items[-1]
    for name in ("understand", "recall", "enrich", "assemble", "route", "answer", "record"):
        assert name in answer.timings, name
    assert answer.timings["total"] >= answer.timings["understand"]
    await built.knowledge.aclose(close_sink=True)
