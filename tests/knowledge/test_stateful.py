"""A Hypothesis state machine: random writes, replays and outbox round trips against a model."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from contextual_avatar.knowledge import Outbox, SQLiteGraphSink, fact_id
from contextual_avatar.types import Fact, SourceRef

texts = st.text(max_size=20)


@st.composite
def facts(draw: st.DrawFn) -> Fact:
    session, subject, obj = draw(texts), draw(texts), draw(texts)
    turn = draw(st.integers(0, 3))
    return Fact(
        id=fact_id(collection="c", key=subject, chunk_id=f"{obj}/{turn}", session=session),
        subject=subject,
        predicate="p",
        object=obj,
        session_id=session,
        turn=turn,
        sources=tuple(
            draw(
                st.lists(
                    st.builds(SourceRef, texts, page=st.none() | st.integers(1, 9)), max_size=2
                )
            )
        ),
        created_at=float(turn),
    )


class GraphMachine(RuleBasedStateMachine):
    """The sink and the outbox must agree with a dict of id -> first fact written."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.loop = asyncio.new_event_loop()
        self.sink = SQLiteGraphSink(Path(self.dir.name) / "kg.sqlite3")
        self.outbox = Outbox(Path(self.dir.name) / "ob")
        self.model: dict[str, Fact] = {}
        self.pending: list[Fact] = []

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    @rule(batch=st.lists(facts(), max_size=6))
    def write(self, batch: list[Fact]) -> None:
        self.run(self.sink.write(batch))
        for f in batch:
            self.model.setdefault(f.id, f)

    @rule()
    def replay_everything(self) -> None:
        self.run(self.sink.write(list(self.model.values())))

    @rule(batch=st.lists(facts(), min_size=1, max_size=6))
    def enqueue(self, batch: list[Fact]) -> None:
        self.outbox.append(batch)
        self.pending += batch

    @precondition(lambda self: self.pending)
    @rule(n=st.integers(1, 6))
    def deliver_from_outbox(self, n: int) -> None:
        rows = self.outbox.peek(n)
        assert [f for _, f in rows] == self.pending[: len(rows)]
        self.run(self.sink.write([f for _, f in rows]))
        self.outbox.delete_through(rows[-1][0])
        for f in self.pending[: len(rows)]:
            self.model.setdefault(f.id, f)
        del self.pending[: len(rows)]

    @invariant()
    def store_matches_model(self) -> None:
        assert self.run(self.sink.count()) == len(self.model)
        got = self.run(self.sink.get(list(self.model)))
        assert {f.id: f for f in got} == self.model
        assert self.outbox.count() == len(self.pending)

    def teardown(self) -> None:
        self.run(self.sink.close())
        self.outbox.close()
        self.loop.close()
        self.dir.cleanup()


TestGraphMachine = GraphMachine.TestCase
TestGraphMachine.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
