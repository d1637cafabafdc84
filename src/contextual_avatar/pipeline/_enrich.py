"""Stage *enrich*: document chunks other sessions of the collection found useful.

(The retrieval prior, on by default when sharing is on, re-ranks the turn's own chunks
in the recall stage, see :mod:`contextual_avatar.pipeline._prior`; this stage only fits
voted chunks the turn did not find into budget its own chunks left free.)

It runs concurrently with the stages before *route* (the graph is a network hop) and
fetches the retrieval prior: chunk ids, never text. After routing, :meth:`Enrich.attach`
resolves them against the index (so what reaches the prompt is the documents' own text),
keeps those above the relevance floor (cosine to the question), and fits them *inside*
the turn's context budget: at most ``knowledge.context_tokens`` of what the turn's own
chunks left free, so a prompt never exceeds the budget and no chunk the turn found itself
is dropped for one another session found.
Shared chunks go after the turn's own chunks; they do not sway the router.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from contextual_avatar.pipeline._knowledge import Resolver, SharedKnowledge
from contextual_avatar.pipeline._prior import members as _members
from contextual_avatar.pipeline._prior import merged
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.retrieval import assemble_context
from contextual_avatar.types import Fact, ScoredChunk

__all__ = ["Enrich"]


class Enrich:
    """Finds the prior for the question; :meth:`attach` fits it into the context."""

    name = "enrich"

    def __init__(
        self,
        knowledge: SharedKnowledge,
        *,
        resolve: Resolver,
        budget_tokens: int,
        count_tokens: Callable[[str], int],
    ) -> None:
        """Read the prior through ``knowledge``.

        Args:
            knowledge: The shared knowledge line (sink, limits, floor).
            resolve: Indexed chunks of a collection and their vectors, by id.
            budget_tokens: The turn's whole context budget (the assemble stage's).
            count_tokens: Counts a text's tokens.
        """
        self._knowledge = knowledge
        self._resolve = resolve
        self._budget = budget_tokens
        self._count = count_tokens

    async def __call__(self, turn: TurnState) -> None:
        """Add candidate chunks (ids only) to ``facts``.

        The retrieval prior (in the recall stage) adds its votes to ``facts`` too; this
        stage runs beside it, so each merges rather than replaces.
        """
        found = await self._knowledge.related(turn.session_id, turn.question, turn.collection)
        turn.facts = merged(turn.facts, found)

    def attach(self, turn: TurnState) -> None:
        """Fit candidates above the floor into the context; ``facts`` keeps those used."""
        candidates, turn.facts = turn.facts, []
        if not candidates or turn.vectors.size == 0:
            return
        cfg = self._knowledge.config
        have = {i for c in turn.context for i in _members(c.chunk.id)}
        if max(cfg.prior_lift, cfg.prior_share_lift) > 0:  # votes the prior read
            turn.facts = [f for f in candidates if have & set(_members(f.object))]
        by_id: dict[str, Fact] = {}
        for fact in candidates:
            for member in _members(fact.object):
                if member not in have:
                    by_id.setdefault(member, fact)
        chunks, vectors = self._resolve(turn.collection, list(by_id))
        if not chunks or len(vectors) != len(chunks):
            return
        sims = np.asarray(vectors, dtype=np.float32) @ turn.vectors[0]
        shared: list[ScoredChunk] = []
        used: list[Fact] = []
        spent = 0
        # Shared chunks only fill what the turn's own chunks left of the budget: measured on
        # CoQA, letting them displace the turn's weaker chunks lost more gold than it found.
        own = sum(self._count(c.chunk.text) for c in turn.context)
        room = min(cfg.context_tokens, self._budget - own)
        ranked = sorted(range(len(chunks)), key=lambda i: -float(sims[i]))
        for i in ranked:
            if float(sims[i]) < cfg.min_similarity:
                break
            cost = self._count(chunks[i].text)
            if spent + cost > room:
                continue
            spent += cost
            shared.append(ScoredChunk(chunks[i], float(sims[i])))
            if by_id[chunks[i].id] not in used:
                used.append(by_id[chunks[i].id])
        if not shared:
            return
        turn.context = assemble_context(
            turn.context + shared, budget_tokens=self._budget, count_tokens=self._count
        )
        kept = {i for c in turn.context for i in _members(c.chunk.id)}
        turn.facts = [f for f in turn.facts + used if kept & set(_members(f.object))]
