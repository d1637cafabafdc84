"""Stage *route*: which tier answers, from the retrieval evidence."""

from __future__ import annotations

from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.routing import SimilarityRouter, Tiers

__all__ = ["Route"]


class Route:
    """Asks the router for a tier and names the model that will answer."""

    name = "route"

    def __init__(self, router: SimilarityRouter, tiers: Tiers) -> None:
        """Route with ``router``; ``tiers`` name the model when the router did not."""
        self._router = router
        self._tiers = tiers

    async def __call__(self, turn: TurnState) -> None:
        """Fill ``route``."""
        hit = turn.cache is not None and turn.cache.hit
        decision = self._router.route(turn.question, turn.context, cache_hit=hit)
        turn.route = self._tiers.resolve(decision)
