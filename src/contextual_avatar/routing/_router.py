"""Choose the model tier for a turn from the retrieval evidence.

Strong evidence (a cache hit, a top chunk well above the threshold, a clear margin over
the runner-up) means the answer sits in a small context, which a small model handles;
weak evidence goes to the large one. The evidence is one number::

    evidence = top_score + margin_weight * max(0, top - second) + cache_hit_bonus * cache_hit

compared with one ``threshold``. The weights are non-negative, so the decision is
monotone in every feature: a higher top score, a wider margin or a cache hit never
moves a turn from the small tier to the large one. :func:`calibrate_threshold` sets the
threshold like RouteLLM's "strong-model percentage"; :func:`threshold_for_precision`
sets it so that turns routed small succeed with a target precision.

:class:`SimilarityRouter` is the seam: any object with a ``route(question, context, *,
cache_hit=False)`` method that keeps its contract can replace the router;
:class:`EvidenceRouter` is the one the engine builds from its config.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from contextual_avatar.errors import ConfigError
from contextual_avatar.types import RouteDecision, ScoredChunk, Tier

__all__ = [
    "EvidenceRouter",
    "RouteEvidence",
    "SimilarityRouter",
    "calibrate_threshold",
    "threshold_for_precision",
]


@dataclass(frozen=True, slots=True)
class RouteEvidence:
    """What the router sees of a turn.

    Parameters:
        top_score: Best context cosine (0 with no context).
        margin: Best minus second-best cosine (the best alone when there is one chunk).
        cache_hit: The session cache answered without an index search.
    """

    top_score: float
    margin: float
    cache_hit: bool = False

    @classmethod
    def of(cls, context: Sequence[ScoredChunk], *, cache_hit: bool = False) -> RouteEvidence:
        """Evidence from a turn's context chunks."""
        scores = sorted((c.score for c in context), reverse=True)
        if not scores:
            return cls(0.0, 0.0, cache_hit)
        second = scores[1] if len(scores) > 1 else 0.0
        return cls(scores[0], max(0.0, scores[0] - second), cache_hit)


@runtime_checkable
class SimilarityRouter(Protocol):
    """Picks the tier for a turn; the seam for a host's own router (e.g. a trained RouteLLM one).

    Contract (``contextual_avatar.testing.SimilarityRouterContract`` checks it):

    * ``route`` returns a :class:`~contextual_avatar.types.RouteDecision` whose ``tier`` is a
      :class:`~contextual_avatar.types.Tier`, for any context, including an empty one.
    * It is pure and fast: the same question, context and ``cache_hit`` give the same tier,
      and it must not block, because the engine calls it on the event loop between
      retrieval and the first token. Anything slow (a model load) belongs in ``__init__``.
    * Its advice is monotone in the evidence: a cache hit, or a higher top context score,
      never moves a turn from the small tier to the large one. Cheaper evidence of a good
      answer must not cost more.
    * ``RouteDecision.model`` may be left ``None``: the engine fills it with the routed
      tier's responder model (:meth:`~contextual_avatar.routing.Tiers.resolve`).
    """

    def route(
        self, question: str, context: Sequence[ScoredChunk], *, cache_hit: bool = False
    ) -> RouteDecision:
        """Decide which tier answers ``question`` with ``context``."""
        ...


class EvidenceRouter:
    """Routes to the small tier when the retrieval evidence reaches ``threshold``."""

    def __init__(
        self,
        *,
        threshold: float,
        small_model: str | None = None,
        large_model: str | None = None,
        margin_weight: float = 0.0,
        cache_hit_bonus: float = 0.0,
    ) -> None:
        """Create the router.

        Args:
            threshold: Evidence at or above which the small tier answers.
            small_model: Name reported for the small tier; ``None`` leaves it to the tiers.
            large_model: Name reported for the large tier; ``None`` leaves it to the tiers.
            margin_weight: Weight of the top-1/top-2 margin (>= 0).
            cache_hit_bonus: Evidence added on a cache hit (>= 0).

        Raises:
            ConfigError: A weight is negative or not finite (that would break monotonicity).
        """
        for name, value in (("margin_weight", margin_weight), ("cache_hit_bonus", cache_hit_bonus)):
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        self.threshold = threshold
        self.small_model = small_model
        self.large_model = large_model
        self.margin_weight = margin_weight
        self.cache_hit_bonus = cache_hit_bonus

    def evidence_score(self, evidence: RouteEvidence) -> float:
        """The single number compared with the threshold."""
        return (
            evidence.top_score
            + self.margin_weight * max(0.0, evidence.margin)
            + self.cache_hit_bonus * evidence.cache_hit
        )

    def decide(self, evidence: RouteEvidence) -> RouteDecision:
        """Pick a tier from ready-made evidence."""
        score = self.evidence_score(evidence)
        hit = ", cache hit" if evidence.cache_hit else ""
        if score >= self.threshold:
            reason = f"evidence {score:.3f} >= {self.threshold:.3f}{hit}"
            return RouteDecision(Tier.SMALL, score, self.threshold, reason, model=self.small_model)
        reason = f"evidence {score:.3f} < {self.threshold:.3f}{hit}"
        return RouteDecision(Tier.LARGE, score, self.threshold, reason, model=self.large_model)

    def route(
        self, question: str, context: Sequence[ScoredChunk], *, cache_hit: bool = False
    ) -> RouteDecision:
        """Pick a tier for ``question`` given its context."""
        return self.decide(RouteEvidence.of(context, cache_hit=cache_hit))


def calibrate_threshold(scores: Sequence[float], *, strong_fraction: float) -> float:
    """The threshold that sends ``strong_fraction`` of these turns to the large model.

    RouteLLM calibrates its routers by the share of calls the strong model should get;
    this is the same on evidence scores from a sample of real turns.

    Args:
        scores: Evidence scores (:meth:`EvidenceRouter.evidence_score`) of sample turns.
        strong_fraction: Share of turns for the large tier, in ``[0, 1]``.

    Returns:
        A threshold; turns scoring at or above it go small.
    """
    if not 0.0 <= strong_fraction <= 1.0:
        raise ConfigError(f"strong_fraction must be in [0, 1], got {strong_fraction!r}")
    ordered = sorted(scores)
    if not ordered:
        return 0.0
    n_large = round(strong_fraction * len(ordered))
    if n_large >= len(ordered):
        return math.nextafter(ordered[-1], math.inf)
    return ordered[n_large]


def threshold_for_precision(
    scores: Sequence[float], succeeded: Sequence[bool], *, precision: float, min_small: int = 1
) -> float:
    """The lowest threshold whose small-routed turns succeed with at least ``precision``.

    Args:
        scores: Evidence scores of sample turns.
        succeeded: Whether the small tier answered each of those turns well.
        precision: Target share of small-routed turns that succeed.
        min_small: Fewest turns that must route small for a threshold to count.

    Returns:
        The threshold (above every score, i.e. "always large", when none qualifies).
    """
    if len(scores) != len(succeeded):
        raise ConfigError("scores and succeeded must have the same length")
    pairs = sorted(zip(scores, succeeded, strict=True), key=lambda p: -p[0])
    best = math.inf
    good = 0
    for i, (score, ok) in enumerate(pairs, 1):
        good += ok
        tie_next = i < len(pairs) and pairs[i][0] == score
        if not tie_next and i >= min_small and good / i >= precision:
            best = score
    if math.isinf(best):
        return math.nextafter(max(scores, default=0.0), math.inf)
    return best
