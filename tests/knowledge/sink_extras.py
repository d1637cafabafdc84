"""Checks of the bundled sinks beyond the protocol: ``get``, ``count`` and key pruning.

The protocol's own promises are tested by
:class:`~contextual_avatar.testing.KnowledgeGraphSinkContract`; this mixin needs ``sink``,
``prefix`` and ``sink_factory`` fixtures from the test class.
"""

from __future__ import annotations

import asyncio
from typing import Any

from contextual_avatar.knowledge import ANSWERED, extract_facts, fact_id
from contextual_avatar.types import Fact, SourceRef

from .helpers import make_answer, plain_fact, turn_facts


class SinkExtras:
    """Tests of ``get``/``count``, which both bundled sinks offer for tests and tools."""

    async def test_write_then_get_round_trips(self, sink: Any, prefix: str) -> None:
        facts = turn_facts(prefix + "a", 1)
        await sink.write(facts)
        got = await sink.get([f.id for f in facts])
        assert sorted(got, key=lambda f: f.id) == sorted(facts, key=lambda f: f.id)

    async def test_timed_sources_round_trip(self, sink: Any, prefix: str) -> None:
        ref = SourceRef("talk.mp4", start_s=192.5, end_s=221.25, speaker="Dr. Ng")
        fact = Fact(
            id=fact_id(at=0.0, session_id=prefix, turn=0, subject="a", predicate="p", obj="b"),
            subject="a",
            predicate="p",
            object="b",
            session_id=prefix,
            turn=0,
            sources=(ref, SourceRef("handbook.pdf", page=7)),
            created_at=12.5,
        )
        await sink.write([fact])
        assert await sink.get([fact.id]) == [fact]

    async def test_replays_add_no_records(self, sink: Any, prefix: str) -> None:
        facts = turn_facts(prefix + "a", 1) + turn_facts(prefix + "a", 2)
        await sink.write(facts)
        await sink.write(facts)
        await asyncio.gather(*(sink.write(facts[::-1]) for _ in range(4)))
        assert await sink.count(session_prefix=prefix) == len({f.id for f in facts})

    async def test_empty_write_adds_nothing(self, sink: Any, prefix: str) -> None:
        await sink.write([])
        assert await sink.count(session_prefix=prefix) == 0

    async def test_related_finds_what_another_session_learned(self, sink: Any, prefix: str) -> None:
        q = f"Who designed the Zorblax{prefix[1:7]} Bridge?"
        a = f"The Zorblax{prefix[1:7]} Bridge was designed by Marta Quill in 1931."
        facts = extract_facts(
            session_id=prefix + "A", turn=1, question=q, answer=make_answer(q, a), now=5.0
        )
        await sink.write(facts)
        found = await sink.related(f"tell me about the zorblax{prefix[1:7]} bridge", limit=5)
        assert found, "nothing related found"
        assert found[0].predicate == ANSWERED
        assert found[0].object == a
        assert found[0].session_id == prefix + "A"
        assert len(found) <= 5

    async def test_stopwords_alone_find_nothing(self, sink: Any, prefix: str) -> None:
        await sink.write(turn_facts(prefix + "a", 1))
        assert await sink.related("the and of") == []

    async def test_keys_on_too_many_facts_are_ignored_and_replays_do_not_count(
        self, sink_factory: Any, prefix: str
    ) -> None:
        sink = sink_factory(max_key_df=2)
        try:
            word, rare = f"zyx{prefix[1:9]}", f"qwv{prefix[1:9]}"
            two = [plain_fact(prefix + "d", i, subject=word) for i in range(2)]
            await sink.write(two)
            await sink.write(two)  # a replay must not raise the count past the cap
            assert {f.id for f in await sink.related(word)} == {f.id for f in two}
            third = plain_fact(prefix + "d", 9, subject=f"{word} {rare}")
            await sink.write([third])  # now on 3 facts: too common to search by
            assert [f.id for f in await sink.related(f"{word} {rare}")] == [third.id]
            assert await sink.related(word) == []
        finally:
            await sink.close()
