"""The offline answerer picks among all context sentences, and embeds each chunk once."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar import ContextEngine, EngineConfig, Parts
from contextual_avatar.config import ChunkingConfig
from contextual_avatar.ingest import chunk_segments, count_tokens
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.routing import ExtractiveResponder
from contextual_avatar.types import ScoredChunk, Segment, SourceRef

pytestmark = pytest.mark.slow

SPEC = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.html")


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def chunks(texts: list[str], scores: list[float], doc: str = "d") -> list[ScoredChunk]:
    out = []
    for i, (text, score) in enumerate(zip(texts, scores, strict=True)):
        seg = [Segment(text, SourceRef(f"{doc}{i}.txt"))]
        (chunk,) = chunk_segments(seg, doc_id=f"{doc}{i}", config=ChunkingConfig())
        out.append(ScoredChunk(chunk, score))
    return out


MUSEUM = [
    "The museum has a large collection of paintings. Tickets for adults cost 9 euros. "
    "The collection grows every year.",
    "Opening hours are 10 to 18. The museum cafe sells cakes and coffee.",
    "The gift shop sells postcards. Guided tours start every hour at the entrance.",
]


async def test_a_sentence_in_a_lower_chunk_wins_when_the_best_chunk_holds_nothing(embedder):
    responder = ExtractiveResponder(embedder.embed, count_tokens=count_tokens)
    ctx = chunks([MUSEUM[1], MUSEUM[2], MUSEUM[0]], [0.62, 0.55, 0.50])
    reply = await responder.respond("What does the gift shop sell?", context=ctx, history=[])
    assert "The gift shop sells postcards." in reply.text
    assert [r.source for r in reply.citations] == ["d1.txt"]


async def test_a_how_much_question_quotes_the_sentence_with_the_amount(embedder):
    responder = ExtractiveResponder(embedder.embed, count_tokens=count_tokens)
    ctx = chunks(MUSEUM, [0.62, 0.55, 0.50])
    reply = await responder.respond("How much is a ticket for adults?", context=ctx, history=[])
    assert "9 euros" in reply.text


async def test_each_chunk_is_embedded_once_then_only_the_queries(embedder):
    counting = Counting(embedder)
    responder = ExtractiveResponder(counting.embed, count_tokens=count_tokens)
    ctx = chunks(MUSEUM, [0.62, 0.55, 0.50])
    await responder.respond("When do guided tours start?", context=ctx, history=[])
    first = len(counting.texts)
    assert first > 2  # the two queries and every sentence
    counting.texts.clear()
    await responder.respond("What does the cafe sell?", context=ctx, history=[])
    assert len(counting.texts) == 2  # the question, and the question with the conversation


async def test_vectors_are_keyed_by_the_text_not_the_chunk_id(embedder):
    counting = Counting(embedder)
    responder = ExtractiveResponder(counting.embed, count_tokens=count_tokens)
    await responder.respond("When?", context=chunks(MUSEUM, [0.6, 0.5, 0.4]), history=[])
    counting.texts.clear()
    renamed = chunks(MUSEUM, [0.6, 0.5, 0.4], doc="other")  # same texts, other ids
    await responder.respond("When?", context=renamed, history=[])
    assert len(counting.texts) == 2
    counting.texts.clear()
    edited = chunks([*MUSEUM[:2], "The gift shop is closed on Mondays."], [0.6, 0.5, 0.4])
    await responder.respond("When?", context=edited, history=[])
    sentences = [t for t in counting.texts if t != "When?"]
    assert sentences == ["The gift shop is closed on Mondays."]


def test_threads_sharing_one_answerer_get_the_answers_one_thread_gets(embedder):
    responder = ExtractiveResponder(embedder.embed, count_tokens=count_tokens, cache_chunks=2)
    questions = [
        "When do guided tours start?",
        "What does the cafe sell?",
        "How much is a ticket for adults?",
        "What does the gift shop sell?",
    ]
    contexts = [chunks(MUSEUM[i:] + MUSEUM[:i], [0.6, 0.5, 0.4]) for i in range(3)]
    jobs = [(q, c) for q in questions for c in contexts]
    alone = ExtractiveResponder(embedder.embed, count_tokens=count_tokens)
    expected = [alone._respond(q, c, []).text for q, c in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda job: responder._respond(job[0], job[1], []).text, jobs))
    assert got == expected


def _spec_as_text(folder: Path) -> list[Path]:
    out = []
    for page in sorted(SPEC.glob("*.html")):
        text = page.read_text(errors="replace")
        text = re.sub(r"(?i)<(p|div|h\d|li|pre|br|tr|dt|dd)\b[^>]*>", "\n", text)
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        path = folder / f"{page.stem}.txt"
        path.write_text(re.sub(r"[ \t]+", " ", text), encoding="utf-8")
        out.append(path)
    return out


@pytest.mark.skipif(not SPEC.is_dir(), reason="Debian's shared-mime-info (scripts/system-deps.sh)")
def test_the_issues_glob_weight_question_on_the_real_specification(tmp_path: Path, embedder):
    """Issue 19: the best chunk said "The default weight value is 50"; the answer quoted another."""
    parts = Parts(embedder=embedder)
    with ContextEngine(EngineConfig(data_dir=tmp_path / "d"), parts=parts) as engine:
        for page in _spec_as_text(tmp_path):
            engine.ingest(page)
        for session, question in enumerate(
            ["What is the default weight of a glob pattern?", "default weight of a glob pattern?"]
        ):
            answer = engine.ask(f"s{session}", question)
            assert "The default weight value is 50" in answer.text, answer.text
            assert [r.source for r in answer.citations] == ["x34.txt"]
