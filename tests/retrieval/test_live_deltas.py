"""Live updates published as deltas: a process that follows them ends where a fresh load does.

Two ``Corpus`` objects on one folder stand in for a writer and an answering process (the
real-process tests are in ``tests/reliability/test_live_update.py``). Checked against two
references: a fresh ``Corpus`` opened on the folder (a full load) and an index built in
memory from the same changes with a BM25 index built from scratch.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar._text import terms
from contextual_avatar.errors import IndexCorruptError
from contextual_avatar.retrieval import (
    BM25Index,
    Collections,
    Corpus,
    CorpusVersion,
    DocRecord,
    FaissIndex,
    RetrievalConfig,
    _journal,
    normalize,
)
from contextual_avatar.types import Chunk, SourceRef, Span

DIM = 8
WORDS = "lighthouse museum ticket ferry pier submarine zeppelin island tour lamp brass".split()
QUERIES = ["museum ticket", "ferry island pier", "submarine zeppelin tour", "brass lamp"]


def content(doc: str, name: str, n: int) -> tuple[list[Chunk], np.ndarray]:
    rng = np.random.default_rng(int.from_bytes(doc.encode()[:8].ljust(8, b"\0"), "little"))
    chunks = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 9))).tolist())
        chunks.append(Chunk(f"{doc}:{i}", doc, i, text, (Span(0, len(text), SourceRef(name)),)))
    return chunks, normalize(rng.standard_normal((n, DIM)).astype(np.float32))


def open_corpus(folder: Path, config: RetrievalConfig | None = None) -> Corpus:
    return Corpus(folder, config or RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.0)


class Counting(Corpus):
    """A corpus that counts its full loads (the delta path must make them rare)."""

    full_loads = 0

    def _load(self, when):  # type: ignore[no-untyped-def]
        self.full_loads += 1
        return super()._load(when)


def state(corpus: Corpus | CorpusVersion) -> dict[str, object]:
    """Everything a turn can observe of a version (a corpus's current one)."""
    version = corpus.current if isinstance(corpus, Corpus) else corpus
    index, lexical = version.index, version.lexical
    rng = np.random.default_rng(7)
    queries = normalize(rng.standard_normal((4, DIM)).astype(np.float32))
    return {
        "chunks": list(index.chunks),
        "vectors": index.vectors_for([c.id for c in index.chunks]).tobytes(),
        "records": index.records,
        "cited": {d: r.name for d, r in index.docs.items()},
        "dense": [[(h.chunk.id, h.score) for h in index.search(q, 5)] for q in queries],
        "bm25": [lexical.scores(terms(q)).tobytes() for q in QUERIES],
        "salient": [lexical.salient(terms(q), max_share=0.3) for q in QUERIES],
        "hybrid": [
            [(h.chunk.id, h.score) for h in version.search([q], queries[i][None, :], 5)]
            for i, q in enumerate(QUERIES)
        ],
    }


def scratch(writer: Corpus) -> dict[str, object]:
    """The writer's contents rebuilt from nothing: one index, one BM25 build."""
    index = writer.current.index
    fresh = FaissIndex(dim=DIM, embedder="test")
    if len(index):
        fresh._rebuild(list(index.chunks), index.vectors_for([c.id for c in index.chunks]))
    fresh._records = {r.path: r for r in index.records}
    lexical = BM25Index()
    lexical.rebuild(fresh.chunks)
    folder = writer.directory.parent / "scratch"
    shutil.rmtree(folder, ignore_errors=True)
    fresh.save(folder, extra=lexical.save)
    return state(open_corpus(folder))


# One step: (kind, document number, path number, chunk count, reader follows at once)
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "name", "remove", "remove-id"]),
        st.integers(0, 5),
        st.integers(0, 4),
        st.integers(1, 4),
        st.booleans(),
    ),
    min_size=1,
    max_size=24,
)


