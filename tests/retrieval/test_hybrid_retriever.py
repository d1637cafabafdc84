from __future__ import annotations

import numpy as np
import pytest

from contextual_avatar.retrieval import (
    BM25Index,
    ConversationState,
    DocRecord,
    FaissIndex,
    HybridRetriever,
    PriorWeights,
    normalize,
)
from contextual_avatar.retrieval._hybrid import STATELESS
from contextual_avatar.types import Chunk, SourceRef, Span

DIM = 16


def make_corpus(docs: dict[str, list[str]], seed: int = 0) -> tuple[FaissIndex, BM25Index, dict]:
    """Index ``docs`` with random unit vectors (the tests set queries against them)."""
    rng = np.random.default_rng(seed)
    index = FaissIndex(dim=DIM, embedder="test")
    vectors = {}
    for doc, texts in docs.items():
        chunks = [
            Chunk(f"{doc}:{i}", doc, i, t, (Span(0, len(t), SourceRef(f"{doc}.txt")),))
            for i, t in enumerate(texts)
        ]
        vecs = normalize(rng.normal(size=(len(chunks), DIM)))
        index.add(chunks, vecs, DocRecord(doc, f"/{doc}", f"{doc}.txt", "text", len(chunks), 0))
        vectors.update({c.id: v for c, v in zip(chunks, vecs, strict=True)})
    lexical = BM25Index()
    lexical.rebuild(index.chunks)
    return index, lexical, vectors


def blend(*parts: tuple[float, np.ndarray]) -> np.ndarray:
    return normalize(sum(w * v for w, v in parts))[0]


DOCS = {
    "a": ["Adult tickets cost twelve euros.", "Children enter free.", "The cafe sells cake."],
    "b": ["The lift is beside the stairs.", "Tickets for the tower cost five euros.", "Toilets."],
}


def test_dense_only_matches_the_vector_index_order():
    index, _, vec = make_corpus(DOCS)
    query = blend((1.0, vec["a:1"]), (0.5, vec["b:2"]))[None, :]
    retriever = HybridRetriever(index, None, prior=STATELESS)
    got = [sc.chunk.id for sc in retriever.search(["q"], query, 4)]
    assert got == [sc.chunk.id for sc in index.search(query, 4)]


def test_scores_stay_cosine_similarities():
    index, lexical, vec = make_corpus(DOCS)
    query = vec["a:0"][None, :]
    top = HybridRetriever(index, lexical).search(["adult tickets"], query, 1)[0]
    assert top.chunk.id == "a:0"
    assert top.score == pytest.approx(1.0, abs=1e-5)


def test_bm25_decides_between_equally_similar_chunks():
    index, lexical, vec = make_corpus(DOCS)
    query = blend((1.0, vec["a:0"]), (1.0, vec["b:1"]))[None, :]
    hybrid = HybridRetriever(index, lexical, prior=STATELESS)
    assert hybrid.search(["tower tickets"], query, 1)[0].chunk.id == "b:1"
    assert hybrid.search(["adult tickets"], query, 1)[0].chunk.id == "a:0"


def test_lexical_only_finds_terms_without_a_useful_vector():
    index, lexical, _ = make_corpus(DOCS)
    retriever = HybridRetriever(index, lexical, dense_weight=0.0, lexical_weight=1.0)
    query = np.zeros((1, DIM), dtype=np.float32)
    assert retriever.search(["where is the lift"], query, 1)[0].chunk.id == "b:0"


def test_rrf_fusion_returns_k_distinct_chunks():
    index, lexical, vec = make_corpus(DOCS)
    retriever = HybridRetriever(index, lexical, fusion="rrf")
    got = retriever.search(["tickets"], vec["a:2"][None, :], 4)
    assert len(got) == 4
    assert len({sc.chunk.id for sc in got}) == 4
    assert got[0].chunk.id in {"a:2", "a:0", "b:1"}


def test_the_conversation_document_wins_a_close_call():
    index, lexical, vec = make_corpus(DOCS)
    # A follow-up that fits both documents, a little better the wrong one.
    query = blend((1.0, vec["a:0"]), (0.9, vec["b:1"]))[None, :]
    retriever = HybridRetriever(index, lexical, lexical_weight=0.0)
    state = ConversationState(questions=("Is there a tower?",), doc_focus={"b": 1.0})
    assert retriever.search(["how much?"], query, 1)[0].chunk.id == "a:0"
    assert retriever.search(["how much?"], query, 1, state=state)[0].chunk.id == "b:1"


def test_a_clear_topic_change_beats_the_prior():
    index, lexical, vec = make_corpus(DOCS)
    query = vec["a:2"][None, :]
    state = ConversationState(questions=("Is there a lift?",), doc_focus={"b": 1.0})
    got = HybridRetriever(index, lexical).search(["is there cake?"], query, 1, state=state)
    assert got[0].chunk.id == "a:2"


def test_neighbours_of_the_last_answer_are_searched_and_favoured():
    docs = {"long": [f"Part {i} of the story." for i in range(40)], "x": ["Other."]}
    index, lexical, vec = make_corpus(docs, seed=3)
    query = vec["x:0"][None, :]  # the question itself points elsewhere
    state = ConversationState(
        questions=("q",),
        doc_focus={"long": 1.0},
        chunk_focus={"long:20": 1.0},
        last_chunks=("long:20",),
    )
    retriever = HybridRetriever(
        index, lexical, candidates=1, prior=PriorWeights(doc=0.0, neighbour=2.0, followup=0.0)
    )
    got = {sc.chunk.id for sc in retriever.search(["and then?"], query, 3, state=state)}
    assert got == {"long:19", "long:20", "long:21"}


def test_follow_up_terms_expand_the_lexical_query():
    index, lexical, _ = make_corpus(DOCS)
    retriever = HybridRetriever(
        index, lexical, dense_weight=0.0, lexical_weight=1.0, prior=PriorWeights(doc=0.0)
    )
    query = np.zeros((1, DIM), dtype=np.float32)
    state = ConversationState(questions=("Tell me about the tower",))
    assert retriever.search(["how much?"], query, 1, state=state)[0].chunk.id == "b:1"


def test_misaligned_lexical_index_is_not_used():
    index, _, vec = make_corpus(DOCS)
    stale = BM25Index()
    stale.rebuild(index.chunks[:2])
    got = HybridRetriever(index, stale).search(["lift"], vec["a:1"][None, :], 1)
    assert got[0].chunk.id == "a:1"


def test_empty_index_returns_nothing():
    index = FaissIndex(dim=DIM, embedder="t")
    assert HybridRetriever(index, BM25Index()).search(["q"], np.ones((1, DIM), np.float32), 3) == []
