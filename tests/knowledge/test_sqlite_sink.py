from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar.knowledge import SQLiteGraphSink, fact_id
from contextual_avatar.testing import KnowledgeGraphSinkContract
from contextual_avatar.types import Fact

from .helpers import turn_facts
from .sink_extras import SinkExtras


class TestSQLiteGraphSink(KnowledgeGraphSinkContract, SinkExtras):
    @pytest.fixture
    def sink(self, sqlite_sink: SQLiteGraphSink) -> SQLiteGraphSink:
        return sqlite_sink

    @pytest.fixture
    def sink_factory(self, tmp_path: Path) -> Callable[..., SQLiteGraphSink]:
        return lambda **kw: SQLiteGraphSink(tmp_path / "factory.sqlite3", **kw)


async def test_file_is_in_wal_mode(sqlite_sink: SQLiteGraphSink) -> None:
    await sqlite_sink.write(turn_facts("s", 1))
    with sqlite3.connect(sqlite_sink.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_two_sinks_on_one_file_share_the_graph(tmp_path: Path) -> None:
    a = SQLiteGraphSink(tmp_path / "shared.sqlite3")
    b = SQLiteGraphSink(tmp_path / "shared.sqlite3")
    try:
        await a.write(turn_facts("avatar-a", 1))
        await b.write(turn_facts("avatar-b", 1))
        seen_by_b = await b.related(
            "capacity of Depot 1 in Region avatar-a", exclude_session="avatar-b"
        )
        assert seen_by_b
        assert {f.session_id for f in seen_by_b} == {"avatar-a"}
        assert await a.count() == await b.count()
    finally:
        await a.close()
        await b.close()


async def test_unwritable_path_raises_store_unavailable(tmp_path: Path) -> None:
    from contextual_avatar.errors import StoreUnavailable

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    sink = SQLiteGraphSink(blocker / "kg.sqlite3")
    with pytest.raises(StoreUnavailable):
        await sink.write(turn_facts("s", 1))
    await sink.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(subject=st.text(), obj=st.text(), session=st.text(min_size=1))
async def test_any_text_round_trips(
    sqlite_sink: SQLiteGraphSink, subject: str, obj: str, session: str
) -> None:
    fact = Fact(
        id=fact_id(at=0.0, session_id=session, turn=1, subject=subject, predicate="p", obj=obj),
        subject=subject,
        predicate="p",
        object=obj,
        session_id=session,
        turn=1,
    )
    await sqlite_sink.write([fact])
    await sqlite_sink.write([fact])
    assert await sqlite_sink.get([fact.id]) == [fact]
