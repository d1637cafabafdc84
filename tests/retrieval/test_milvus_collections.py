"""The engine's Milvus backend serves every collection, each mirrored from its own folder.

Real Milvus Lite throughout; the engines use a bag-of-hashed-words embedder so they build
in milliseconds (the ranking itself is tested with MiniLM in ``test_milvus.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts
from contextual_avatar.errors import InputError
from contextual_avatar.retrieval import (
    Collections,
    DocRecord,
    FaissIndex,
    MilvusIndex,
    MilvusRetriever,
    RetrievalConfig,
)
from contextual_avatar.retrieval._backend import MilvusBackend
from contextual_avatar.testing import RetrieverContract
from contextual_avatar.testing._contract_retriever import corpus
from contextual_avatar.testing._redis_cluster import cluster_port
from contextual_avatar.types import Chunk
from tests.reliability.live_child import HashEmbedder

DIM = 16
GUIDES = {
    "museum": "The harbour museum opens at ten. Tickets cost nine euros for adults. ",
    "hr": "Holiday requests go to the people team. Tickets for the staff party cost five. ",
    "sales": "The premium plan costs forty euros. Tickets to the sales summit cost twenty. ",
}
names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


class Mirror:
    """A stand-in corpus: what a :class:`MilvusRetriever` mirrors is its ``index``."""

    def __init__(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        self.index = FaissIndex(dim=vectors.shape[1], embedder="test")
        for doc in sorted({c.doc_id for c in chunks}):
            rows = [i for i, c in enumerate(chunks) if c.doc_id == doc]
            record = DocRecord(doc, f"/x/{doc}.md", f"{doc}.md", "text", len(rows), 0)
            self.index.add([chunks[i] for i in rows], vectors[rows], record)


def backend(index: MilvusIndex) -> MilvusBackend:
    return MilvusBackend(index, dense_weight=1.0, lexical_weight=0.3, candidates=64, doc_prior=0)


@pytest.fixture(scope="module")
def own_path(milvus_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Milvus Lite file of this module's own: no other module's client closes its server."""
    return tmp_path_factory.mktemp("milvus-backend") / "backend.db"


@pytest.fixture(scope="module")
def index(own_path: Path) -> Iterator[MilvusIndex]:
    store = MilvusIndex(str(own_path), dim=DIM, prefix=f"b{uuid.uuid4().hex[:8]}")
    yield store
    store.close()


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=names, b=names)
def test_one_backend_keeps_every_collection_apart(index: MilvusIndex, a: str, b: str) -> None:
    if a == b:
        return
    for name in (a, b):
        index.drop(name)
    served = backend(index)
    mine, vectors = corpus("mine", dim=DIM, seed=1)
    theirs, _ = corpus("theirs", dim=DIM, seed=2)
    mirrors = {a: Mirror(mine, vectors), b: Mirror(theirs, vectors)}
    crossed = 0
    for name, own in ((a, "mine"), (b, "theirs")):
        retriever = served.retriever(name, mirrors[name])
        assert served.retriever(name, mirrors[name]) is retriever  # one per collection
        for i in range(len(mine)):
            found = retriever.search([mine[i].text], vectors[i : i + 1], 20)
            assert found
            crossed += sum(sc.chunk.doc_id != own for sc in found)
    assert crossed == 0
    served.dropped(a)
    assert index.count(a) == 0
    assert index.count(b) == len(theirs)
    # Made again with the same chunks: the backend forgot what it had mirrored.
    assert served.retriever(a, mirrors[a]).sync() == len(mine)
    assert index.count(a) == len(mine)


def test_a_bad_collection_name_is_refused(index: MilvusIndex) -> None:
    chunks, vectors = corpus("a", dim=DIM, seed=1)
    with pytest.raises(InputError, match="collection"):
        backend(index).retriever("../etc", Mirror(chunks, vectors))


