"""The sentence vector store: written at ingest, read by every process, never fails a turn."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar import ContextEngine, Parts
from contextual_avatar.retrieval import MiniLMEmbedder
from contextual_avatar.routing import SentenceStore, SentenceVectors
from contextual_avatar.routing._sentence_store import STORE_FILE

QUESTION = "How much does a ticket cost?"
TEXTS = [
    "The museum opens at nine. Tickets cost twelve euros. Children enter free.",
    "Guided tours leave every hour. They last forty minutes.",
]


class Counting:
    """The real embedder, recording every text it is asked to embed."""

    def __init__(self, inner: MiniLMEmbedder, name: str | None = None) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.name = name or inner.name
        self.texts: list[str] = []
        self.lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        with self.lock:
            self.texts.extend(texts)
        return self.inner.embed(texts)


def _ask(engine: ContextEngine) -> tuple[str, list[str]]:
    answer = engine.ask("reader", QUESTION)
    return answer.text, [repr(c) for c in answer.citations]


def test_ingest_stores_sentence_vectors_and_a_second_engine_reads_them_without_embedding(
    make_engine: Callable[..., ContextEngine],
    embedder: MiniLMEmbedder,
    guide_pdf: Path,
    tmp_path: Path,
) -> None:
    ingesting = Counting(embedder)
    with make_engine(Parts(embedder=ingesting)) as engine:
        engine.ingest(guide_pdf)
    store = SentenceStore(tmp_path / "data" / STORE_FILE, model=embedder.name, dim=embedder.dim)
    assert len(store) > 0
    at_ingest = set(ingesting.texts)

    answering = Counting(embedder)
    with make_engine(Parts(embedder=answering)) as engine:
        with_store = _ask(engine)
    assert at_ingest.isdisjoint(answering.texts), "a stored sentence was embedded again"
    assert store.get([SentenceVectors.key(QUESTION)]) == {}  # content only, no questions

    # Control on another folder with the store deleted: the sentences are embedded per
    # turn again, and the answer is the same.
    other = tmp_path / "other"
    with make_engine(Parts(embedder=Counting(embedder)), data_dir=other) as engine:
        engine.ingest(guide_pdf)
    (other / STORE_FILE).unlink()
    cold = Counting(embedder)
    with make_engine(Parts(embedder=cold), data_dir=other) as engine:
        without_store = _ask(engine)
    assert not at_ingest.isdisjoint(cold.texts)
    assert with_store == without_store


def test_vectors_are_keyed_by_embedder_name(embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    path = tmp_path / STORE_FILE
    writer = Counting(embedder)
    store_a = SentenceStore(path, model="a", dim=embedder.dim)
    assert SentenceVectors(writer.embed, store=store_a).warm(TEXTS) == 5  # sentences
    assert SentenceVectors(writer.embed, store=store_a).warm(TEXTS) == 0
    assert len(writer.texts) == 5

    same = Counting(embedder)
    got = SentenceVectors(same.embed, store=SentenceStore(path, model="a", dim=embedder.dim)).of(
        TEXTS
    )
    assert same.texts == []
    other = Counting(embedder, name="b")
    fresh = SentenceVectors(other.embed, store=SentenceStore(path, model="b", dim=embedder.dim)).of(
        TEXTS
    )
    assert len(other.texts) == sum(len(spans) for spans, _ in fresh) > 0
    for (spans, vectors), (spans2, vectors2) in zip(got, fresh, strict=True):
        assert spans == spans2
        np.testing.assert_allclose(vectors, vectors2, atol=1e-5)


_WORKER = """
import sys
import numpy as np
from pathlib import Path
from contextual_avatar.routing import SentenceStore

store = SentenceStore(Path(sys.argv[1]), model="m", dim=4)
seed = int(sys.argv[2])
bad = 0
for round_ in range(40):
    keys = [f"k{(seed * 7 + round_ * 3 + i) % 60}" for i in range(8)]
    store.put({k: np.full(4, int(k[1:]), dtype=np.float32) for k in keys})
    for k, vector in store.get(keys).items():
        bad += not np.all(vector == int(k[1:]))
