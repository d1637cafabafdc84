"""The dense index goes approximate above a size, persists, and reopens older versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from contextual_avatar.retrieval import DocRecord, FaissIndex, RetrievalConfig, normalize
from contextual_avatar.retrieval._ann import DenseSpec, build_dense, ivf_lists, kind_of
from contextual_avatar.types import Chunk, SourceRef, Span

DIM = 16


def make_doc(doc_id: str, n: int, seed: int) -> tuple[list[Chunk], np.ndarray, DocRecord]:
    rng = np.random.default_rng(seed)
    chunks = [
        Chunk(f"{doc_id}:{i}", doc_id, i, f"{doc_id} {i}", (Span(0, 3, SourceRef(doc_id)),))
        for i in range(n)
    ]
    vectors = normalize(rng.normal(size=(n, DIM))).astype(np.float32)
    return chunks, vectors, DocRecord(doc_id, f"/x/{doc_id}", doc_id, "text", n, 0.0)


def spec(**kw: object) -> DenseSpec:
    return DenseSpec(**{"approximate_above": 100, "approximate": "hnsw", **kw})  # type: ignore[arg-type]


def test_auto_is_exact_up_to_the_size_then_approximate() -> None:
    index = FaissIndex(dim=DIM, embedder="t", spec=spec())
    index.add(*make_doc("a", 100, 1))
    assert index.dense_kind == "flat"
    index.add(*make_doc("b", 50, 2))
    assert index.dense_kind == "hnsw"
    index.add(*make_doc("c", 30, 3))  # grows in place
    assert index.dense_kind == "hnsw" and len(index) == 180
    _, vectors, _ = make_doc("c", 30, 3)
    hit = index.search(vectors[4], 3)[0]
    assert hit.chunk.id == "c:4" and hit.score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_recall_against_exact(kind: str) -> None:
    # Clustered data as real text embeddings are (not uniform noise): 40 topics.
    rng = np.random.default_rng(7)
    centres = normalize(rng.normal(size=(40, DIM)))
    data = normalize(centres[rng.integers(0, 40, 4000)] + 0.3 * rng.normal(size=(4000, DIM)))
    data = data.astype(np.float32)
    queries = normalize(data[:200] + 0.1 * rng.normal(size=(200, DIM))).astype(np.float32)
    approx = build_dense(data, DenseSpec(kind=kind, ivf_nprobe=16))  # type: ignore[arg-type]
    assert kind_of(approx) == kind
    exact = build_dense(data, DenseSpec(kind="flat"))
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.9


def test_ivf_retrains_when_it_outgrows_its_lists() -> None:
    index = FaissIndex(dim=DIM, embedder="t", spec=spec(approximate="ivf"))
    index.add(*make_doc("a", 120, 1))
    assert index.dense_kind == "ivf"
    lists = index._faiss.nlist
    index.add(*make_doc("b", 2000, 2))
    assert index._faiss.nlist > lists
    assert index._faiss.nlist == ivf_lists(2120)


def test_approximate_index_is_saved_and_reused(tmp_path: Path) -> None:
    index = FaissIndex(dim=DIM, embedder="t", spec=spec())
    index.add(*make_doc("a", 300, 1))
    index.save(tmp_path)
    version = FaissIndex.current_version(tmp_path)
    assert version is not None and (version / "dense.faiss").exists()
    assert json.loads((version / "meta.json").read_text())["dense"] == "hnsw"
    loaded = FaissIndex.load(tmp_path, dim=DIM, embedder="t", spec=spec())
    assert loaded.dense_kind == "hnsw" and len(loaded) == 300
    _, vectors, _ = make_doc("a", 300, 1)
    assert [h.chunk.id for h in loaded.search(vectors[9], 1)] == ["a:9"]
    # Other settings: the saved graph no longer fits and is rebuilt as asked.
    as_ivf = FaissIndex.load(tmp_path, dim=DIM, embedder="t", spec=spec(approximate="ivf"))
    assert as_ivf.dense_kind == "ivf"
    assert [h.chunk.id for h in as_ivf.search(vectors[9], 1)] == ["a:9"]


def test_an_old_exact_version_reopens_as_approximate_when_large(tmp_path: Path) -> None:
    old = FaissIndex(dim=DIM, embedder="t", spec=DenseSpec(kind="flat"))
    old.add(*make_doc("a", 300, 1))
    old.save(tmp_path)
    version = FaissIndex.current_version(tmp_path)
    assert version is not None and not (version / "dense.faiss").exists()
    meta = json.loads((version / "meta.json").read_text())
    del meta["dense"]  # as written before index kinds existed
    (version / "meta.json").write_text(json.dumps(meta))
    assert FaissIndex.load(tmp_path, dim=DIM, embedder="t").dense_kind == "flat"  # 300 <= 50k
    reopened = FaissIndex.load(tmp_path, dim=DIM, embedder="t", spec=spec())
    assert reopened.dense_kind == "hnsw"
    _, vectors, _ = make_doc("a", 300, 1)
    assert reopened.search(vectors[0], 1)[0].chunk.id == "a:0"


def test_a_damaged_saved_graph_is_rebuilt(tmp_path: Path) -> None:
    index = FaissIndex(dim=DIM, embedder="t", spec=spec())
    index.add(*make_doc("a", 300, 1))
    index.save(tmp_path)
    version = FaissIndex.current_version(tmp_path)
    assert version is not None
    (version / "dense.faiss").write_bytes(b"not a faiss index")
    loaded = FaissIndex.load(tmp_path, dim=DIM, embedder="t", spec=spec())
    assert loaded.dense_kind == "hnsw" and len(loaded) == 300


def test_removing_a_document_from_an_approximate_index() -> None:
    index = FaissIndex(dim=DIM, embedder="t", spec=spec())
    index.add(*make_doc("a", 150, 1))
    index.add(*make_doc("b", 150, 2))
    index.remove_doc("a")
    assert index.dense_kind == "hnsw" and len(index) == 150
    _, vectors, _ = make_doc("a", 150, 1)
    assert all(h.chunk.doc_id == "b" for h in index.search(vectors[:5], 20))
    index.remove_doc("b")
    assert index.dense_kind == "flat" and index.search(vectors[0], 3) == []


def test_config_carries_the_index_settings() -> None:
    cfg = RetrievalConfig(index="ivf", approximate_above=10, ivf_nprobe=4)
    dense = cfg.dense_spec()
    assert (dense.kind, dense.approximate_above, dense.ivf_nprobe) == ("ivf", 10, 4)
    assert RetrievalConfig().dense_spec().kind_for(10**6) == RetrievalConfig().approximate
    with pytest.raises(ValidationError, match="approximate_above"):
        RetrievalConfig(approximate_above=-1)
    with pytest.raises(ValidationError, match="index"):
        RetrievalConfig(index="annoy")  # type: ignore[arg-type]
