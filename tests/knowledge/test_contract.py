"""The sink contract itself: a minimal in-memory sink passes it, and broken ones do not.

This shows the contract asks only for what the protocol promises (a sink written from
scratch against the protocol passes) and that it catches the usual mistakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import index_terms
from contextual_avatar.testing import KnowledgeGraphSinkContract
from contextual_avatar.types import Fact


class MemorySink:
    """The protocol in a dict: keys from ``index_terms``, ranked by overlap then recency."""

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
        self, text: str, limit: int = 10, *, exclude_session: str | None = None
    ) -> list[Fact]:
        self._check()
        keys = set(index_terms([text]))
        scored = [
            (len(keys & set(index_terms([f.subject, f.object]))), f)
            for f in self.facts.values()
            if f.session_id != exclude_session
        ]
        ranked = sorted((s for s in scored if s[0]), key=lambda s: (-s[0], -s[1].created_at))
        return [f for _, f in ranked[: max(limit, 0)]]

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
            self.facts[f"{f.id}/{len(self.facts)}"] = f


class IgnoresLimit(MemorySink):
    async def related(
        self, text: str, limit: int = 10, *, exclude_session: str | None = None
    ) -> list[Fact]:
        return await super().related(text, 1000, exclude_session=exclude_session)


class IgnoresExclude(MemorySink):
    async def related(
        self, text: str, limit: int = 10, *, exclude_session: str | None = None
    ) -> list[Fact]:
        return await super().related(text, limit)


class OldestFirst(MemorySink):
    async def related(
        self, text: str, limit: int = 10, *, exclude_session: str | None = None
    ) -> list[Fact]:
        found = await super().related(text, 1000, exclude_session=exclude_session)
        return sorted(found, key=lambda f: f.created_at)[:limit]


class UsableAfterClose(MemorySink):
    def _check(self) -> None:
        pass


@pytest.mark.parametrize(
    ("broken", "test"),
    [
        (Duplicates, "test_write_is_idempotent_per_fact_id"),
        (IgnoresLimit, "test_related_returns_at_most_limit_facts"),
        (IgnoresExclude, "test_related_can_leave_out_the_asking_session"),
        (OldestFirst, "test_related_ranks_by_shared_keys_then_recency"),
        (UsableAfterClose, "test_close_is_final_and_can_be_repeated"),
    ],
)
async def test_the_contract_catches_a_broken_sink(broken: type[MemorySink], test: str) -> None:
    with pytest.raises(AssertionError):
        await getattr(KnowledgeGraphSinkContract(), test)(broken())
