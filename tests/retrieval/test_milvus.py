"""The Milvus backend on Milvus Lite: isolation, bad input, errors, and the engine on it."""

from __future__ import annotations

import dataclasses
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar import ContextEngine
from contextual_avatar._text import terms
from contextual_avatar.errors import (
    ConfigError,
    InputError,
    MissingDependencyError,
    StoreUnavailable,
)
from contextual_avatar.retrieval import BM25Index, MilvusIndex, MilvusRetriever
from contextual_avatar.testing._contract_retriever import corpus
from contextual_avatar.testing._redis_cluster import cluster_port

DIM = 16
names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


@pytest.fixture(scope="module")
def index(milvus_path: Path) -> MilvusIndex:
    store = MilvusIndex(str(milvus_path), dim=DIM, prefix=f"t{uuid.uuid4().hex[:8]}")
    yield store
    store.close()


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=names, b=names)
def test_no_chunk_crosses_collections(index: MilvusIndex, a: str, b: str) -> None:
    if a == b:
        return
    for name in (a, b):
        index.drop(name)
    mine, vectors = corpus("mine", dim=DIM, seed=1)
    theirs, _ = corpus("theirs", dim=DIM, seed=2)
    index.add(mine, vectors, collection=a)
    index.add(theirs, vectors, collection=b)  # the same vectors under another collection
    crossed = 0
    for name, own in ((a, "mine"), (b, "theirs")):
        retriever = MilvusRetriever(index, collection=name)
        for i in range(len(mine)):
            found = retriever.search([mine[i].text], vectors[i : i + 1], 20)
            assert found
            crossed += sum(sc.chunk.doc_id != own for sc in found)
        chunks, _ = index.lookup([f"{'theirs' if own == 'mine' else 'mine'}:0"], collection=name)
        crossed += len(chunks)
    assert crossed == 0


def test_deleting_a_document_and_a_collection(index: MilvusIndex) -> None:
    index.drop("kb")
    a, va = corpus("a", dim=DIM, seed=3)
    b, vb = corpus("b", dim=DIM, seed=4)
    index.add(a, va, collection="kb")
    index.add(b, vb, collection="kb")
    assert index.count("kb") == len(a) + len(b)
    index.remove_doc("a", collection="kb")
    index.remove_doc("not-there", collection="kb")  # not an error
    assert index.count("kb") == len(b)
    assert {sc.chunk.doc_id for sc in index.search_dense(va, 20, collection="kb")} == {"b"}
    index.drop("kb")
    assert index.count("kb") == 0
    assert index.search_dense(va, 5, collection="kb") == []


def test_keyword_search_is_milvus_bm25(index: MilvusIndex) -> None:
    index.drop("words")
    chunks, vectors = corpus("guide", dim=DIM, seed=5)
    index.add(chunks, vectors, collection="words")
    found = index.search_text("lighthouse harbour", 3, collection="words")
    assert found[0][0].id == "guide:3"
    assert all(score > 0 for _, score in found)
    assert index.search_text("   ", 3, collection="words") == []


@pytest.mark.parametrize(
    "question", ["lighthouse harbour", "What did the tickets cost for children?", "the of"]
)
def test_milvus_bm25_scores_are_the_local_bm25_scores(index: MilvusIndex, question: str) -> None:
    """Both backends score the same terms, so hybrid recall does not depend on the backend."""
    index.drop("bm25")
    chunks, vectors = corpus("guide", dim=DIM, seed=6)
    index.add(chunks, vectors, collection="bm25")
    local = BM25Index()
    local.rebuild(chunks)
    expected = {c.id: float(s) for c, s in zip(chunks, local.scores(terms(question)), strict=True)}
    found = dict((c.id, s) for c, s in index.search_text(question, 50, collection="bm25"))
    assert found.keys() == {cid for cid, s in expected.items() if s > 0}
    if not found:
        return
    # Milvus's BM25 carries the (k1 + 1) factor the local one leaves out and its own
    # length statistics; the hybrid fuses max-normalised scores, which must agree.
    top, top_local = max(found.values()), max(expected.values())
    for cid, score in found.items():
        assert score / top == pytest.approx(expected[cid] / top_local, abs=0.03)
    assert sorted(found, key=lambda c: -found[c]) == sorted(found, key=lambda c: -expected[c])
    ids = [c.id for c in chunks[::2]]  # scored within a filter: the same numbers
    assert index.score_text(question, ids, collection="bm25") == pytest.approx(
        {cid: found[cid] for cid in ids if cid in found}, rel=1e-4
    )


