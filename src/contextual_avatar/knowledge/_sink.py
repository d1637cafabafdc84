"""The knowledge-graph sink contract, and how facts are rendered for a prompt.

A :class:`KnowledgeGraphSink` stores facts idempotently (writing a fact twice has the effect
of writing it once: ids are content hashes) and answers ``related(text)`` with the facts that
share the most lookup keys (:func:`~contextual_avatar.knowledge.index_terms`) with the text,
newest first among equals. Implementations: :class:`~contextual_avatar.knowledge.SQLiteGraphSink`
(embedded) and :class:`~contextual_avatar.knowledge.Neo4jGraphSink` (Bolt).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from contextual_avatar._serde import ref_from_dict, ref_to_dict
from contextual_avatar.types import Fact, SourceRef

__all__ = [
    "KnowledgeGraphSink",
    "format_fact",
    "pack_facts",
    "sources_from_json",
    "sources_to_json",
]


@runtime_checkable
class KnowledgeGraphSink(Protocol):
    """Where shared knowledge lives. Implementations are async and safe to share in a loop.

    Contract:
        - ``write`` is idempotent per :attr:`Fact.id` (MERGE / INSERT OR IGNORE), so a retry
          or an outbox replay never duplicates. It raises
          :class:`~contextual_avatar.errors.StoreUnavailable` when the store cannot be reached;
          a failed write may have stored a prefix of the batch (a retry completes it).
        - ``related`` returns at most ``limit`` facts ranked by shared lookup keys, then by
          recency; ``exclude_session`` leaves out what the asking session learned itself.
        - ``close`` releases connections and may be called again; afterwards ``write`` and
          ``related`` raise :class:`~contextual_avatar.errors.StoreUnavailable`. The caller
          that built a sink closes it (a :class:`~contextual_avatar.knowledge.BackgroundWriter`
          does not).

    :class:`~contextual_avatar.testing.KnowledgeGraphSinkContract` checks these promises.
    """

    async def write(self, facts: Sequence[Fact]) -> None:
        """Store facts; each id at most once."""
        ...

    async def related(
        self, text: str, limit: int = 10, *, exclude_session: str | None = None
    ) -> list[Fact]:
        """Facts that bear on ``text``, best first."""
        ...

    async def close(self) -> None:
        """Release the store's resources."""
        ...


def sources_to_json(sources: Sequence[SourceRef]) -> str:
    """Serialise source references as a JSON list (graph properties cannot hold maps)."""
    return json.dumps([ref_to_dict(s) for s in sources], ensure_ascii=False)


def sources_from_json(raw: str | None) -> tuple[SourceRef, ...]:
    """Inverse of :func:`sources_to_json`; ``None`` or ``""`` gives no sources."""
    if not raw:
        return ()
    items: list[dict[str, Any]] = json.loads(raw)
    return tuple(ref_from_dict(d) for d in items)


def format_fact(fact: Fact) -> str:
    """One line for a prompt: the fact, where it was learned and what it rests on.

    Example: ``'"refund window?" answered "30 days" [session s1, turn 2; terms.pdf p. 4]'``.
    """
    where = f"session {fact.session_id}, turn {fact.turn}"
    if fact.sources:
        where += "; " + ", ".join(str(s) for s in fact.sources)
    return f'"{fact.subject}" {fact.predicate.replace("_", " ")} "{fact.object}" [{where}]'


def pack_facts(
    facts: Sequence[Fact], *, budget_tokens: int, count_tokens: Callable[[str], int]
) -> list[Fact]:
    """The leading facts whose :func:`format_fact` lines fit in a token budget.

    Args:
        facts: Facts in priority order, as ``related()`` returns them.
        budget_tokens: Tokens available for the lines (one line per fact).
        count_tokens: Counts a line's tokens (the engine passes its tokenizer).

    Returns:
        A prefix-respecting selection: facts are taken in order; one that does not fit is
        skipped and later shorter ones may still be taken.
    """
    chosen: list[Fact] = []
    used = 0
    for fact in facts:
        cost = count_tokens(format_fact(fact))
        if used + cost <= budget_tokens:
            chosen.append(fact)
            used += cost
    return chosen
