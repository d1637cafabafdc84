from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.errors import ConfigError
from contextual_avatar.routing import (
    EvidenceRouter,
    RouteEvidence,
    calibrate_threshold,
    threshold_for_precision,
)
from contextual_avatar.types import Tier

from .helpers import scored

unit = st.floats(min_value=-1, max_value=1, allow_nan=False)
scores = st.lists(unit, max_size=6)
weights = st.floats(min_value=0, max_value=5, allow_nan=False)
evidence = st.builds(
    RouteEvidence, unit, st.floats(min_value=0, max_value=2, allow_nan=False), st.booleans()
)


def router(
    margin_weight: float = 0.0, cache_hit_bonus: float = 0.0, threshold: float = 0.3
) -> EvidenceRouter:
    return EvidenceRouter(
        threshold=threshold,
        small_model="s",
        large_model="l",
        margin_weight=margin_weight,
        cache_hit_bonus=cache_hit_bonus,
    )


def not_worse(before: Tier, after: Tier) -> bool:
    return not (before is Tier.SMALL and after is Tier.LARGE)


@given(
    values=scores,
    bump=st.floats(min_value=0, max_value=1),
    at=st.integers(min_value=0, max_value=5),
)
def test_raising_any_score_never_routes_large_without_margin_weight(values, bump, at):
    r = router(cache_hit_bonus=0.2)
    raised = list(values)
    if raised:
        raised[at % len(raised)] = min(1.0, raised[at % len(raised)] + bump)
    assert not_worse(r.route("q", scored(values)).tier, r.route("q", scored(raised)).tier)


@given(
    values=scores.filter(bool),
    bump=st.floats(min_value=0, max_value=1),
    mw=weights,
    hb=weights.map(lambda w: w / 5),
)
def test_raising_the_best_score_never_routes_large_for_any_weights(values, bump, mw, hb):
    r = router(mw, hb)
    best = max(range(len(values)), key=values.__getitem__)
    raised = list(values)
    raised[best] = min(1.0, raised[best] + bump)
    for hit in (False, True):
        assert not_worse(
            r.route("q", scored(values), cache_hit=hit).tier,
            r.route("q", scored(raised), cache_hit=hit).tier,
        )


@given(
    e=evidence,
    d_top=st.floats(0, 1),
    d_margin=st.floats(0, 1),
    hit=st.booleans(),
    mw=weights,
    hb=weights.map(lambda w: w / 5),
)
def test_more_evidence_in_every_feature_never_routes_large(e, d_top, d_margin, hit, mw, hb):
    r = router(mw, hb)
    more = RouteEvidence(e.top_score + d_top, e.margin + d_margin, e.cache_hit or hit)
    assert not_worse(r.decide(e).tier, r.decide(more).tier)


@given(values=scores, hit=st.booleans())
def test_a_cache_hit_never_routes_large(values, hit):
    r = router(0.5, 0.1)
    assert not_worse(
        r.route("q", scored(values), cache_hit=False).tier,
        r.route("q", scored(values), cache_hit=True).tier,
    )


def test_decision_explains_itself():
    r = EvidenceRouter(threshold=0.3, small_model="small-m", large_model="large-m")
    weak = r.route("q", scored([0.1]))
    strong = r.route("q", scored([0.9]))
    assert (weak.tier, weak.model) == (Tier.LARGE, "large-m")
    assert "< 0.300" in weak.reason
    assert (strong.tier, strong.model) == (Tier.SMALL, "small-m")
    assert strong.score == 0.9


def test_without_model_names_the_decision_leaves_the_model_to_the_tiers():
    r = EvidenceRouter(threshold=0.3)
    assert r.route("q", scored([0.9])).model is None
    assert r.route("q", scored([0.1])).model is None


def test_evidence_features():
    e = RouteEvidence.of(scored([0.2, 0.7, 0.5]), cache_hit=True)
    assert e.top_score == 0.7
    assert math.isclose(e.margin, 0.2)
    assert e.cache_hit
    assert RouteEvidence.of([]) == RouteEvidence(0.0, 0.0, False)
    r = router(margin_weight=1.0, cache_hit_bonus=0.1)
    assert math.isclose(r.evidence_score(e), 0.7 + 0.2 + 0.1)


def test_negative_weights_are_rejected():
    with pytest.raises(ConfigError, match="margin_weight"):
        router(margin_weight=-0.1)


@given(values=st.lists(unit, min_size=1, max_size=40), frac=st.floats(0, 1))
def test_calibrated_threshold_sends_the_asked_share_large(values, frac):
    t = calibrate_threshold(values, strong_fraction=frac)
    large = sum(v < t for v in values)
    # Ties at the threshold all go small, so the large share can only fall short by ties.
    assert large <= round(frac * len(values))
    assert large >= round(frac * len(values)) - sum(v == t for v in values)


def test_threshold_for_precision_picks_the_lowest_qualifying_threshold():
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    ok = [True, True, True, False, True, False]
    t = threshold_for_precision(s, ok, precision=0.8)
    routed = [o for v, o in zip(s, ok, strict=True) if v >= t]
    assert t == 0.5
    assert sum(routed) / len(routed) >= 0.8
    assert threshold_for_precision(s, ok, precision=1.0) == 0.7
    assert threshold_for_precision([0.5], [False], precision=0.9) > 0.5
