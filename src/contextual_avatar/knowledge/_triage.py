"""Telling a store outage from facts the store refuses, so one bad fact blocks nothing.

The writer retries an outage for as long as it lasts; it must not retry a fact the store can
never take (text no encoding can carry, say), or every later fact would wait behind it.
"""

from __future__ import annotations

from collections.abc import Sequence

from contextual_avatar.knowledge._sink import KnowledgeGraphSink
from contextual_avatar.types import Fact

__all__ = ["write_or_triage"]


async def write_or_triage(
    sink: KnowledgeGraphSink, facts: Sequence[Fact]
) -> list[tuple[Fact, str]]:
    """Write a batch; if the store refuses its *data*, find the facts to blame.

    A ``ValueError`` or ``TypeError`` is about the facts, not the store: each fact is then
    written alone and the refused ones are returned. An outage still raises, to be retried.

    Args:
        sink: The store.
        facts: The batch, in outbox order.

    Returns:
        The refused facts with the error each gave; empty when the whole batch was stored.
    """
    try:
        await sink.write(facts)
        return []
    except (ValueError, TypeError):
        pass
    bad: list[tuple[Fact, str]] = []
    for fact in facts:
        try:
            await sink.write([fact])
        except (ValueError, TypeError) as exc:
            bad.append((fact, f"{type(exc).__name__}: {exc}"))
    return bad