print(bad)
"""


def test_concurrent_writers_and_readers_in_two_processes_do_not_corrupt_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / STORE_FILE
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    reader = SentenceStore(path, model="m", dim=4)
    seen_bad = 0
    while any(w.poll() is None for w in workers):
        for k, vector in reader.get([f"k{i}" for i in range(60)]).items():
            seen_bad += not np.all(vector == int(k[1:]))
    outputs = [w.communicate(timeout=60)[0].strip() for w in workers]
    assert outputs == ["0", "0"]
    assert seen_bad == 0
    final = reader.get([f"k{i}" for i in range(60)])
    assert len(final) == len(reader) > 30
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_corrupt_store_falls_back_to_embedding_with_one_warning(
    embedder: MiniLMEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / STORE_FILE
    path.write_bytes(b"not a database, " * 512)
    counting = Counting(embedder)
    store = SentenceStore(path, model="m", dim=embedder.dim)
    vectors = SentenceVectors(counting.embed, store=store)
    with caplog.at_level(logging.WARNING):
        first = vectors.of(TEXTS[:1])
        vectors.of(TEXTS[1:])
    assert [s for s, _ in first] and first[0][1].shape == (len(first[0][0]), embedder.dim)
    warnings = [r for r in caplog.records if "sentence vector store" in r.getMessage()]
    assert len(warnings) == 1
    assert len(counting.texts) == sum(len(s) for s, _ in vectors.of(TEXTS))


def test_a_stored_vector_of_another_size_is_embedded_again(
    embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    path = tmp_path / STORE_FILE
    store = SentenceStore(path, model="m", dim=embedder.dim)
    store.put({"warm": np.zeros(embedder.dim, dtype=np.float32)})  # creates the table
    sentence = "Tickets cost twelve euros."
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO sentences VALUES ('m', ?, ?)", (SentenceVectors.key(sentence), b"\0" * 12)
        )
    assert store.get([SentenceVectors.key(sentence)]) == {}
    counting = Counting(embedder)
    ((_spans, matrix),) = SentenceVectors(counting.embed, store=store).of([sentence])
    assert counting.texts == [sentence]
    assert matrix.shape == (1, embedder.dim)
    np.testing.assert_allclose(matrix[0], embedder.embed([sentence])[0], atol=1e-5)


def test_a_piece_joining_two_chunks_embeds_only_its_new_sentences(
    embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    store = SentenceStore(tmp_path / STORE_FILE, model="m", dim=embedder.dim)
    SentenceVectors(embedder.embed, store=store).warm(TEXTS)
    counting = Counting(embedder)
    ((spans, _),) = SentenceVectors(counting.embed, store=store).of([" ".join(TEXTS)])
    assert len(spans) == 5
    assert counting.texts == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), max_size=6), st.integers(1, 8))
def test_vectors_round_trip(keys: list[str], dim: int) -> None:
    import tempfile

    rng = np.random.default_rng(len(keys) * 10 + dim)
    vectors = {k: rng.standard_normal(dim).astype(np.float32) for k in keys}
    with tempfile.TemporaryDirectory() as tmp:
        store = SentenceStore(Path(tmp) / STORE_FILE, model="m", dim=dim)
        store.put(vectors)
        got = store.get(keys)
        assert SentenceStore(Path(tmp) / STORE_FILE, model="n", dim=dim).get(keys) == {}
    assert set(got) == set(vectors)
    for k, v in vectors.items():
        assert got[k].dtype == np.float32
        np.testing.assert_array_equal(got[k], v)


class _Quoting:
    """A host's own tier (stands in for an LLM): answers with the first context chunk."""

    model = "host-model"

    async def respond(self, question, *, context, history):  # type: ignore[no-untyped-def]
        from contextual_avatar.routing import Reply
        from contextual_avatar.types import TokenUsage

        text = context[0].chunk.text if context else "I do not know."
        return Reply(text, (), TokenUsage(prompt=1, completion=1), 0.0, self.model)


def test_llm_only_tiers_do_not_pay_for_sentence_vectors_at_ingest(
    make_engine: Callable[..., ContextEngine],
    embedder: MiniLMEmbedder,
    guide_pdf: Path,
    tmp_path: Path,
) -> None:
    counting = Counting(embedder)
    tier = _Quoting()
    with make_engine(Parts(embedder=counting, small=tier, large=tier)) as engine:
        report = engine.ingest(guide_pdf)
        assert engine.ask("reader", QUESTION).text
    chunk_texts = len(counting.texts)
    store = SentenceStore(tmp_path / "data" / STORE_FILE, model=embedder.name, dim=embedder.dim)
    assert len(store) == 0  # nothing warmed: no tier reads sentence vectors
    assert report.chunks > 0 and chunk_texts <= report.chunks + 2  # chunks and queries only


def test_each_thread_reuses_its_connection_and_a_replaced_file_is_read_anew(
    tmp_path: Path,
) -> None:
    path = tmp_path / STORE_FILE
    store = SentenceStore(path, model="m", dim=4)
    store.put({"a": np.ones(4, dtype=np.float32)})
    assert store.get(["a"]).keys() == {"a"}
    mine = store._local.held[2]
    assert store.get(["a"]).keys() == {"a"} and store._local.held[2] is mine

    theirs: list[sqlite3.Connection] = []

    def read() -> None:
        assert store.get(["a"]).keys() == {"a"}
        theirs.append(store._local.held[2])

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    assert theirs and theirs[0] is not mine  # sqlite3 connections stay in their thread

    for leftover in tmp_path.glob(STORE_FILE + "*"):  # the file and its WAL
        leftover.unlink()
    SentenceStore(path, model="m", dim=4).put({"b": np.full(4, 2, dtype=np.float32)})
    assert store.get(["a", "b"]).keys() == {"b"}
