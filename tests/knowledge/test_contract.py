"""The sink contract itself: a minimal in-memory sink passes it, and broken ones do not.

This shows the contract asks only for what the protocol promises (a sink written from
scratch against the protocol passes) and that it catches the usual mistakes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import ANSWERED_BY, query_keys, session_key
from contextual_avatar.testing import KnowledgeGraphSinkContract
from contextual_avatar.types import Fact


class MemorySink:
    """The protocol in a dict: one entry per chunk, ranked by keys, sessions, recency."""

    def __init__(self) -> None:
        self.facts: dict[str, Fact] = {}
        self.closed = False

    def _check(self) -> None:
        if self.closed:
            raise StoreUnavailable("closed")

    async def write(self, facts: Sequence[Fact]) -> None:
        self._check()
        for f in facts:
            self.facts.setdefault(f.id, f)

    async def related(
        self,
        keys: str | Sequence[str],
        limit: int = 10,
        *,
        collection: str = "default",
        exclude_session: str | None = None,
        since: float = 0.0,
    ) -> list[Fact]:
        self._check()
        wanted = set(query_keys(keys, collection))
        skip = session_key(exclude_session) if exclude_session is not None else ""
        groups: dict[str, list[Fact]] = {}
        for f in self.facts.values():
            if (
                f.subject in wanted
                and collection
                and f.collection == collection
                and f.predicate == ANSWERED_BY
                and f.created_at >= since
                and f.session_id != skip
            ):
                groups.setdefault(f.object, []).append(f)

        def rank(item: tuple[str, list[Fact]]) -> tuple[int, int, float, str]:
            chunk, fs = item
            return (
                -len({f.subject for f in fs}),
                -len({f.session_id for f in fs}),
                -max(f.created_at for f in fs),
                chunk,
            )

        out = []
        for chunk, fs in sorted(groups.items(), key=rank)[: max(limit, 0)]:
            score = float(len({f.subject for f in fs}))
            out.append(dataclasses.replace(fs[0], id=chunk, session_id="", turn=0, score=score))
        return out

    async def forget(self, session_id: str) -> int:
        self._check()
        names = {session_id, session_key(session_id)}
        gone = [i for i, f in self.facts.items() if f.session_id in names]
        for i in gone:
            del self.facts[i]
        return len(gone)

    async def expire(self, before: float) -> int:
        self._check()
        gone = [i for i, f in self.facts.items() if f.created_at < before]
        for i in gone:
            del self.facts[i]
        return len(gone)

    async def close(self) -> None:
        self.closed = True


class TestMemorySink(KnowledgeGraphSinkContract):
    @pytest.fixture
    async def sink(self) -> AsyncIterator[MemorySink]:
        sink = MemorySink()
        yield sink
        await sink.close()


class Duplicates(MemorySink):
    async def write(self, facts: Sequence[Fact]) -> None:
        for f in facts:
            self.facts[f"{f.id}/{len(self.facts)}"] = dataclasses.replace(
                f, session_id=f"{f.session_id}/{len(self.facts)}"
            )


class IgnoresLimit(MemorySink):
    async def related(self, keys: Any, limit: int = 10, **kw: Any) -> list[Fact]:
        return await super().related(keys, 1000, **kw)


class IgnoresExclude(MemorySink):
    async def related(self, keys: Any, limit: int = 10, **kw: Any) -> list[Fact]:
        kw.pop("exclude_session", None)
        return await super().related(keys, limit, **kw)


class IgnoresCollection(MemorySink):
    async def related(self, keys: Any, limit: int = 10, **kw: Any) -> list[Fact]:
        found: list[Fact] = []
        for c in {f.collection for f in self.facts.values()}:
            found += await super().related(keys, limit, **(kw | {"collection": c}))
        return found[:limit]


class ShowsSessions(MemorySink):
    async def related(self, keys: Any, limit: int = 10, **kw: Any) -> list[Fact]:
        found = await super().related(keys, limit, **kw)
        by_chunk = {f.object: f.session_id for f in self.facts.values()}
        return [dataclasses.replace(f, session_id=by_chunk[f.object]) for f in found]


class ServesAnything(MemorySink):
    async def write(self, facts: Sequence[Fact]) -> None:
        await super().write([dataclasses.replace(f, predicate=ANSWERED_BY) for f in facts])


class ForgetsNothing(MemorySink):
    async def forget(self, session_id: str) -> int:
        return 0


class UsableAfterClose(MemorySink):
    def _check(self) -> None:
        pass


@pytest.mark.parametrize(
    ("broken", "test"),
    [
        (Duplicates, "test_write_is_idempotent_and_one_session_is_one_vote"),
        (IgnoresLimit, "test_related_ranks_by_keys_matched_and_returns_at_most_limit"),
        (IgnoresExclude, "test_related_can_leave_out_the_asking_session"),
        (IgnoresCollection, "test_knowledge_never_crosses_collections"),
        (ShowsSessions, "test_who_taught_is_never_returned"),
        (ServesAnything, "test_only_grounded_votes_are_served"),
        (ForgetsNothing, "test_forget_deletes_one_session_only"),
        (UsableAfterClose, "test_close_is_final_and_can_be_repeated"),
    ],
)
async def test_the_contract_catches_a_broken_sink(broken: type[MemorySink], test: str) -> None:
    with pytest.raises(AssertionError):
        await getattr(KnowledgeGraphSinkContract(), test)(broken())
