"""A document is its content; the paths it was ingested from are its names (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar.retrieval import Corpus, DocRecord, FaissIndex, RetrievalConfig, normalize
from contextual_avatar.types import Chunk, SourceRef, Span

DIM = 8


def content(doc_id: str, name: str, n: int = 3) -> tuple[list[Chunk], np.ndarray]:
    """Chunks of one content as its loader would cite them: by the name it was read from."""
    chunks = [
        Chunk(f"{doc_id}:{i}", doc_id, i, f"{doc_id} text {i}", (Span(0, 4, SourceRef(name)),))
        for i in range(n)
    ]
    vectors = normalize(np.random.default_rng(len(doc_id) + n).normal(size=(n, DIM)))
    return chunks, vectors


def record(doc_id: str, name: str, n: int = 3, kind: str = "text") -> DocRecord:
    return DocRecord(doc_id, f"/up/{name}", name, kind, n, 0.0)


def sources(index: FaissIndex, doc_id: str) -> set[str]:
    return {r.source for c in index.chunks if c.doc_id == doc_id for r in c.refs}


def names(corpus: Corpus) -> list[tuple[str, str]]:
    return [(d.name, d.doc_id) for d in corpus.documents]


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return Corpus(tmp_path / "index", RetrievalConfig(), dim=DIM, embedder="test")


def reopen(corpus: Corpus) -> Corpus:
    return Corpus(corpus.directory, RetrievalConfig(), dim=DIM, embedder="test")


def test_a_second_name_shares_the_chunks_and_survives_a_restart(corpus: Corpus):
    corpus.add_document(*content("x", "a.txt"), record("x", "a.txt"))
    assert corpus.add_name(record("x", "b.md"))
    corpus.publish()
    for c in (corpus, reopen(corpus)):
        assert names(c) == [("a.txt", "x"), ("b.md", "x")]
        assert len(c.index) == 3  # stored once
        assert c.cited_as("x") == record("x", "a.txt")
        assert sources(c.index, "x") == {"a.txt"}  # cited as first read


def test_the_same_name_again_changes_nothing(corpus: Corpus):
    corpus.add_document(*content("x", "a.txt"), record("x", "a.txt"))
    assert corpus.add_name(record("x", "b.md"))
    assert not corpus.add_name(record("x", "b.md"))
    assert not corpus.add_name(record("x", "a.txt"))
    assert names(corpus) == [("a.txt", "x"), ("b.md", "x")]


def test_a_name_for_content_not_indexed_is_refused(corpus: Corpus):
    corpus.add_document(*content("x", "a.txt"), record("x", "a.txt"))
    with pytest.raises(ValueError, match="not indexed"):
        corpus.add_name(record("y", "a.txt"))
    assert names(corpus) == [("a.txt", "x")]


def test_new_content_at_a_second_name_keeps_the_first(corpus: Corpus):
    corpus.add_document(*content("x", "a.txt"), record("x", "a.txt"))
    corpus.add_name(record("x", "b.md"))
    corpus.add_document(*content("y", "b.md"), record("y", "b.md"))
    assert names(corpus) == [("a.txt", "x"), ("b.md", "y")]
    assert len(corpus.index) == 6
    assert sources(corpus.index, "x") == {"a.txt"}


def test_new_content_at_the_cited_name_moves_citations_to_the_next_name(corpus: Corpus):
    corpus.add_document(*content("x", "a.txt"), record("x", "a.txt"))
    corpus.add_name(record("x", "b.md"))
    corpus.add_name(record("x", "c.md"))
    corpus.add_document(*content("y", "a.txt"), record("y", "a.txt"))
    corpus.publish()
    for c in (corpus, reopen(corpus)):
        assert names(c) == [("b.md", "x"), ("c.md", "x"), ("a.txt", "y")]
        # a.txt no longer holds x's text: x is cited by a file that does.
        assert sources(c.index, "x") == {"b.md"}
        assert sources(c.index, "y") == {"a.txt"}
        assert c.lookup(["x:0"])[0][0].refs == (SourceRef("b.md"),)
        assert [h.chunk.doc_id for h in c.index.search(content("x", "a.txt")[1][0], 1)] == ["x"]


def test_content_goes_with_its_last_name(corpus: Corpus):
    corpus.add_document(*content("x", "a.txt"), record("x", "a.txt"))
    corpus.add_name(record("x", "b.md"))
    corpus.add_document(*content("y", "a.txt", 2), record("y", "a.txt", 2))
    corpus.add_document(*content("z", "b.md", 2), record("z", "b.md", 2))
    assert names(corpus) == [("a.txt", "y"), ("b.md", "z")]
    assert not corpus.has_doc("x")
    assert corpus.index.chunk("x:0") is None
    assert len(corpus.index) == 4


def test_remove_doc_drops_every_name():
    index = FaissIndex(dim=DIM, embedder="test")
    index.add(*content("x", "a.txt"), record("x", "a.txt"))
    index.add_name(record("x", "b.md"))
    index.remove_doc("x")
    assert index.records == [] and len(index) == 0


def test_index_refuses_a_path_that_already_names_a_document():
    index = FaissIndex(dim=DIM, embedder="test")
    index.add(*content("x", "a.txt"), record("x", "a.txt"))
    with pytest.raises(ValueError, match="already names"):
        index.add(*content("y", "a.txt"), record("y", "a.txt"))
    with pytest.raises(ValueError, match="already names"):
        index.add_name(record("x", "a.txt"))


def test_meta_json_from_before_names_still_loads(tmp_path: Path):
    """A version written when records were one per doc_id (the same fields, no names)."""
    index = FaissIndex(dim=DIM, embedder="test")
    chunks, vectors = content("x", "a.txt")
    index.add(chunks, vectors, record("x", "a.txt"))
    chunks, vectors = content("y", "guide.pdf", 2)
    index.add(chunks, vectors, record("y", "guide.pdf", 2, kind="pdf"))
    index.save(tmp_path)
    old = {
        "format": 1,
        "dim": DIM,
        "embedder": "test",
        "docs": [
            {
                "doc_id": "x",
                "path": "/up/a.txt",
                "name": "a.txt",
                "kind": "text",
                "chunks": 3,
                "ingested_at": 1.0,
            },
            {
                "doc_id": "y",
                "path": "/up/guide.pdf",
                "name": "guide.pdf",
                "kind": "pdf",
                "chunks": 2,
                "ingested_at": 2.0,
            },
        ],
    }
    meta = FaissIndex.current_version(tmp_path)
    assert meta is not None
    (meta / "meta.json").write_text(json.dumps(old))
    corpus = Corpus(tmp_path, RetrievalConfig(), dim=DIM, embedder="test")
    assert names(corpus) == [("a.txt", "x"), ("guide.pdf", "y")]
    assert set(corpus.index.docs) == {"x", "y"}
    # And it takes a second name, written in the same format.
    assert corpus.add_name(record("x", "b.md"))
    corpus.publish()
    assert names(reopen(corpus)) == [("a.txt", "x"), ("guide.pdf", "y"), ("b.md", "x")]
    current = FaissIndex.current_version(tmp_path)
    assert current is not None
    written = json.loads((current / "meta.json").read_text())
    assert [set(d) for d in written["docs"]] == [set(old["docs"][0])] * 3