def test_a_collection_from_an_earlier_release_is_a_config_error(index: MilvusIndex) -> None:
    index.drop("legacy")
    index._call("create", "create_collection", index.name("legacy"), dimension=DIM)
    with pytest.raises(ConfigError, match="earlier contextual-avatar"):
        index.search_text("tickets", 3, collection="legacy")
    index.drop("legacy")


def test_unsafe_chunk_ids_are_refused_before_milvus(index: MilvusIndex) -> None:
    chunks, vectors = corpus("a", dim=DIM, seed=1)
    bad = dataclasses.replace(chunks[0], id='a:0" or id != "')
    with pytest.raises(ValueError, match="chunk id"):
        index.add([bad], vectors[:1], collection="ids")
    index.add(chunks, vectors, collection="ids")
    with pytest.raises(InputError, match="not a chunk id"):
        index.score_text("tickets", ['x" or id != "'], collection="ids")


@pytest.mark.parametrize("bad", ["../etc", "a/b", "Caps", "tab\there", "x" * 10_000, ""])
def test_bad_collection_names_are_refused(index: MilvusIndex, bad: str) -> None:
    with pytest.raises(InputError, match="collection"):
        index.add(*corpus("a", dim=DIM, seed=1), collection=bad)


def test_a_bad_document_id_is_refused(index: MilvusIndex) -> None:
    with pytest.raises(InputError, match="document id"):
        index.remove_doc('x" or id != "')


def test_another_dimension_is_a_config_error(milvus_path: Path, index: MilvusIndex) -> None:
    index.drop("dims")
    index.add(*corpus("a", dim=DIM, seed=1), collection="dims")
    other = MilvusIndex(str(milvus_path), dim=DIM * 2, prefix=index._prefix)
    with pytest.raises(ConfigError, match="dim"):
        other.search_dense(np.ones((1, DIM * 2), np.float32), 3, collection="dims")


def test_unreachable_milvus_is_store_unavailable() -> None:
    port = cluster_port(set())
    store = MilvusIndex(f"http://127.0.0.1:{port}", dim=DIM, timeout_s=1.0)
    with pytest.raises(StoreUnavailable, match="Milvus"):
        store.count()


def test_missing_pymilvus_fails_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if not installed
    store = MilvusIndex("/nonexistent/milvus.db", dim=DIM)  # building it imports nothing
    with pytest.raises(MissingDependencyError, match=r"contextual-avatar\[milvus\]"):
        store.count()


def test_the_engine_searches_milvus(
    make_engine: Callable[..., ContextEngine], guide_pdf: Path, tmp_path: Path
) -> None:
    uri = str(tmp_path / "engine-milvus.db")
    engine = make_engine(
        retrieval={"backend": "milvus", "milvus_uri": uri}, cache={"enabled": False}
    )
    engine.ingest(guide_pdf)
    answer = engine.ask("s1", "How much is a ticket?")
    assert answer.citations
    assert any("guide.pdf" in c.source for c in answer.citations)
    searcher = engine._core._built.parts.retriever
    assert isinstance(searcher, MilvusRetriever)
    assert searcher.index.count() == len(engine._core._built.corpus.index)
    local = {c.doc_id for c in engine._core._built.corpus.index.chunks}
    assert {sc.chunk.doc_id for sc in answer.context} <= local
