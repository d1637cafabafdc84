"""The retrieval prior: chunks other sessions' grounded answers came from move up a little.

Shared knowledge earns its place by re-ranking what the turn found *itself* (its search
results or its cache hit), before the context budget is filled: a candidate chunk that
earlier sessions of the collection answered this kind of question from (the same set of
document terms, hashed: :func:`~contextual_avatar.knowledge.kind_key`) moves up
``knowledge.prior_lift`` places. The
prior adds no chunk and no text: nothing another caller typed can reach the prompt, the
prompt never grows, and a turn with no votes (every first asker) keeps its own ranking.
Measured on CoQA (``benchmarks/sharing.py``), appending shared chunks after the turn's own
ones rarely fit the budget, and letting them displace the turn's chunks lost gold; lifting
the turn's own candidates is what helped later askers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import numpy as np

from contextual_avatar._text import chunk_id as chunk_ref
from contextual_avatar._text import chunk_range
from contextual_avatar.pipeline._knowledge import Resolver, SharedKnowledge
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.types import Fact, ScoredChunk

__all__ = ["RetrievalPrior", "lift", "members", "merged"]

#: A merged piece covering more chunks than this is looked up as one id.
_MAX_MEMBERS = 16


def members(chunk_id: str) -> list[str]:
    """The indexed chunks a context piece covers (a merged piece names a range of them)."""
    try:
        doc, first, last = chunk_range(chunk_id)
    except ValueError:
        return [chunk_id]
    if last - first >= _MAX_MEMBERS:
        return [chunk_id]
    return [chunk_ref(doc, i) for i in range(first, last + 1)]


def merged(first: Sequence[Fact], then: Sequence[Fact]) -> list[Fact]:
    """``first`` and ``then`` without a second fact for one chunk (the first one stays)."""
    out: dict[str, Fact] = {}
    for fact in (*first, *then):
        out.setdefault(fact.object, fact)
    return list(out.values())


def lift(
    ranked: list[ScoredChunk], votes: Sequence[tuple[Fact, int]]
) -> tuple[list[ScoredChunk], list[Fact]]:
    """``ranked`` with each voted candidate moved up its vote's places (or to the top).

    ``votes`` pairs a fact with how many places it may lift its chunk; a chunk with
    several votes takes the largest lift. A lifted chunk lands ahead of the unlifted
    chunk it draws level with; lifted chunks keep their order among themselves when they
    draw level. Chunks not in ``ranked`` are ignored: the prior never adds one.

    Returns:
        The new order (the same chunks, the same scores) and the votes that lifted a
        candidate.
    """
    best: dict[str, tuple[int, Fact]] = {}
    for fact, places in votes:
        if places <= 0:
            continue
        for member in members(fact.object):
            if member not in best or best[member][0] < places:
                best[member] = (places, fact)
    if not best or len(ranked) < 2:
        return ranked, []
    keyed: list[tuple[int, int, ScoredChunk]] = []
    matched: list[Fact] = []
    for rank, sc in enumerate(ranked):
        found = [best[m] for m in members(sc.chunk.id) if m in best]
        if not found:
            keyed.append((rank, 1, sc))
            continue
        places, fact = max(found, key=lambda v: v[0])
        keyed.append((rank - places, 0, sc))
        if fact not in matched:
            matched.append(fact)
    keyed.sort(key=lambda k: k[:2])
    return [k[2] for k in keyed], matched


class RetrievalPrior:
    """Reads the graph for a turn and lifts the turn's voted candidates (recall calls it)."""

    def __init__(self, knowledge: SharedKnowledge, *, resolve: Resolver) -> None:
        """Read votes through ``knowledge`` (its sink, limits, floor and lift).

        Args:
            knowledge: The shared knowledge line.
            resolve: Indexed chunks of a collection and their vectors, by id (for the
                voted chunks ``knowledge.prior_admit`` lets join the candidates).
        """
        self._knowledge = knowledge
        self._resolve = resolve

    @property
    def active(self) -> bool:
        """Sharing is on and the prior may move chunks."""
        cfg = self._knowledge.config
        return self._knowledge.sink is not None and max(cfg.prior_lift, cfg.prior_share_lift) > 0

    async def __call__(self, turn: TurnState) -> None:
        """Re-rank ``turn.context`` (before assembly); the votes read join ``turn.facts``.

        Votes for questions of exactly the turn's document terms (its kind) lift by
        ``prior_lift``; votes on a share of its terms by ``prior_share_lift``. The enrich
        stage, running beside recall, adds its own reads to ``facts`` and may still fit a
        voted chunk into budget the turn's own chunks left free.
        """
        if not self.active or not turn.context:
            return
        started = time.perf_counter()
        cfg = self._knowledge.config
        who, question, where = turn.session_id, turn.question, turn.collection
        kind, share = await asyncio.gather(
            self._knowledge.related_kind(who, question, where),
            self._knowledge.related(who, question, where)
            if cfg.prior_share_lift > 0
            else _nothing(),
        )
        votes = [(f, cfg.prior_lift) for f in kind] + [(f, cfg.prior_share_lift) for f in share]
        ranked = turn.context
        if votes and cfg.prior_admit > 0 and turn.vectors.size:
            found = [f for f, _ in votes]
            ranked = ranked + self._admitted(turn, found, cfg.prior_admit, cfg.min_similarity)
        turn.context, _ = lift(ranked, votes)
        turn.facts = merged([f for f, _ in votes], turn.facts)
        turn.timings["prior"] = (time.perf_counter() - started) * 1000

    def _admitted(
        self, turn: TurnState, votes: list[Fact], most: int, floor: float
    ) -> list[ScoredChunk]:
        """Up to ``most`` voted chunks the turn did not find, above the relevance floor.

        They join the candidates *last*, so only the lift can carry them into the budget.
        """
        have = {m for sc in turn.context for m in members(sc.chunk.id)}
        wanted = [m for f in votes for m in members(f.object) if m not in have]
        chunks, vectors = self._resolve(turn.collection, list(dict.fromkeys(wanted)))
        if not chunks or len(vectors) != len(chunks):
            return []
        sims = np.asarray(vectors, dtype=np.float32) @ turn.vectors[0]
        found = [ScoredChunk(c, float(s)) for c, s in zip(chunks, sims, strict=True) if s >= floor]
        return found[:most]


async def _nothing() -> list[Fact]:
    return []
