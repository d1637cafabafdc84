"""The knowledge-graph sink contract: store votes, serve a per-collection retrieval prior.

A :class:`KnowledgeGraphSink` stores facts idempotently (writing a fact twice has the effect
of writing it once: ids are content hashes) and answers ``related(keys)`` with one entry per
document chunk that answered questions on those keys in the same collection, best first.
It never returns who taught a fact. Implementations:
:class:`~contextual_avatar.knowledge.SQLiteGraphSink` (embedded) and
:class:`~contextual_avatar.knowledge.Neo4jGraphSink` (Bolt).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from contextual_avatar._serde import ref_from_dict, ref_to_dict
from contextual_avatar._text import terms
from contextual_avatar.knowledge._extract import MAX_KEYS, feature_keys
from contextual_avatar.types import Fact, SourceRef

__all__ = [
    "DEFAULT_COLLECTION",
    "KnowledgeGraphSink",
    "query_keys",
    "sources_from_json",
    "sources_to_json",
]

#: The collection a turn belongs to when the caller names none.
DEFAULT_COLLECTION = "default"


@runtime_checkable
class KnowledgeGraphSink(Protocol):
    """Where shared knowledge lives. Implementations are async and safe to share in a loop.

    Contract:
        - ``write`` is idempotent per :attr:`Fact.id` (MERGE / INSERT OR IGNORE), so a retry
          or an outbox replay never duplicates. It raises
          :class:`~contextual_avatar.errors.StoreUnavailable` when the store cannot be reached;
          a failed write may have stored a prefix of the batch (a retry completes it).
        - ``related(keys, collection=...)`` returns at most ``limit`` facts, one per chunk
          (``object``), from ``answered_by`` facts of that collection whose subject is one
          of ``keys`` and that were learned at or after ``since``; ranked by distinct keys
          matched (``score``), then by distinct sessions, then recency. ``session_id`` of a
          returned fact is always ``""``; ``exclude_session`` leaves out what the asking
          session taught. A ``str`` is turned into keys with :func:`query_keys`.
        - ``forget(session_id)`` deletes everything stored about that session, in every
          collection, and returns how many facts went; ``expire(before)`` deletes facts
          learned before that Unix time.
        - ``close`` releases connections and may be called again; afterwards the other
          methods raise :class:`~contextual_avatar.errors.StoreUnavailable`. The caller that
          built a sink closes it (a :class:`~contextual_avatar.knowledge.BackgroundWriter`
          does not).

    :class:`~contextual_avatar.testing.KnowledgeGraphSinkContract` checks these promises.
    """

    async def write(self, facts: Sequence[Fact]) -> None:
        """Store facts; each id at most once."""
        ...

    async def related(
        self,
        keys: str | Sequence[str],
        limit: int = 10,
        *,
        collection: str = DEFAULT_COLLECTION,
        exclude_session: str | None = None,
        since: float = 0.0,
    ) -> list[Fact]:
        """Chunks that answered questions on ``keys`` in ``collection``, best first."""
        ...

    async def forget(self, session_id: str) -> int:
        """Delete what is stored about one session; returns the facts deleted."""
        ...

    async def expire(self, before: float) -> int:
        """Delete facts learned before ``before`` (Unix time); returns how many."""
        ...

    async def close(self) -> None:
        """Release the store's resources."""
        ...


def query_keys(keys: str | Sequence[str], collection: str) -> list[str]:
    """Keys as given, or, for a text, the :func:`feature_keys` of its index terms."""
    if isinstance(keys, str):
        return feature_keys(terms(keys), collection)
    return list(dict.fromkeys(k for k in keys if k))[: MAX_KEYS * 4]


def sources_to_json(sources: Sequence[SourceRef]) -> str:
    """Serialise source references as a JSON list (graph properties cannot hold maps)."""
    return json.dumps([ref_to_dict(s) for s in sources], ensure_ascii=False)


def sources_from_json(raw: str | None) -> tuple[SourceRef, ...]:
    """Inverse of :func:`sources_to_json`; ``None`` or ``""`` gives no sources."""
    if not raw:
        return ()
    items: list[dict[str, Any]] = json.loads(raw)
    return tuple(ref_from_dict(d) for d in items)
