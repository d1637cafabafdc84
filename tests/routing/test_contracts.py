"""The shipped contract suites, run against the built-in router and responders.

A host subclasses the same classes for its own router or model client; running them here
keeps the contracts honest (every built-in implementation passes them).
"""

from __future__ import annotations

import pytest

from contextual_avatar.routing import (
    EvidenceRouter,
    ExtractiveResponder,
    LiteLLMResponder,
    LLMConfig,
    RoutingConfig,
)
from contextual_avatar.testing import ResponderContract, SimilarityRouterContract

from .fakes import Scripted, hashing_embed


class TestEvidenceRouterContract(SimilarityRouterContract):
    @pytest.fixture
    def router(self) -> EvidenceRouter:
        return EvidenceRouter(threshold=0.3)


class TestWeightedEvidenceRouterContract(SimilarityRouterContract):
    @pytest.fixture
    def router(self) -> EvidenceRouter:
        return EvidenceRouter(
            threshold=0.6,
            small_model="s",
            large_model="l",
            margin_weight=1.5,
            cache_hit_bonus=0.2,
        )


class TestExtractiveResponderContract(ResponderContract):
    @pytest.fixture
    def responder(self) -> ExtractiveResponder:
        return ExtractiveResponder(hashing_embed, count_tokens=lambda t: len(t.split()))


class TestStreamingResponderContract(ResponderContract):
    """An in-process streaming responder: the stream waits between deltas."""

    @pytest.fixture
    def responder(self) -> Scripted:
        return Scripted("scripted", ("Margaret ", "is ", "the ", "guide."))


@pytest.mark.slow
class TestLiteLLMResponderContract(ResponderContract):
    """The litellm client against the real local SmolLM2 server."""

    @pytest.fixture
    def responder(self, local_tier: LLMConfig) -> LiteLLMResponder:
        return LiteLLMResponder(
            local_tier, routing=RoutingConfig(retries=0, timeout_s=120, first_token_timeout_s=120)
        )
