from __future__ import annotations

import pytest

from contextual_avatar.config import ChunkingConfig
from contextual_avatar.ingest import chunk_segments, count_tokens
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.routing import ExtractiveResponder, split_sentences
from contextual_avatar.types import ScoredChunk, Segment, SourceRef, Turn

pytestmark = pytest.mark.slow


def test_split_sentences_ignores_pdf_line_breaks():
    text = "Tickets and prices\nTickets cost 9 euros for adults. A family ticket for two adults and up to\nthree children costs 22 euros."
    pieces = [text[a:b] for a, b in split_sentences(text)]
    assert pieces == [
        "Tickets and prices",
        "Tickets cost 9 euros for adults.",
        "A family ticket for two adults and up to\nthree children costs 22 euros.",
    ]


@pytest.fixture
def responder(embedder: MiniLMEmbedder) -> ExtractiveResponder:
    return ExtractiveResponder(embedder.embed, count_tokens=count_tokens)


def timed_context() -> list[ScoredChunk]:
    segs = [
        Segment(
            "Welcome everyone to the harbour tour.", SourceRef("talk.vtt", start_s=0.0, end_s=4.0)
        ),
        Segment(
            "Our guide today is named Margaret.", SourceRef("talk.vtt", start_s=4.0, end_s=7.5)
        ),
        Segment(
            "The lighthouse was built in 1874.", SourceRef("talk.vtt", start_s=7.5, end_s=11.0)
        ),
    ]
    return [ScoredChunk(c, 0.6) for c in chunk_segments(segs, doc_id="d", config=ChunkingConfig())]


async def test_quotes_the_answering_sentence_and_cites_its_time(responder):
    reply = await responder.respond(
        "What is the name of the guide?", context=timed_context(), history=[]
    )
    assert "Margaret" in reply.text
    assert [(r.start_s, r.end_s) for r in reply.citations] == [(4.0, 7.5)]
    assert reply.tokens.prompt > 0
    assert reply.cost_usd == 0.0


async def test_does_not_repeat_the_previous_answer(responder):
    ctx = timed_context()
    history = [Turn("What is the name of the guide?", "Our guide today is named Margaret.")]
    reply = await responder.respond("And when was it built?", context=ctx, history=history)
    assert "1874" in reply.text


async def test_empty_context_says_so(responder):
    reply = await responder.respond("Anything?", context=[], history=[])
    assert "could not find" in reply.text
    assert reply.citations == ()


async def test_a_full_sentence_cache_never_loses_vectors_it_needs(embedder):
    # Regression: inserting misses evicted hits the same call was about to read.
    small = ExtractiveResponder(embedder.embed, count_tokens=count_tokens, cache_chunks=1)
    ctx = timed_context()
    for _ in range(3):
        reply = await small.respond("What is the name of the guide?", context=ctx, history=[])
        assert "Margaret" in reply.text