def apply(writer: Corpus, step: tuple[str, int, int, int, bool], tick: int) -> None:
    kind, doc, path, n, _ = step
    name = f"f{path}.txt"
    if kind == "add":  # new content at a path (replaces what the path named)
        doc_id = f"d{doc}-{tick}"
        writer.add_document(
            *content(doc_id, name, n), DocRecord(doc_id, f"/{name}", name, "t", n, 0)
        )
    elif kind == "name" and writer.documents:  # a second name of indexed content
        target = writer.documents[doc % len(writer.documents)]
        writer.add_name(DocRecord(target.doc_id, f"/{name}", name, "t", target.chunks, 1.0))
    elif kind.startswith("remove") and writer.documents:
        target = writer.documents[doc % len(writer.documents)]
        writer.remove(target.doc_id if kind == "remove-id" else target.path)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_following_deltas_equals_a_fresh_load_and_a_build_from_scratch(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int, int, int, bool]]
) -> None:
    folder = tmp_path_factory.mktemp("ix") / "index"
    writer = open_corpus(folder)
    reader = Counting(folder, RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.0)
    for tick, step in enumerate(steps):
        pinned = reader.current  # a turn in flight keeps this version
        seen = state(pinned)
        apply(writer, step, tick)
        if step[-1] or tick == len(steps) - 1:  # else: several deltas (or a compaction) later
            reader.reload()
            assert state(pinned) == seen, "following a delta changed the version a turn holds"
            assert reader.current.version == writer.current.version
            assert reader.current.chain == writer.current.chain
            assert state(reader) == state(writer)
    # One full load when opened, one when the first version appeared; then deltas only.
    assert reader.full_loads <= 2
    assert state(reader) == state(open_corpus(folder)) == scratch(writer)
    assert len(list(folder.glob("v-*"))) == int(writer.published)


