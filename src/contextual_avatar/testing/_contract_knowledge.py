"""The :class:`~contextual_avatar.knowledge.KnowledgeGraphSink` contract, as tests a host reuses.

A host with its own sink subclasses :class:`KnowledgeGraphSinkContract` in a test module and
provides one fixture, ``sink``; the inherited tests then check exactly what the protocol
promises, through its methods only, so the engine and the background writer can rely
on the host's sink as they do on the bundled ones::

    import pytest
    from contextual_avatar.testing import KnowledgeGraphSinkContract

    class TestMySink(KnowledgeGraphSinkContract):
        @pytest.fixture
        async def sink(self, tmp_path):
            sink = MySink(tmp_path / "graph")
            yield sink
            await sink.close()

The tests are coroutines: they need pytest-asyncio in ``auto`` mode (in ``strict`` mode, put
``pytestmark = pytest.mark.asyncio`` on the subclass and declare the fixture with
``pytest_asyncio.fixture``). Each test writes facts under fresh random keys, collections and
session ids starting with :attr:`KnowledgeGraphSinkContract.session_prefix`, so a sink on a
shared store works too; each test forgets its sessions afterwards.

The module needs no test library itself (plain ``assert`` with messages, no pytest import),
so it also runs under a host's own harness.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Sequence
from typing import ClassVar

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import ANSWERED_BY, KnowledgeGraphSink, fact_id, session_key
from contextual_avatar.types import Fact, SourceRef

__all__ = ["HOSTILE_STRINGS", "KnowledgeGraphSinkContract", "vote"]

#: Text that breaks naive query building, escaping or encoding; stored and found verbatim.
HOSTILE_STRINGS: tuple[str, ...] = (
    'O\'Brien "quoted"',
    "back`tick`",
    "x'}) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n RETURN 1 //',
    "'); DROP TABLE facts; --",
    "line one\nline two\r\n",
    "$param {braces} [brackets] ; -- comment",
    "Ünïcödé Straße 東京 \u200b zero-width",
    "emoji 🧪🔥 and RTL \u202e evil",
    "\\ backslash \\' \\\"",
    "",
)


def _word() -> str:
    """A key, chunk id or collection no other test (or earlier run) has used."""
    return f"kgc{uuid.uuid4().hex[:12]}"


def vote(
    session_id: str,
    key: str,
    chunk_id: str,
    *,
    collection: str,
    created_at: float = 1000.0,
    sources: tuple[SourceRef, ...] = (),
    predicate: str = ANSWERED_BY,
) -> Fact:
    """The fact a session records when ``chunk_id`` answered a question with ``key``."""
    who = session_key(session_id)
    return Fact(
        id=fact_id(collection=collection, key=key, chunk_id=chunk_id, session=who)
        + ("" if predicate == ANSWERED_BY else f"-{predicate}"),
        subject=key,
        predicate=predicate,
        object=chunk_id,
        session_id=who,
        turn=0,
        sources=sources,
        created_at=created_at,
        collection=collection,
    )


def _chunks(facts: Sequence[Fact]) -> list[str]:
    return [f.object for f in facts]


async def _refuses(call: Awaitable[object], what: str) -> None:
    try:
        await call
    except StoreUnavailable:
        return
    raise AssertionError(f"{what} on a closed sink did not raise StoreUnavailable")


class KnowledgeGraphSinkContract:
    """Tests every :class:`~contextual_avatar.knowledge.KnowledgeGraphSink` must pass.

    Subclass it as ``Test...`` and define a ``sink`` fixture that yields a fresh sink and
    closes it afterwards (closing twice must be harmless: one test closes it itself).
    """

    #: Every session id the tests write starts with this (for cleanup on shared stores).
    session_prefix: ClassVar[str] = "kg-contract-"

    def _session(self, name: str = "") -> str:
        return f"{self.session_prefix}{uuid.uuid4().hex[:8]}-{name}"

    async def test_is_a_knowledge_graph_sink(self, sink: KnowledgeGraphSink) -> None:
        """The protocol is runtime-checkable: every method is present."""
        assert isinstance(sink, KnowledgeGraphSink), f"{type(sink)!r} lacks a protocol method"

    async def test_write_is_idempotent_and_one_session_is_one_vote(
        self, sink: KnowledgeGraphSink
    ) -> None:
        """A replay changes nothing; a session repeating itself does not outvote others."""
        col, key, a, b = _word(), _word(), _word(), _word()
        loud, quiet1, quiet2 = self._session("loud"), self._session("q1"), self._session("q2")
        facts = [vote(loud, key, a, collection=col)] * 3
        await asyncio.gather(sink.write(facts), sink.write(facts))
        await sink.write(
            [vote(quiet1, key, b, collection=col), vote(quiet2, key, b, collection=col)]
        )
        found = await sink.related([key], collection=col)
        assert _chunks(found) == [b, a], f"votes are per session, got {_chunks(found)}"
        for s in (loud, quiet1, quiet2):
            await sink.forget(s)

    async def test_related_ranks_by_keys_matched_and_returns_at_most_limit(
        self, sink: KnowledgeGraphSink
    ) -> None:
        col, k1, k2 = _word(), _word(), _word()
        s = self._session()
        both, one = _word(), _word()
        others = [_word() for _ in range(4)]
        await sink.write(
            [
                vote(s, k1, both, collection=col, created_at=1.0),
                vote(s, k2, both, collection=col, created_at=1.0),
                vote(s, k1, one, collection=col, created_at=5.0),
                *(vote(s, k2, o, collection=col, created_at=2.0) for o in others),
            ]
        )
        found = await sink.related([k1, k2], 10, collection=col)
        assert _chunks(found)[0] == both, "the chunk matching most keys comes first"
        assert sorted(_chunks(found)) == sorted([both, one, *others]), "one entry per chunk"
        assert found[0].score == 2.0
        assert all(f.score >= 1.0 for f in found)
        for limit in (0, 1, 3):
            assert len(await sink.related([k1, k2], limit, collection=col)) == limit
        await sink.forget(s)

    async def test_knowledge_never_crosses_collections(self, sink: KnowledgeGraphSink) -> None:
        """The same key in another knowledge base finds nothing."""
        key, chunk = _word(), _word()
        s = self._session()
        mine, theirs = _word(), _word()
        await sink.write([vote(s, key, chunk, collection=mine)])
        assert _chunks(await sink.related([key], collection=mine)) == [chunk]
        assert await sink.related([key], collection=theirs) == []
        assert await sink.related([key], collection="") == []
        await sink.forget(s)

    async def test_who_taught_is_never_returned(self, sink: KnowledgeGraphSink) -> None:
        col, key, chunk = _word(), _word(), _word()
        s = self._session("secret-name")
        await sink.write(
            [vote(s, key, chunk, collection=col, sources=(SourceRef("a.pdf", page=2),))]
        )
        (got,) = await sink.related([key], collection=col)
        assert got.session_id == "", "a served fact must not carry a session"
        assert s not in repr(got)
        assert session_key(s) not in repr(got)
        assert (got.object, got.predicate, got.collection) == (chunk, ANSWERED_BY, col)
        assert got.sources == (SourceRef("a.pdf", page=2),)
        await sink.forget(s)

    async def test_related_can_leave_out_the_asking_session(self, sink: KnowledgeGraphSink) -> None:
        col, key = _word(), _word()
        me, them = self._session("me"), self._session("them")
        mine, theirs = _word(), _word()
        await sink.write(
            [vote(me, key, mine, collection=col), vote(them, key, theirs, collection=col)]
        )
        assert _chunks(await sink.related([key], collection=col, exclude_session=me)) == [theirs]
        assert sorted(_chunks(await sink.related([key], collection=col))) == sorted([mine, theirs])
        for s in (me, them):
            await sink.forget(s)

    async def test_only_grounded_votes_are_served(self, sink: KnowledgeGraphSink) -> None:
        """Facts of another kind (as older releases stored) are kept but never returned."""
        col, key = _word(), _word()
        s = self._session()
        await sink.write([vote(s, key, "text a caller typed", collection=col, predicate="asked")])
        assert await sink.related([key], collection=col) == []
        await sink.forget(s)

    async def test_retention_since_and_expire(self, sink: KnowledgeGraphSink) -> None:
        col, key, old, new = _word(), _word(), _word(), _word()
        s = self._session()
        await sink.write(
            [
                vote(s, key, old, collection=col, created_at=100.0),
                vote(s, key, new, collection=col, created_at=200.0),
            ]
        )
        assert _chunks(await sink.related([key], collection=col, since=150.0)) == [new]
        assert await sink.expire(150.0) >= 1
        assert _chunks(await sink.related([key], collection=col)) == [new]
        await sink.forget(s)

    async def test_forget_deletes_one_session_only(self, sink: KnowledgeGraphSink) -> None:
        col, key, a, b = _word(), _word(), _word(), _word()
        gone, kept = self._session("gone"), self._session("kept")
        other = _word()
        await sink.write(
            [
                vote(gone, key, a, collection=col),
                vote(gone, key, a, collection=other),
                vote(kept, key, b, collection=col),
            ]
        )
        assert await sink.forget(gone) == 2
        assert _chunks(await sink.related([key], collection=col)) == [b]
        assert await sink.related([key], collection=other) == []
        assert await sink.forget(gone) == 0
        await sink.forget(kept)

    async def test_related_with_nothing_in_common_is_empty(self, sink: KnowledgeGraphSink) -> None:
        assert await sink.related([_word()], collection=_word()) == []
        assert await sink.related([], collection=_word()) == []
        assert await sink.related("", collection=_word()) == []

    async def test_hostile_strings_are_stored_verbatim(self, sink: KnowledgeGraphSink) -> None:
        """Quotes, Cypher/SQL fragments, newlines and odd Unicode are data, never code."""
        col, key = _word(), _word()
        s = self._session()
        chunks = [h for h in HOSTILE_STRINGS if h]
        await sink.write([vote(s, key, h, collection=col) for h in chunks])
        await sink.write([vote(h or "x", key, _word(), collection=col) for h in HOSTILE_STRINGS])
        found = _chunks(await sink.related([key], 100, collection=col))
        assert set(chunks) <= set(found), "a hostile chunk id was altered or lost"
        assert len(found) == len(chunks) + len(HOSTILE_STRINGS)
        for h in HOSTILE_STRINGS:
            await sink.forget(h or "x")
        await sink.forget(s)
        assert await sink.related([key], 100, collection=col) == []

    async def test_close_is_final_and_can_be_repeated(self, sink: KnowledgeGraphSink) -> None:
        await sink.close()
        await sink.close()
        await _refuses(
            sink.write([vote(self._session(), _word(), _word(), collection="c")]), "write()"
        )
        await _refuses(sink.related([_word()], collection="c"), "related()")
        await _refuses(sink.forget(self._session()), "forget()")