def test_a_publish_while_milvus_is_down_is_logged_and_caught_up_later(
    tmp_path: Path, own_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chunks, vectors = corpus("kb", dim=DIM, seed=7)
    with Collections(tmp_path, RetrievalConfig(), dim=DIM, embedder="test") as collections:
        collections.writable("kb").add_document(
            chunks, vectors, DocRecord("kb", "/x/kb.md", "kb.md", "text", len(chunks), 0)
        )
        port = cluster_port(set())
        down = backend(MilvusIndex(f"http://127.0.0.1:{port}", dim=DIM, timeout_s=1.0))
        with caplog.at_level(logging.WARNING):
            assert down.publish("kb", collections) == 0
        assert "Milvus not updated yet" in caplog.text
        up = backend(MilvusIndex(str(own_path), dim=DIM, prefix=f"p{uuid.uuid4().hex[:8]}"))
        try:
            assert up.publish("kb", collections) == len(chunks)
            assert set(up.index.ids("kb")) == {c.id for c in chunks}
            assert up.publish("kb", collections) == 0  # nothing changed since
        finally:
            up.close()


class TestMirroredMilvusRetriever(RetrieverContract):
    """A backend's retriever, filled from its mirror (not written directly)."""

    @pytest.fixture
    def make_retriever(self, own_path: Path) -> Iterator[Callable[..., object]]:
        index = MilvusIndex(str(own_path), dim=self.dim, prefix=f"m{uuid.uuid4().hex[:8]}")
        served = backend(index)

        def make(chunks: Sequence[Chunk], vectors: np.ndarray, collection: str) -> object:
            index.drop(collection)
            return served.retriever(collection, Mirror(chunks, vectors))

        yield make
        index.close()


# -- the engine --------------------------------------------------------------------------


def guide(folder: Path, name: str, text: str | None = None) -> Path:
    path = folder / f"{name}-guide.md"
    path.write_text((text or GUIDES[name]) * 8, encoding="utf-8")
    return path


@pytest.fixture
async def engine(tmp_path: Path, own_path: Path) -> AsyncIterator[AsyncContextEngine]:
    cfg = EngineConfig(
        data_dir=tmp_path / "data",
        knowledge={"backend": "none"},
        cache={"enabled": False},
        retrieval={"backend": "milvus", "milvus_uri": str(tmp_path / "engine-milvus.db")},
    )
    async with AsyncContextEngine(cfg, parts=Parts(embedder=HashEmbedder())) as made:
        for name in ("museum", "hr"):
            await made.ingest(guide(tmp_path, name), collection=name)
        await made.ingest(guide(tmp_path, "sales"))
        yield made


def milvus_of(engine: AsyncContextEngine) -> MilvusIndex:
    searcher = engine.parts.retriever
    assert isinstance(searcher, MilvusRetriever)
    return searcher.index


def local_ids(engine: AsyncContextEngine, collection: str) -> set[str]:
    return {c.id for c in engine._built.collections.open(collection).index.chunks}


async def test_every_collection_is_searched_in_its_own_milvus_collection(
    engine: AsyncContextEngine,
) -> None:
    milvus = milvus_of(engine)
    for collection, source in (("museum", "museum"), ("hr", "hr"), ("default", "sales")):
        answer = await engine.ask(f"s-{collection}", "How much are tickets?", collection=collection)
        assert {c.source for c in answer.citations} == {f"{source}-guide.md"}
        assert {sc.chunk.id for sc in answer.context} <= local_ids(engine, collection)
        # Milvus holds exactly the collection's published chunks (the turn synced it).
        assert set(milvus.ids(collection)) == local_ids(engine, collection)
    assert milvus.name("museum") == f"ca_{b'museum'.hex()}"


async def test_ingest_and_remove_reach_milvus_without_a_search(
    engine: AsyncContextEngine, tmp_path: Path
) -> None:
    """An ingest worker that never answers still fills Milvus for the searching machines."""
    milvus = milvus_of(engine)
    for collection in ("museum", "hr", "default"):
        assert set(milvus.ids(collection)) == local_ids(engine, collection)
    before = local_ids(engine, "museum")
    await engine.ingest(
        guide(tmp_path, "ferry", "The ferry departs hourly from the museum pier. "),
        collection="museum",
    )
    ferry = local_ids(engine, "museum") - before
    assert ferry
    # Another machine: its own client, no data folder, no mirror.
    remote = MilvusIndex(milvus.uri, dim=milvus.dim)
    try:
        searcher = MilvusRetriever(remote, collection="museum")
        question = "When does the ferry depart from the pier?"
        vector = HashEmbedder().embed([question])
        assert {sc.chunk.id for sc in searcher.search([question], vector, 3)} & ferry
        await engine.remove("ferry-guide.md", collection="museum")
        assert not {sc.chunk.id for sc in searcher.search([question], vector, 7)} & ferry
        assert set(remote.ids("museum")) == before
        assert not set(remote.ids("hr")) & before  # nothing crossed collections
    finally:
        remote.close()


async def test_a_dropped_collection_is_dropped_in_milvus(
    engine: AsyncContextEngine, tmp_path: Path
) -> None:
    milvus = milvus_of(engine)
    await engine.ask("s", "How much are tickets?", collection="hr")
    await engine.ask("m", "How much are tickets?", collection="museum")
    assert milvus.count("hr") > 0
    await engine.drop_collection("hr")
    assert milvus.count("hr") == 0
    assert milvus.count("museum") > 0  # another collection untouched
    # The same document again, into the same name: Milvus is filled again.
    await engine.ingest(guide(tmp_path, "hr"), collection="hr")
    again = await engine.ask("t", "How much are tickets?", collection="hr")
    assert {c.source for c in again.citations} == {"hr-guide.md"}
    assert set(milvus.ids("hr")) == local_ids(engine, "hr")
    # Dropping the default empties it, in Milvus too, and it fills again the same way.
    await engine.ask("u", "How much are tickets?")
    await engine.drop_collection("default")
    assert milvus.count("default") == 0
    await engine.ingest(guide(tmp_path, "sales"))
    answer = await engine.ask("v", "How much are tickets?")
    assert {c.source for c in answer.citations} == {"sales-guide.md"}
    assert set(milvus.ids("default")) == local_ids(engine, "default")
