"""The :class:`~contextual_avatar.knowledge.KnowledgeGraphSink` contract, as tests a host reuses.

A host with its own sink subclasses :class:`KnowledgeGraphSinkContract` in a test module and
provides one fixture, ``sink``; the inherited tests then check exactly what the protocol
promises, through its three methods only, so the engine and the background writer can rely
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
``pytest_asyncio.fixture``). Each test writes facts under fresh random words and session ids
starting with :attr:`KnowledgeGraphSinkContract.session_prefix`, so a sink on a shared store
works too, and a host can delete what the tests left there.

The module needs no test library itself (plain ``assert`` with messages, no pytest import),
so it also runs under a host's own harness.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Sequence
from typing import ClassVar

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import KnowledgeGraphSink, fact_id
from contextual_avatar.types import Fact, SourceRef

__all__ = ["HOSTILE_STRINGS", "KnowledgeGraphSinkContract"]

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
    """A lookup key no other test (or earlier run) has used."""
    return f"kgc{uuid.uuid4().hex[:12]}"


def _session(prefix: str, name: str = "") -> str:
    """A session id no other test has used, starting with ``prefix``."""
    return f"{prefix}{uuid.uuid4().hex[:8]}-{name}"


def _fact(
    session_id: str,
    turn: int,
    subject: str,
    obj: str,
    *,
    predicate: str = "mentions",
    created_at: float = 0.0,
    sources: tuple[SourceRef, ...] = (),
) -> Fact:
    return Fact(
        id=fact_id(
            at=created_at,
            session_id=session_id,
            turn=turn,
            subject=subject,
            predicate=predicate,
            obj=obj,
        ),
        subject=subject,
        predicate=predicate,
        object=obj,
        session_id=session_id,
        turn=turn,
        sources=sources,
        created_at=created_at,
    )


def _ids(facts: Sequence[Fact]) -> list[str]:
    return [f.id for f in facts]


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

    async def test_is_a_knowledge_graph_sink(self, sink: KnowledgeGraphSink) -> None:
        """The runtime-checkable protocol recognises the sink."""
        assert isinstance(sink, KnowledgeGraphSink), f"{type(sink)!r} lacks a protocol method"

    async def test_write_is_idempotent_per_fact_id(self, sink: KnowledgeGraphSink) -> None:
        """Retries and outbox replays must never duplicate a fact."""
        word, session = _word(), _session(self.session_prefix)
        facts = [
            _fact(session, i, f"{word} item{i}", "thing", created_at=float(i)) for i in range(4)
        ]
        await sink.write(facts)
        await sink.write(facts)
        await sink.write([*facts[::-1], facts[0]])  # reordered, and twice in one batch
        await asyncio.gather(*(sink.write(facts) for _ in range(3)))
        await sink.write([])
        found = _ids(await sink.related(word, limit=100))
        assert sorted(found) == sorted(_ids(facts)), f"each id once expected, got {found}"

    async def test_related_returns_at_most_limit_facts(self, sink: KnowledgeGraphSink) -> None:
        """``limit`` caps the answer, which is the head of the full ranking."""
        word, session = _word(), _session(self.session_prefix)
        facts = [_fact(session, i, word, f"obj{i}", created_at=float(i)) for i in range(6)]
        await sink.write(facts)
        everything = await sink.related(word, limit=100)
        assert _ids(everything) == _ids(facts[::-1]), "equal keys: newest first"
        for limit in (0, 1, 2, 5, 6, 10):
            got = await sink.related(word, limit=limit)
            assert len(got) <= limit, f"limit={limit} gave {len(got)} facts"
            assert _ids(got) == _ids(everything[:limit]), f"limit={limit} is not the best first"

    async def test_related_ranks_by_shared_keys_then_recency(
        self, sink: KnowledgeGraphSink
    ) -> None:
        """More shared lookup keys win; among equals, the newer fact comes first."""
        word, alpha, beta, session = _word(), _word(), _word(), _session(self.session_prefix)
        old = _fact(session, 1, f"{word} {alpha}", "gamma", created_at=1.0)
        new = _fact(session, 2, f"{word} {beta}", "delta", created_at=2.0)
        both = _fact(session, 3, f"{word} {alpha}", beta, created_at=0.0)  # oldest, best match
        await sink.write([old, new, both])
        found = _ids(await sink.related(f"{word} {alpha} {beta}", limit=10))
        assert found == _ids([both, new, old]), f"ranking: {found}"
        assert _ids(await sink.related(f"{word} {alpha} {beta}", limit=1)) == [both.id]

    async def test_related_can_leave_out_the_asking_session(self, sink: KnowledgeGraphSink) -> None:
        """An avatar is not told back what its own session just learned."""
        word = _word()
        mine = _fact(_session(self.session_prefix, "me"), 1, word, "o")
        theirs = _fact(_session(self.session_prefix, "them"), 1, word, "o")
        await sink.write([mine, theirs])
        found = _ids(await sink.related(word, exclude_session=mine.session_id))
        assert found == [theirs.id], f"exclude_session ignored: {found}"
        assert sorted(_ids(await sink.related(word))) == sorted([mine.id, theirs.id])

    async def test_related_with_nothing_in_common_is_empty(self, sink: KnowledgeGraphSink) -> None:
        """No shared key, no fact: unrelated facts would only cost prompt tokens."""
        await sink.write([_fact(_session(self.session_prefix), 1, _word(), "o")])
        assert await sink.related(_word()) == []
        assert await sink.related("") == []

    async def test_related_returns_facts_as_written(self, sink: KnowledgeGraphSink) -> None:
        """Every field survives the store, sources with pages and time ranges included."""
        word = _word()
        sources = (
            SourceRef("talk.mp4", start_s=192.5, end_s=221.25, speaker="Dr. Ng"),
            SourceRef("handbook.pdf", page=7),
        )
        fact = _fact(
            _session(self.session_prefix),
            4,
            f"{word} bridge",
            "Marta Quill",
            created_at=12.5,
            sources=sources,
        )
        await sink.write([fact])
        assert await sink.related(word) == [fact]

    async def test_hostile_strings_are_stored_verbatim(self, sink: KnowledgeGraphSink) -> None:
        """Quotes, query syntax, control and RTL characters are data, never code."""
        word, session = _word(), _session(self.session_prefix, "h")
        bystander = _fact(_session(self.session_prefix, "bystander"), 1, word, "innocent")
        await sink.write([bystander])
        written: dict[str, list[Fact]] = {}
        for i, h in enumerate(HOSTILE_STRINGS):
            owner = session + h
            written[h] = [
                _fact(owner, i, f"{word} {h}", h, sources=(SourceRef(h or "x", speaker=h),)),
                _fact(owner, i, h, f"{h}' {word}", predicate="related_to", created_at=1.0),
            ]
            await sink.write(written[h])
        for h, facts in written.items():
            found = {f.id: f for f in await sink.related(f"{word} {h}", limit=100)}
            for fact in facts:
                assert found.get(fact.id) == fact, f"{h!r}: {found.get(fact.id)!r} != {fact!r}"
            others = await sink.related(word, limit=100, exclude_session=facts[0].session_id)
            assert not set(_ids(facts)) & set(_ids(others)), f"{h!r}: exclude_session"
        everything = await sink.related(word, limit=100)
        assert bystander in everything, "a hostile write disturbed another fact"
        assert len(everything) == 1 + sum(map(len, written.values())), "facts lost or added"

    async def test_close_is_final_and_can_be_repeated(self, sink: KnowledgeGraphSink) -> None:
        """After close the sink refuses work with StoreUnavailable, the error callers retry."""
        await sink.write([_fact(_session(self.session_prefix), 1, _word(), "o")])
        await sink.close()
        await sink.close()
        await _refuses(
            sink.write([_fact(_session(self.session_prefix), 2, _word(), "o")]), "write()"
        )
        await _refuses(sink.related(_word()), "related()")
