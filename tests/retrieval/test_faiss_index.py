from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar.errors import ConfigError, IndexCorruptError
from contextual_avatar.retrieval import DocRecord, FaissIndex, normalize
from contextual_avatar.types import Chunk, SourceRef, Span

DIM = 8


def make_doc(doc_id: str, n: int, seed: int) -> tuple[list[Chunk], np.ndarray, DocRecord]:
    rng = np.random.default_rng(seed)
    chunks = [
        Chunk(
            f"{doc_id}:{i}",
            doc_id,
            i,
            f"{doc_id} chunk {i}",
            (Span(0, 5, SourceRef(f"{doc_id}.pdf", page=i + 1)),),
        )
        for i in range(n)
    ]
    vectors = normalize(rng.normal(size=(n, DIM)))
    return chunks, vectors, DocRecord(doc_id, f"/x/{doc_id}.pdf", f"{doc_id}.pdf", "pdf", n, 0.0)


def test_search_finds_the_exact_vector_first():
    index = FaissIndex(dim=DIM, embedder="test")
    chunks, vectors, doc = make_doc("a", 20, 1)
    index.add(chunks, vectors, doc)
    hits = index.search(vectors[7], 3)
    assert hits[0].chunk.id == "a:7"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_several_queries_merge_by_best_score():
    index = FaissIndex(dim=DIM, embedder="test")
    chunks, vectors, doc = make_doc("a", 20, 1)
    index.add(chunks, vectors, doc)
    hits = index.search(np.stack([vectors[3], vectors[11]]), 2)
    assert {h.chunk.id for h in hits} == {"a:3", "a:11"}


def test_remove_doc_drops_its_chunks():
    index = FaissIndex(dim=DIM, embedder="test")
    for i, name in enumerate("ab"):
        index.add(*make_doc(name, 5, i))
    index.remove_doc("a")
    assert len(index) == 5
    assert not index.has_doc("a")
    assert all(h.chunk.doc_id == "b" for h in index.search(make_doc("a", 5, 0)[1][0], 5))
    assert index.chunk("a:0") is None
    assert index.chunk("b:0") is not None


def test_save_and_load_round_trip(tmp_path: Path):
    index = FaissIndex(dim=DIM, embedder="test")
    chunks, vectors, doc = make_doc("a", 6, 2)
    index.add(chunks, vectors, doc)
    index.save(tmp_path)
    loaded = FaissIndex.load(tmp_path, dim=DIM, embedder="test")
    assert loaded.docs == index.docs
    assert loaded.chunk("a:4") == chunks[4]
    np.testing.assert_allclose(loaded.vectors_for(["a:1"]), vectors[[1]])


def test_crash_mid_save_keeps_the_previous_index(tmp_path: Path):
    index = FaissIndex(dim=DIM, embedder="test")
    index.add(*make_doc("a", 3, 3))
    index.save(tmp_path)
    # A later save that died after writing part of its version directory, before the
    # CURRENT pointer moved: the loader must not see it.
    broken = tmp_path / "v-99999999T999999-deadbeef"
    broken.mkdir()
    (broken / "vectors.npy").write_bytes(b"\x93NUMPY partial")
    (tmp_path / "CURRENT.tmp").write_text("v-99999999T999999-deadbeef")
    loaded = FaissIndex.load(tmp_path, dim=DIM, embedder="test")
    assert loaded.has_doc("a")
    assert len(loaded) == 3


def test_corrupt_current_version_raises_a_clear_error(tmp_path: Path):
    index = FaissIndex(dim=DIM, embedder="test")
    index.add(*make_doc("a", 3, 3))
    index.save(tmp_path)
    current = tmp_path / (tmp_path / "CURRENT").read_text()
    (current / "chunks.jsonl").write_text("{not json\n")
    with pytest.raises(IndexCorruptError, match="cannot load the index"):
        FaissIndex.load(tmp_path, dim=DIM, embedder="test")


def test_index_from_another_embedder_is_refused(tmp_path: Path):
    index = FaissIndex(dim=DIM, embedder="test")
    index.add(*make_doc("a", 3, 3))
    index.save(tmp_path)
    with pytest.raises(ConfigError, match="built with embedder 'test'"):
        FaissIndex.load(tmp_path, dim=DIM, embedder="other")


def test_save_leaves_one_version(tmp_path: Path):
    index = FaissIndex(dim=DIM, embedder="test")
    index.add(*make_doc("a", 3, 3))
    index.save(tmp_path)
    index.add(*make_doc("b", 3, 4))
    index.save(tmp_path)
    versions = list(tmp_path.glob("v-*"))
    assert len(versions) == 1
    meta = json.loads((versions[0] / "meta.json").read_text())
    assert {d["doc_id"] for d in meta["docs"]} == {"a", "b"}


def test_read_records_lists_documents_without_loading_vectors(tmp_path: Path):
    assert FaissIndex.read_records(tmp_path / "none") == ([], "")
    index = FaissIndex(dim=DIM, embedder="test")
    chunks, vectors, record = make_doc("a", 3, seed=1)
    index.add(chunks, vectors, record)
    index.save(tmp_path)
    assert FaissIndex.read_records(tmp_path) == ([record], "test")
    version = FaissIndex.current_version(tmp_path)
    assert version is not None
    (version / "meta.json").write_text("[not an object]")
    with pytest.raises(IndexCorruptError, match="cannot load the index"):
        FaissIndex.read_records(tmp_path)
    with pytest.raises(IndexCorruptError, match="cannot load the index"):
        FaissIndex.load(tmp_path, dim=DIM, embedder="test")
