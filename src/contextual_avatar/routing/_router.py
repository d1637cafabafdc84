"""Choose the model tier for a turn from the retrieval evidence.

Strong evidence (a cache hit, or a top chunk well above the threshold) means the answer
is in a small context, which a small model handles; weak evidence goes to the large one.
"""

from __future__ import annotations

from collections.abc import Sequence

from contextual_avatar.types import RouteDecision, ScoredChunk, Tier

__all__ = ["SimilarityRouter"]


class SimilarityRouter:
    """Routes to the small tier when the best context score reaches ``threshold``.

    Monotone by construction: raising any context score never moves a turn from the
    small tier to the large one.
    """

    def __init__(self, *, threshold: float, small_model: str, large_model: str) -> None:
        """Create the router.

        Args:
            threshold: Best-chunk cosine at or above which the small tier answers.
            small_model: Name reported for the small tier.
            large_model: Name reported for the large tier.
        """
        self.threshold = threshold
        self.small_model = small_model
        self.large_model = large_model

    def route(self, question: str, context: Sequence[ScoredChunk]) -> RouteDecision:
        """Pick a tier for ``question`` given its context."""
        score = max((c.score for c in context), default=0.0)
        if score >= self.threshold:
            reason = f"best context score {score:.3f} >= {self.threshold:.3f}"
            return RouteDecision(Tier.SMALL, self.small_model, score, self.threshold, reason)
        reason = f"best context score {score:.3f} < {self.threshold:.3f}"
        return RouteDecision(Tier.LARGE, self.large_model, score, self.threshold, reason)
