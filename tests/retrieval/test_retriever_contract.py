"""The retriever contract on the default FAISS + BM25 retriever and on the Milvus one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar.retrieval import BM25Index, FaissIndex, RetrievalConfig, build_retriever
from contextual_avatar.retrieval._faiss import DocRecord
from contextual_avatar.testing import RetrieverContract
from contextual_avatar.types import Chunk


def faiss_retriever(
    chunks: Sequence[Chunk], vectors: np.ndarray, dim: int, config: RetrievalConfig
) -> object:
    index = FaissIndex(dim=dim, embedder="contract", spec=config.dense_spec())
    by_doc: dict[str, list[int]] = {}
    for i, chunk in enumerate(chunks):
        by_doc.setdefault(chunk.doc_id, []).append(i)
    for doc, rows in by_doc.items():
        record = DocRecord(doc, f"/x/{doc}", doc, "text", len(rows), 0.0)
        index.add([chunks[i] for i in rows], vectors[rows], record)
    lexical = BM25Index()
    lexical.rebuild(index.chunks)
    return build_retriever(config, index, lexical)


class TestHybridFaissRetriever(RetrieverContract):
    """One FAISS + BM25 index per collection, as the engine keeps them."""

    @pytest.fixture
    def make_retriever(self) -> Callable[..., object]:
        def make(chunks: Sequence[Chunk], vectors: np.ndarray, collection: str) -> object:
            return faiss_retriever(chunks, vectors, self.dim, RetrievalConfig())

        return make


class TestApproximateFaissRetriever(RetrieverContract):
    """The same with the HNSW index at every size."""

    @pytest.fixture
    def make_retriever(self) -> Callable[..., object]:
        def make(chunks: Sequence[Chunk], vectors: np.ndarray, collection: str) -> object:
            return faiss_retriever(chunks, vectors, self.dim, RetrievalConfig(index="hnsw"))

        return make


class TestMilvusRetriever(RetrieverContract):
    """Milvus Lite on a local file: one Milvus collection per knowledge base."""

    @pytest.fixture
    def make_retriever(self, milvus_path: Path) -> Callable[..., object]:
        from contextual_avatar.retrieval import MilvusIndex, MilvusRetriever

        index = MilvusIndex(str(milvus_path), dim=self.dim)

        def make(chunks: Sequence[Chunk], vectors: np.ndarray, collection: str) -> object:
            index.drop(collection)
            index.add(chunks, vectors, collection=collection)
            return MilvusRetriever(index, collection=collection)

        yield make
        index.close()


class Leaky:
    """Ignores collections: one shared index for every knowledge base (a real bug shape)."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.vectors = np.zeros((0, RetrieverContract.dim), np.float32)

    def make(self, chunks: Sequence[Chunk], vectors: np.ndarray, collection: str) -> Leaky:
        self.chunks += list(chunks)
        self.vectors = np.vstack([self.vectors, vectors])
        return self

    def search(self, texts, vectors, k, *, state=None):  # type: ignore[no-untyped-def]
        from contextual_avatar.types import ScoredChunk

        scores = (self.vectors @ np.asarray(vectors).T).max(axis=1)
        order = np.argsort(-scores, kind="stable")[:k]
        return [ScoredChunk(self.chunks[i], float(scores[i])) for i in order]


def test_the_contract_catches_a_retriever_that_mixes_collections() -> None:
    with pytest.raises(AssertionError, match="cross-collection"):
        RetrieverContract().test_never_returns_another_collections_chunks(Leaky().make)
