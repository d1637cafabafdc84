from __future__ import annotations

import math

import pytest

from contextual_avatar.errors import ConfigError
from contextual_avatar.routing import CostLedger, baseline_prompt_tokens, register_prices
from contextual_avatar.routing._litellm import model_prices
from contextual_avatar.types import Tier, TokenUsage


def test_prices_come_from_litellms_offline_map():
    mini, big = model_prices("gpt-4o-mini"), model_prices("gpt-4o")
    assert (mini.input, mini.output) == (0.15e-6, 0.60e-6)
    assert (big.input, big.output, big.cached_input) == (2.5e-6, 10e-6, 1.25e-6)
    assert big.context_window == 128_000


def test_turn_cost_saving_and_cached_prefix_discount():
    ledger = CostLedger(baseline_model="gpt-4o")
    e = ledger.record(
        "s",
        model="gpt-4o-mini",
        tier=Tier.SMALL,
        tokens=TokenUsage(1000, 100),
        baseline_prompt_tokens=3000,
    )
    assert math.isclose(e.cost_usd, 1000 * 0.15e-6 + 100 * 0.6e-6)
    assert math.isclose(e.baseline_usd, 3000 * 2.5e-6 + 100 * 10e-6)
    assert math.isclose(e.saved_usd, e.baseline_usd - e.cost_usd)
    cached = ledger.record(
        "s",
        model="gpt-4o",
        tier=Tier.LARGE,
        tokens=TokenUsage(2000, 100),
        cached_prompt_tokens=1500,
        baseline_prompt_tokens=2000,
    )
    assert math.isclose(cached.cost_usd, 500 * 2.5e-6 + 1500 * 1.25e-6 + 100 * 10e-6)
    assert cached.saved_usd > 0  # the baseline pays full price for the same prompt


def test_totals_per_session_and_overall():
    ledger = CostLedger(baseline_model="gpt-4o")
    for session, tier, model in [
        ("a", Tier.SMALL, "gpt-4o-mini"),
        ("a", Tier.LARGE, "gpt-4o"),
        ("b", Tier.SMALL, "gpt-4o-mini"),
    ]:
        ledger.record(
            session, model=model, tier=tier, tokens=TokenUsage(100, 10), baseline_prompt_tokens=500
        )
    ledger.record(
        "b",
        model="gpt-4o-mini",
        tier=Tier.SMALL,
        tokens=TokenUsage(100, 3),
        baseline_prompt_tokens=500,
        interrupted=True,
    )
    a, b, total = ledger.totals("a"), ledger.totals("b"), ledger.totals()
    assert (a.turns, a.small_turns, b.turns, b.interrupted_turns) == (2, 1, 2, 1)
    assert total.turns == 4
    assert math.isclose(total.cost_usd, a.cost_usd + b.cost_usd)
    assert total.completion_tokens == 33
    assert total.baseline_prompt_tokens == 2000
    assert 0 < total.saved_fraction < 1
    assert len(ledger.entries("a")) == 2
    ledger.forget("a")
    assert ledger.totals("a").turns == 0
    assert ledger.totals().turns == 4


def test_extractive_is_free_and_a_free_baseline_saves_nothing():
    ledger = CostLedger(baseline_model="extractive")
    e = ledger.record(
        "s",
        model="extractive",
        tier=Tier.SMALL,
        tokens=TokenUsage(900, 30),
        baseline_prompt_tokens=2000,
    )
    assert e.cost_usd == e.baseline_usd == 0.0
    assert ledger.totals().saved_fraction == 0.0


def test_unknown_model_needs_registered_prices():
    with pytest.raises(ConfigError, match="input_usd_per_mtok"):
        model_prices("openai/never-heard-of-it")
    register_prices(
        "openai/local-thing", input_usd_per_mtok=0, output_usd_per_mtok=0, context_window=2048
    )
    p = model_prices("openai/local-thing")
    assert p.cost(1000, 100) == 0.0
    assert p.context_window == 2048


def test_baseline_prompt_has_top_k_chunks_of_context():
    assert (
        baseline_prompt_tokens(prompt_tokens=700, context_tokens=500, top_k=5, chunk_tokens=256)
        == 200 + 1280
    )
    assert (
        baseline_prompt_tokens(prompt_tokens=50, context_tokens=0, top_k=2, chunk_tokens=256) == 562
    )
    assert (
        baseline_prompt_tokens(prompt_tokens=3000, context_tokens=2900, top_k=5, chunk_tokens=256)
        == 3000
    )
