from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contextual_avatar._text import terms
from contextual_avatar.retrieval import BM25Index, FaissIndex, normalize
from contextual_avatar.types import Chunk, SourceRef, Span

TEXTS = [
    "Adult tickets cost twelve euros at the gate.",
    "Children under six enter for free with an adult.",
    "The museum opens at nine and closes at six.",
    "Parking is available behind the north entrance.",
]


def chunks(doc: str = "d", texts: list[str] = TEXTS) -> list[Chunk]:
    return [
        Chunk(f"{doc}:{i}", doc, i, t, (Span(0, len(t), SourceRef(f"{doc}.txt")),))
        for i, t in enumerate(texts)
    ]


def test_search_ranks_the_matching_chunk_first():
    index = BM25Index()
    index.rebuild(chunks())
    hits = index.search("how much is a ticket?", 2)
    assert hits[0][0] == 0
    assert all(score > 0 for _, score in hits)


def test_scores_cover_every_row_and_unknown_terms_score_zero():
    index = BM25Index()
    index.rebuild(chunks())
    assert index.scores(["zeppelin"]).tolist() == [0.0] * len(TEXTS)
    assert len(index.scores(["parking"])) == len(TEXTS)


def test_empty_index_searches_to_nothing():
    index = BM25Index()
    index.rebuild([])
    assert index.search("tickets", 3) == []
    assert len(index) == 0


def test_rebuild_follows_the_corpus():
    index = BM25Index()
    index.rebuild(chunks())
    index.rebuild(chunks()[:2] + chunks("e", ["Parking costs three euros."]))
    assert [r for r, _ in index.search("parking", 5)] == [2]


def test_saved_index_loads_without_rebuilding(tmp_path: Path):
    index = BM25Index()
    index.rebuild(chunks())
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path, chunks())
    assert loaded.fingerprint == index.fingerprint
    assert loaded.search("museum opening hours", 1) == index.search("museum opening hours", 1)


def test_stale_saved_index_is_rebuilt_not_misaligned(tmp_path: Path):
    old = BM25Index()
    old.rebuild(chunks())
    old.save(tmp_path)
    current = chunks("e", ["Parking is free on Sundays."]) + chunks()
    loaded = BM25Index.load(tmp_path, current)
    assert loaded.search("parking sundays", 1)[0][0] == 0


def test_changed_parameters_rebuild(tmp_path: Path):
    old = BM25Index(k1=2.0)
    old.rebuild(chunks())
    old.save(tmp_path)
    loaded = BM25Index.load(tmp_path, chunks(), k1=1.2)
    assert loaded.k1 == 1.2
    assert len(loaded) == len(TEXTS)


def test_saved_with_the_vector_index_in_one_version(tmp_path: Path):
    dense = FaissIndex(dim=4, embedder="t")
    cs = chunks()
    from contextual_avatar.retrieval import DocRecord

    dense.add(cs, normalize([[1, 0, 0, 0]] * len(cs)), DocRecord("d", "/d", "d.txt", "text", 4, 0))
    lexical = BM25Index()
    lexical.rebuild(dense.chunks)
    dense.save(tmp_path / "index", extra=lexical.save)
    version = FaissIndex.current_version(tmp_path / "index")
    assert version is not None
    assert (version / "lexical" / "meta.json").exists()
    meta = json.loads((version / "lexical" / "meta.json").read_text())
    assert meta["rows"] == 4
    loaded = BM25Index.load(
        version, FaissIndex.load(tmp_path / "index", dim=4, embedder="t").chunks
    )
    assert loaded.fingerprint == lexical.fingerprint


def test_a_failed_companion_write_leaves_the_previous_version_current(tmp_path: Path):
    dense = FaissIndex(dim=4, embedder="t")
    dense.save(tmp_path)
    before = FaissIndex.current_version(tmp_path)

    def broken(_: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        dense.save(tmp_path, extra=broken)
    assert FaissIndex.current_version(tmp_path) == before


def test_salient_keeps_rare_and_unknown_terms_only(tmp_path: Path):
    index = BM25Index()
    index.rebuild(chunks())
    query = ["adult", "museum", "zebra"]  # in 2 of 4 chunks, in 1, in none
    assert index.salient(query, max_share=0.3) == ["museum", "zebra"]
    assert index.salient(query, max_share=0.5) == query
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path, chunks())
    assert loaded.salient(query, max_share=0.3) == ["museum", "zebra"]


def test_salient_on_an_empty_index_keeps_every_term():
    assert BM25Index().salient(["museum"], max_share=0.01) == ["museum"]


def test_scores_match_bm25s_the_library_earlier_releases_used():
    import bm25s  # type: ignore[import-untyped]

    texts = [
        *TEXTS,
        "Tickets for the ferry to the island cost six euros.",
        "The ferry leaves hourly.",
    ]
    index = BM25Index()
    index.rebuild(chunks(texts=texts))
    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index([terms(t) for t in texts], show_progress=False)
    for query in ["ticket price adult", "ferry island", "museum opens at nine", "parking"]:
        known = [t for t in terms(query) if t in model.vocab_dict]
        expected = np.asarray(model.get_scores(known), dtype=np.float32)
        assert np.allclose(index.scores(terms(query)), expected, atol=1e-5), query


def test_adding_and_removing_rows_scores_as_a_rebuild():
    texts = [
        *TEXTS,
        "Tickets for the ferry to the island cost six euros.",
        "The ferry leaves hourly.",
    ]
    every = chunks(texts=texts)
    grown = BM25Index().with_chunks(every[:2]).with_chunks(every[2:5]).without([1, 3])
    grown = grown.with_chunks(every[5:])
    kept = [every[i] for i in (0, 2, 4, 5)]
    fresh = BM25Index()
    fresh.rebuild(kept)
    assert len(grown) == len(fresh) == 4 and grown.fingerprint == fresh.fingerprint
    for query in ["ticket price adult", "ferry island", "museum", "zebra"]:
        assert grown.scores(terms(query)).tobytes() == fresh.scores(terms(query)).tobytes()
        assert grown.salient(terms(query), max_share=0.3) == fresh.salient(
            terms(query), max_share=0.3
        )
