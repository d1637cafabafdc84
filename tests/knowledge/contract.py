"""What every KnowledgeGraphSink owes, as a mixin; a test class provides a ``sink`` fixture."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import (
    ANSWERED,
    RELATED_TO,
    KnowledgeGraphSink,
    extract_facts,
    fact_id,
)
from contextual_avatar.types import Fact, SourceRef

from .helpers import HOSTILE, make_answer, plain_fact, turn_facts


class SinkContract:
    """Tests run against every sink; ``sink`` and ``prefix`` fixtures come from outside."""

    async def test_is_a_knowledge_graph_sink(self, sink: Any) -> None:
        assert isinstance(sink, KnowledgeGraphSink)

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

    async def test_write_is_idempotent(self, sink: Any, prefix: str) -> None:
        facts = turn_facts(prefix + "a", 1) + turn_facts(prefix + "a", 2)
        await sink.write(facts)
        await sink.write(facts)
        await sink.write(facts[::-1])
        assert await sink.count(session_prefix=prefix) == len({f.id for f in facts})

    async def test_concurrent_writes_of_the_same_facts_do_not_duplicate(
        self, sink: Any, prefix: str
    ) -> None:
        facts = turn_facts(prefix + "c", 1)
        await asyncio.gather(*(sink.write(facts) for _ in range(4)))
        assert await sink.count(session_prefix=prefix) == len(facts)
        assert len(await sink.get([f.id for f in facts])) == len(facts)

    async def test_empty_write_is_a_no_op(self, sink: Any, prefix: str) -> None:
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

    async def test_related_ranks_by_shared_keys_then_recency(self, sink: Any, prefix: str) -> None:
        word = f"quux{prefix[1:9]}"
        old = plain_fact(prefix + "x", 1, subject=f"{word} alpha", obj="gamma")
        new = plain_fact(prefix + "x", 2, subject=f"{word} beta", obj="delta")
        both = plain_fact(prefix + "x", 0, subject=f"{word} alpha", obj="beta")
        await sink.write([old, new, both])
        found = await sink.related(f"{word} alpha beta", limit=10)
        assert [f.id for f in found] == [both.id, new.id, old.id]
        assert [f.id for f in await sink.related(f"{word} alpha beta", limit=1)] == [both.id]

    async def test_related_can_leave_out_the_asking_session(self, sink: Any, prefix: str) -> None:
        word = f"plinth{prefix[1:9]}"
        mine = plain_fact(prefix + "me", 1, subject=word)
        theirs = plain_fact(prefix + "them", 1, subject=word)
        await sink.write([mine, theirs])
        found = await sink.related(word, exclude_session=prefix + "me")
        assert [f.id for f in found] == [theirs.id]
        assert {f.id for f in await sink.related(word)} == {mine.id, theirs.id}

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

    async def test_related_with_nothing_in_common_is_empty(self, sink: Any, prefix: str) -> None:
        await sink.write(turn_facts(prefix + "a", 1))
        assert await sink.related(f"zzqx{prefix[1:9]}") == []
        assert await sink.related("") == []
        assert await sink.related("the and of") == []

    @pytest.mark.parametrize("hostile", HOSTILE)
    async def test_hostile_text_is_stored_verbatim(
        self, sink: Any, prefix: str, hostile: str
    ) -> None:
        bystander = turn_facts(prefix + "bystander", 1)
        await sink.write(bystander)
        q = f"What about {hostile}?"
        facts = extract_facts(
            session_id=prefix + hostile,
            turn=1,
            question=q,
            answer=make_answer(q, f"{hostile} is Marta Quill's."),
            now=1.0,
        )
        entity = Fact(
            id=fact_id(
                at=0.0,
                session_id=prefix + hostile,
                turn=2,
                subject=hostile,
                predicate=RELATED_TO,
                obj=hostile + "'",
            ),
            subject=hostile,
            predicate=RELATED_TO,
            object=hostile + "'",
            session_id=prefix + hostile,
            turn=2,
            sources=(SourceRef(hostile or "x", speaker=hostile),),
        )
        await sink.write([*facts, entity])
        got = {f.id: f for f in await sink.get([f.id for f in [*facts, entity]])}
        assert got == {f.id: f for f in [*facts, entity]}
        # Nothing else was touched: the bystander's facts are all still there.
        assert len(await sink.get([f.id for f in bystander])) == len(bystander)
        assert await sink.count(session_prefix=prefix) == len(bystander) + len(facts) + 1

    async def test_closed_sink_refuses(self, sink: Any, prefix: str) -> None:
        await sink.close()
        with pytest.raises(StoreUnavailable):
            await sink.write(turn_facts(prefix, 1))
        await sink.close()  # twice is fine
