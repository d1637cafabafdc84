"""Collections: many knowledge bases in one engine, sessions bound to one, nothing crossing.

Real parts throughout (FAISS, BM25, memory and real Redis stores); the embedder is a
bag of hashed words so an engine builds in milliseconds and Hypothesis can try many.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar import AsyncContextEngine, EngineConfig, InputError, Parts
from contextual_avatar.cache import scoped_session
from contextual_avatar.retrieval import DocRecord, FaissIndex, normalize
from contextual_avatar.testing import RedisServer
from contextual_avatar.types import Chunk, SourceRef, Span
from tests.reliability.live_child import HashEmbedder

GUIDES = {
    "museum": "The harbour museum opens at ten. Tickets cost nine euros for adults. ",
    "hr": "Holiday requests go to the people team. Tickets for the staff party cost five. ",
    "sales": "The premium plan costs forty euros. Tickets to the sales summit cost twenty. ",
}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with RedisServer(tmp_path_factory.mktemp("redis-collections")) as server:
        yield server.url


def make(data_dir: Path, store: str = "memory", redis_url: str = "") -> AsyncContextEngine:
    cache: dict[str, Any] = {"store": store}
    if store == "redis":
        cache |= {"redis_url": redis_url, "key_prefix": f"coll:{uuid.uuid4().hex[:10]}"}
    cfg = EngineConfig(data_dir=data_dir, knowledge={"backend": "none"}, cache=cache)
    return AsyncContextEngine(cfg, parts=Parts(embedder=HashEmbedder()))


def guide(folder: Path, name: str, text: str | None = None) -> Path:
    path = folder / f"{name}-guide.md"
    path.write_text((text or GUIDES[name]) * 8, encoding="utf-8")
    return path


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncContextEngine]:
    async with make(tmp_path / "data") as made:
        for name in ("museum", "hr"):
            await made.ingest(guide(tmp_path, name), collection=name)
        await made.ingest(guide(tmp_path, "sales"))
        yield made


async def test_each_collection_has_its_folder_and_the_default_keeps_todays(
    engine: AsyncContextEngine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert (data / "index" / "CURRENT").is_file()
    assert (data / "collections" / "museum" / "CURRENT").is_file()
    assert await engine.list_collections() == ["default", "hr", "museum"]
    assert [d.name for d in await engine.list_documents("museum")] == ["museum-guide.md"]
    assert [d.name for d in await engine.list_documents()] == ["sales-guide.md"]
    assert [d.name for d in engine.documents] == ["sales-guide.md"]


async def test_a_data_folder_written_before_collections_opens_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    embedder = HashEmbedder()
    text = "The lighthouse has 120 steps and opens in summer."
    index = FaissIndex(dim=embedder.dim, embedder=embedder.name)
    chunk = Chunk("old:0", "old", 0, text, (Span(0, len(text), SourceRef("old.md")),))
    index.add(
        [chunk],
        normalize(embedder.embed([text])),
        DocRecord("old", "/x/old.md", "old.md", "text", 1, 0.0),
    )
    index.save(data / "index")  # the layout every earlier release wrote
    async with make(data) as engine:
        assert [d.name for d in engine.documents] == ["old.md"]
        answer = await engine.ask("s", "How many steps does the lighthouse have?")
        assert [c.source for c in answer.citations] == ["old.md"]


async def test_a_session_is_bound_to_its_first_collection(engine: AsyncContextEngine) -> None:
    first = await engine.ask("s", "How much are tickets?", collection="museum")
    assert {c.source for c in first.citations} == {"museum-guide.md"}
    with pytest.raises(InputError, match="answers from collection 'museum', not 'hr'"):
        await engine.ask("s", "How much are tickets?", collection="hr")
    with pytest.raises(InputError, match="'museum', not 'default'"):
        await engine.ask("s", "How much are tickets?")
    store = engine.parts.store
    assert store is not None
    assert await store.entries(scoped_session("hr", "s")) == []
    assert await store.entries("s") == []
    await engine.forget("s")
    assert await store.entries(scoped_session("museum", "s")) == []
    again = await engine.ask("s", "How much are tickets?", collection="hr")
    assert {c.source for c in again.citations} == {"hr-guide.md"}


@pytest.mark.parametrize(
    "name", ["../etc", "a/b", "Museum", "a\nb", "x" * 10_000, "", "-x", "a\0b", 7]
)
async def test_bad_collection_names_are_refused_everywhere_and_write_nothing(
    engine: AsyncContextEngine, tmp_path: Path, name: Any
) -> None:
    before = sorted(p.name for p in (tmp_path / "data").rglob("*"))
    for call in (
        engine.ask("s", "q?", collection=name),
        engine.ingest(guide(tmp_path, "museum"), collection=name),
        engine.list_documents(name),
        engine.remove("museum-guide.md", collection=name),
        engine.drop_collection(name),
    ):
        with pytest.raises(InputError, match="collection must be 1-64 characters") as info:
            await call
        assert len(str(info.value)) < 300
    assert sorted(p.name for p in (tmp_path / "data").rglob("*")) == before


async def test_an_unknown_collection_is_a_clear_error(engine: AsyncContextEngine) -> None:
    for call in (
        engine.ask("s", "q?", collection="nope"),
        engine.list_documents("nope"),
        engine.remove("x.md", collection="nope"),
        engine.drop_collection("nope"),
    ):
        with pytest.raises(InputError, match=r"unknown collection 'nope'.*default, hr, museum"):
            await call


async def test_removing_what_is_not_there_is_a_clear_error(engine: AsyncContextEngine) -> None:
    with pytest.raises(InputError, match=r"collection 'museum': no document 'hr-guide\.md'"):
        await engine.remove("hr-guide.md", collection="museum")


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_a_removed_document_leaves_answers_caches_and_citations(
    store: str, tmp_path: Path, redis_url: str
) -> None:
    async with make(tmp_path / "data", store, redis_url) as engine:
        await engine.ingest(guide(tmp_path, "museum"), collection="museum")
        await engine.ingest(
            guide(tmp_path, "ferry", "The ferry departs hourly from the museum pier. "),
            collection="museum",
        )
        question = "When does the ferry depart from the pier?"
        first = await engine.ask("s", question, collection="museum")
        assert "ferry-guide.md" in {c.source for c in first.citations}
        cached = await engine.parts.store.entries(scoped_session("museum", "s"))  # type: ignore[union-attr]
        ferry = {e.chunk.doc_id for e in cached if "ferry" in e.chunk.text}
        assert ferry, "the ferry's chunks are in the session cache"
        removed = await engine.remove("ferry-guide.md", collection="museum")
        assert [r.name for r in removed] == ["ferry-guide.md"]
        # The same question again would be a cache hit on the ferry's chunks.
        for again in (question, "How much are tickets?"):
            after = await engine.ask("s", again, collection="museum")
            assert not {c.chunk.doc_id for c in after.context} & ferry
            assert "ferry-guide.md" not in {c.source for c in after.citations}
            assert "ferry" not in after.text.lower()


async def test_a_dropped_collection_is_gone_for_its_sessions(engine: AsyncContextEngine) -> None:
    await engine.ask("s", "How much are tickets?", collection="hr")
    assert await engine.drop_collection("hr") == 1
    assert await engine.list_collections() == ["default", "museum"]
    with pytest.raises(InputError, match="unknown collection 'hr'"):
        await engine.ask("s", "How much are tickets?", collection="hr")


async def test_a_host_retriever_serves_the_default_collection_only(tmp_path: Path) -> None:
    class Nothing:
        def search(self, texts, vectors, k, *, state=None):  # type: ignore[no-untyped-def]
            return []

    parts = Parts(embedder=HashEmbedder(), retriever=Nothing())
    async with AsyncContextEngine(
        EngineConfig(data_dir=tmp_path / "d", knowledge={"backend": "none"}), parts=parts
    ) as engine:
        await engine.ingest(guide(tmp_path, "museum"), collection="museum")
        with pytest.raises(InputError, match=r"Parts\.retriever"):
            await engine.ask("s", "Tickets?", collection="museum")


# -- the isolation property ---------------------------------------------------------------

names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)
plans = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.sampled_from(sorted(GUIDES))),
    min_size=1,
    max_size=8,
)


@pytest.mark.parametrize("store", ["memory", "redis"])
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    collections=st.lists(names, min_size=3, max_size=3, unique=True),
    sessions=st.lists(st.text(min_size=1, max_size=30), min_size=4, max_size=4, unique=True),
    plan=plans,
)
async def test_no_session_sees_another_collections_chunks_cache_or_citations(
    store: str, redis_url: str, collections: list[str], sessions: list[str], plan: list[Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with make(folder / "data", store, redis_url) as engine:
            owned: dict[str, set[str]] = {}
            for collection, topic in zip(collections, sorted(GUIDES), strict=True):
                text = GUIDES[topic] + f"This is the {collection} collection. "
                report = await engine.ingest(guide(folder, topic, text), collection=collection)
                owned[collection] = {report.doc_id}
            bound: dict[str, str] = {}
            for s, c, topic in plan:
                session, collection = sessions[s], collections[c]
                question = f"What does {GUIDES[topic].split('.')[1].strip()} mean?"
                if bound.setdefault(session, collection) != collection:
                    with pytest.raises(InputError):
                        await engine.ask(session, question, collection=collection)
                    continue
                answer = await engine.ask(session, question, collection=collection)
                assert {c.chunk.doc_id for c in answer.context} <= owned[collection]
                names_ok = {f"{t}-guide.md" for t in GUIDES} - {
                    f"{t}-guide.md"
                    for t, other in zip(sorted(GUIDES), collections, strict=True)
                    if other != collection
                }
                assert {c.source for c in answer.citations} <= names_ok
            stored = engine.parts.store
            assert stored is not None
            for session in sessions:
                for collection in collections:
                    entries = await stored.entries(scoped_session(collection, session))
                    if bound.get(session) != collection:
                        assert entries == [], "nothing cached outside the bound collection"
                    assert {e.chunk.doc_id for e in entries} <= owned[collection]
