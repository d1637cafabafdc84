"""Tiers: fallback before the first delta only, host responders per tier, model resolution."""

from __future__ import annotations

import pytest

from contextual_avatar.errors import ModelError
from contextual_avatar.routing import (
    EvidenceRouter,
    ExtractiveResponder,
    LiteLLMResponder,
    LLMConfig,
    Reply,
    RoutingConfig,
    Tiers,
    build_tiers,
)
from contextual_avatar.types import RouteDecision, Tier

from .fakes import Scripted, hashing_embed
from .helpers import HARBOUR


async def drain(tiers: Tiers, tier: Tier, got: list[str | Reply] | None = None):
    got = [] if got is None else got
    async for item in tiers.stream(tier, "Who is the guide?", context=HARBOUR, history=[]):
        got.append(item)
    return got


@pytest.fixture
def extractive() -> ExtractiveResponder:
    return ExtractiveResponder(hashing_embed, count_tokens=lambda t: len(t.split()))


@pytest.mark.parametrize("tier", list(Tier))
async def test_a_tier_failing_before_its_first_delta_falls_back(tier):
    broken, working = Scripted("broken", fail_at=0), Scripted("working")
    tiers = Tiers(broken, working) if tier is Tier.SMALL else Tiers(working, broken)
    *deltas, reply = await drain(tiers, tier)
    assert deltas == list(working.deltas)
    assert isinstance(reply, Reply)
    assert (reply.model, reply.fallback_from) == ("working", "broken")


async def test_a_tier_failing_after_a_delta_raises_without_fallback():
    broken, working = Scripted("broken", fail_at=1), Scripted("working")
    got: list[str | Reply] = []
    with pytest.raises(ModelError, match="down"):
        await drain(Tiers(broken, working), Tier.SMALL, got)
    assert got == [broken.deltas[0]]  # words already spoken are not repeated by another model
    assert working.calls == 0


async def test_a_tier_failing_after_its_last_delta_raises():
    broken, working = Scripted("broken", fail_at=2), Scripted("working")
    with pytest.raises(ModelError, match="broke off"):
        await drain(Tiers(broken, working), Tier.SMALL)
    assert working.calls == 0


async def test_fallback_off_or_both_tiers_down_raises():
    with pytest.raises(ModelError):
        await drain(Tiers(Scripted("a", fail_at=0), Scripted("b"), fallback=False), Tier.SMALL)
    both = Tiers(Scripted("a", fail_at=0), Scripted("b", fail_at=0))
    with pytest.raises(ModelError, match="b is down"):
        await drain(both, Tier.SMALL)


async def test_one_responder_for_both_tiers_is_not_retried():
    same = Scripted("same", fail_at=0)
    with pytest.raises(ModelError):
        await drain(Tiers(same, same), Tier.LARGE)
    assert same.calls == 1


def test_build_tiers_from_the_config_alone(extractive):
    tiers = build_tiers(RoutingConfig(), extractive=extractive)
    assert tiers.small is extractive
    assert tiers.large is extractive
    assert tiers.fallback


@pytest.mark.parametrize("fallback", [True, False])
def test_a_host_responder_replaces_only_its_tier(extractive, fallback):
    host = Scripted("host")
    config = RoutingConfig(large=LLMConfig(model="openai/big"), fallback=fallback)
    small_only = build_tiers(config, extractive=extractive, small=host)
    assert small_only.small is host
    assert isinstance(small_only.large, LiteLLMResponder)
    assert small_only.large.model == "openai/big"
    assert small_only.fallback is fallback
    large_only = build_tiers(config, extractive=extractive, large=host)
    assert (large_only.small, large_only.large) == (extractive, host)
    assert large_only.fallback is fallback
    other = Scripted("other")
    both = build_tiers(config, extractive=extractive, small=host, large=other)
    assert (both.small, both.large, both.fallback) == (host, other, fallback)


async def test_a_host_small_tier_falls_back_to_the_configured_large(extractive):
    tiers = build_tiers(RoutingConfig(), extractive=extractive, small=Scripted("host", fail_at=0))
    *_, reply = await drain(tiers, Tier.SMALL)
    assert (reply.model, reply.fallback_from) == ("extractive", "host")
    assert "Margaret" in reply.text


def test_resolve_names_the_routed_tiers_model():
    tiers = Tiers(Scripted("small-m"), Scripted("large-m"))
    for tier, model in ((Tier.SMALL, "small-m"), (Tier.LARGE, "large-m")):
        decision = RouteDecision(tier, 0.5, 0.3, "custom")
        assert decision.model is None
        resolved = tiers.resolve(decision)
        assert resolved.model == model
        assert (resolved.tier, resolved.score, resolved.reason) == (tier, 0.5, "custom")
    named = RouteDecision(Tier.SMALL, 0.5, 0.3, "named", model="mine")
    assert tiers.resolve(named) is named


def test_an_evidence_router_without_names_resolves_through_the_tiers():
    tiers = Tiers(Scripted("small-m"), Scripted("large-m"))
    router = EvidenceRouter(threshold=0.5)
    assert tiers.resolve(router.route("q", HARBOUR)).model == "small-m"
    assert tiers.resolve(router.route("q", [])).model == "large-m"