def test_a_chain_is_compacted_and_followers_still_apply_only_the_change(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    writer = open_corpus(folder)
    reader = late = None
    for i in range(_journal.MAX_DELTAS + 3):
        if i == 1:
            reader = Counting(folder, RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.0)
            late = Counting(folder, RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.0)
        writer.add_document(
            *content(f"d{i}", f"{i}.txt", 2), DocRecord(f"d{i}", f"/{i}", f"{i}.txt", "t", 2, 0)
        )
        if reader is not None:
            reader.reload()
        chain = writer.current.chain
        assert chain is not None and len(chain.deltas) < _journal.MAX_DELTAS
    assert reader is not None and reader.full_loads == 1
    version = FaissIndex.current_version(folder)
    assert version is not None
    meta = json.loads((version / "meta.json").read_text())
    assert len(meta["chain"]["deltas"]) == 2, "a full version was published, then 2 deltas"
    assert state(reader) == state(open_corpus(folder)) == scratch(writer)
    assert late is not None
    late.reload()  # it slept through the compaction: catches up through the old chain
    assert late.full_loads == 1 and late.current.chain == writer.current.chain
    assert state(late) == state(reader)


def test_an_approximate_index_takes_deltas_for_adds_and_reloads_for_removals(
    tmp_path: Path,
) -> None:
    config = RetrievalConfig(index="ivf", ivf_nprobe=4)
    folder = tmp_path / "index"
    writer = open_corpus(folder, config)
    reader = None
    for i in range(6):
        if i == 1:
            reader = Counting(folder, config, dim=DIM, embedder="test", refresh_s=0.0)
        n = 200 if i == 0 else 10  # lists trained on 200 rows; 50 more do not retrain them
        writer.add_document(
            *content(f"d{i}", f"{i}.txt", n), DocRecord(f"d{i}", f"/{i}", f"{i}.txt", "t", n, 0)
        )
        if reader is not None:
            reader.reload()
    assert reader is not None
    assert writer.index.dense_kind == reader.index.dense_kind == "ivf"
    assert reader.full_loads == 1  # the first publish trained the lists; adds then extend them
    assert state(reader) == state(writer) == state(open_corpus(folder, config))
    writer.remove("d2")  # IVF is retrained without the rows: a full version
    reader.reload()
    assert reader.full_loads == 2
    assert reader.index.chunk("d2:0") is None and "d2" not in reader.current.index.docs
    assert state(reader) == state(writer)


def test_a_broken_delta_keeps_the_loaded_version_and_a_fresh_open_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "index"
    writer = open_corpus(folder)
    reader = open_corpus(folder)
    writer.add_document(*content("a", "a.txt", 3), DocRecord("a", "/a", "a.txt", "t", 3, 0))
    reader.reload()
    writer.add_document(*content("b", "b.txt", 3), DocRecord("b", "/b", "b.txt", "t", 3, 0))
    version = FaissIndex.current_version(folder)
    assert version is not None
    (delta,) = version.glob("delta-*.json")
    delta.write_text('[["add", 0, 9, []]]')  # does not fit its vectors
    with caplog.at_level(logging.WARNING), pytest.raises(IndexCorruptError, match="delta"):
        reader.reload()
    assert [d.name for d in reader.documents] == ["a.txt"], "nothing half-installed"
    with pytest.raises(IndexCorruptError, match="delta"):
        open_corpus(folder)


def test_an_index_written_before_deltas_opens_and_is_followed(tmp_path: Path) -> None:
    """The layout of earlier releases: no chain in meta.json, BM25 as bm25s files."""
    import bm25s  # type: ignore[import-untyped]

    folder = tmp_path / "index"
    old = FaissIndex(dim=DIM, embedder="test")
    chunks, vectors = content("old", "old.txt", 5)
    old.add(chunks, vectors, DocRecord("old", "/old", "old.txt", "t", 5, 0))

    def bm25s_files(target: Path) -> None:
        model = bm25s.BM25(k1=1.2, b=0.75)
        model.index([terms(c.text) for c in chunks], show_progress=False)
        model.save(str(target / "lexical"), show_progress=False)
        meta = {"format": 1, "fingerprint": "x", "rows": 5, "k1": 1.2, "b": 0.75}
        (target / "lexical" / "meta.json").write_text(json.dumps(meta))

    old.save(folder, extra=bm25s_files)
    version = FaissIndex.current_version(folder)
    assert version is not None
    meta = json.loads((version / "meta.json").read_text())
    for key in ("chain", "rows"):
        meta.pop(key, None)
    (version / "meta.json").write_text(json.dumps(meta))

    reader = Counting(folder, RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.0)
    writer = open_corpus(folder)
    assert [d.name for d in reader.documents] == ["old.txt"]
    assert reader.lexical.search("museum lighthouse ticket", 5) == writer.lexical.search(
        "museum lighthouse ticket", 5
    )
    for i in range(3):  # the first change is published in full (new lexical format)
        writer.add_document(
            *content(f"n{i}", f"n{i}.txt", 2), DocRecord(f"n{i}", f"/n{i}", f"n{i}.txt", "t", 2, 0)
        )
        reader.reload()
    assert reader.full_loads == 2
    assert state(reader) == state(open_corpus(folder)) == scratch(writer)


def test_a_delta_in_one_collection_is_not_seen_in_another(tmp_path: Path) -> None:
    with (
        Collections(tmp_path, RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.0) as w,
        Collections(tmp_path, RetrievalConfig(), dim=DIM, embedder="test", refresh_s=0.0) as r,
    ):
        for name in ("museum", "hr"):
            w.writable(name).add_document(
                *content(f"{name}0", "a.txt", 2), DocRecord(f"{name}0", "/a", "a.txt", "t", 2, 0)
            )
        museum, hr = r.open("museum"), r.open("hr")
        w.writable("museum").add_document(
            *content("secret", "b.txt", 2), DocRecord("secret", "/b", "b.txt", "t", 2, 0)
        )
        museum.reload()
        hr.reload()
        assert [d.doc_id for d in museum.documents] == ["museum0", "secret"]
        assert [d.doc_id for d in hr.documents] == ["hr0"]
        assert all(c.doc_id == "hr0" for c in hr.index.chunks)
        assert hr.index.chunk("secret:0") is None
