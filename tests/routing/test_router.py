from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.routing import SimilarityRouter
from contextual_avatar.types import Chunk, ScoredChunk, SourceRef, Span, Tier

scores = st.lists(st.floats(min_value=-1, max_value=1, allow_nan=False), max_size=6)


def ctx(values: list[float]) -> list[ScoredChunk]:
    return [ScoredChunk(Chunk(str(i), "d", i, "t", (Span(0, 1, SourceRef("a")),)), v) for i, v in enumerate(values)]


@given(values=scores, bump=st.floats(min_value=0, max_value=1), at=st.integers(min_value=0, max_value=5))
def test_more_evidence_never_routes_to_the_larger_model(values, bump, at):
    router = SimilarityRouter(threshold=0.3, small_model="s", large_model="l")
    before = router.route("q", ctx(values))
    raised = list(values)
    if raised:
        raised[at % len(raised)] = min(1.0, raised[at % len(raised)] + bump)
    after = router.route("q", ctx(raised))
    assert not (before.tier is Tier.SMALL and after.tier is Tier.LARGE)


def test_decision_explains_itself():
    router = SimilarityRouter(threshold=0.3, small_model="small-m", large_model="large-m")
    weak = router.route("q", ctx([0.1]))
    strong = router.route("q", ctx([0.9]))
    assert (weak.tier, weak.model) == (Tier.LARGE, "large-m") and "< 0.300" in weak.reason
    assert (strong.tier, strong.model) == (Tier.SMALL, "small-m") and strong.score == 0.9
