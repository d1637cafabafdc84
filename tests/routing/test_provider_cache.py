"""Providers' prompt-cache rules (from litellm's map) and the model of what each caches."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.routing import CostLedger
from contextual_avatar.routing._litellm import ModelPrices, model_prices
from contextual_avatar.routing._provider_cache import (
    CacheCharge,
    CacheRule,
    PromptCacheModel,
    cache_rule,
    prefix_keys,
)
from contextual_avatar.types import Tier, TokenUsage


def count(text: str) -> int:
    return len(text.split())


def prompt(*blocks: int, tag: str = "") -> list[tuple[str, str]]:
    """Messages of the given word counts (distinct text per block index and tag)."""
    return [("user", " ".join(f"{tag}b{i}w{j}" for j in range(n))) for i, n in enumerate(blocks)]


def test_rules_come_from_litellms_map_and_the_providers_documents():
    gpt4o = cache_rule("gpt-4o")
    assert (gpt4o.provider, gpt4o.min_tokens, gpt4o.step_tokens) == ("openai", 1024, 128)
    assert not gpt4o.needs_marks
    assert math.isclose(gpt4o.read_discount, 0.5) and gpt4o.write_premium == 1.0
    assert "not in litellm's map" in gpt4o.source
    assert math.isclose(cache_rule("gpt-5-mini").read_discount, 0.1)
    sonnet = cache_rule("claude-sonnet-4-5")
    assert sonnet.needs_marks and sonnet.min_tokens == 1024
    assert math.isclose(sonnet.write_premium, 1.25) and math.isclose(sonnet.read_discount, 0.1)
    assert "litellm's map" in sonnet.source
    assert cache_rule("claude-haiku-4-5").min_tokens == 4096  # stated in the map
    assert not cache_rule("no-such-model-xyz").caches


def test_openai_reads_the_longest_stored_prefix_in_128_token_steps():
    cache = PromptCacheModel(cache_rule("gpt-4o"))
    first = prompt(1100, 30)
    assert cache.charge(prefix_keys(first, count)).read == 0  # nothing stored yet
    # Same first block (1,104 tokens with framing), new tail: 1,024 + 0 * 128 is billed.
    second = [*first[:1], ("user", "new question")]
    charge = cache.charge(prefix_keys(second, count))
    assert charge.read == 1024 and charge.write == 0
    # A prefix under the minimum is never cached, however often it repeats.
    small = PromptCacheModel(cache_rule("gpt-4o"))
    for _ in range(3):
        assert small.charge(prefix_keys(prompt(500, 10), count)).read == 0


def test_anthropic_caches_only_at_marks_and_bills_writes():
    rule = cache_rule("claude-sonnet-4-5")
    unmarked = PromptCacheModel(rule)
    for _ in range(3):  # without marks Anthropic neither writes nor reads
        assert unmarked.charge(prefix_keys(prompt(1200, 20), count)) == CacheCharge()
    marked = PromptCacheModel(rule)
    keys = prefix_keys(prompt(1200, 20), count)
    first = marked.charge(keys, marks=(0,))
    assert (first.read, first.write) == (0, 1204)
    again = marked.charge(prefix_keys(prompt(1200, 50), count), marks=(0,))
    assert (again.read, again.write) == (1204, 0)


def test_a_sessions_cache_is_its_own():
    rule = cache_rule("gpt-4o")
    alice, bob = PromptCacheModel(rule), PromptCacheModel(rule)
    alice.charge(prefix_keys(prompt(1500, 5), count))
    assert bob.charge(prefix_keys(prompt(1500, 5), count)).read == 0
    assert alice.charge(prefix_keys(prompt(1500, 5), count)).read > 0


@given(
    st.lists(st.lists(st.integers(1, 900), min_size=1, max_size=5), min_size=1, max_size=6),
    st.booleans(),
)
def test_charges_never_exceed_the_prompt_and_follow_the_steps(prompts, anthropic):
    rule = cache_rule("claude-sonnet-4-5" if anthropic else "gpt-4o")
    cache = PromptCacheModel(rule)
    for blocks in prompts:
        keys = prefix_keys(prompt(*blocks), count)
        charge = cache.charge(keys, marks=(len(keys) - 1,))
        assert 0 <= charge.read + charge.write <= keys[-1][0]
        if charge.read:
            assert charge.read >= rule.min_tokens
            assert (charge.read - rule.min_tokens) % rule.step_tokens == 0


def test_billable_lengths():
    rule = CacheRule("m", "openai", 1024, 128, False, 0.5, 1.0, "test")
    assert [rule.billable(n) for n in (1023, 1024, 1151, 1152, 2000)] == [0, 1024, 1024, 1152, 1920]


def test_ledger_bills_cache_writes_at_the_write_price():
    sonnet = model_prices("claude-sonnet-4-5")
    assert math.isclose(sonnet.cache_write, 3.75e-6)
    ledger = CostLedger(baseline_model="claude-sonnet-4-5")
    e = ledger.record(
        "alice",
        model="claude-sonnet-4-5",
        tier=Tier.LARGE,
        tokens=TokenUsage(3000, 50),
        cached_prompt_tokens=1000,
        written_prompt_tokens=1500,
        baseline_prompt_tokens=3000,
    )
    want = 500 * 3e-6 + 1000 * 0.3e-6 + 1500 * 3.75e-6 + 50 * 15e-6
    assert math.isclose(e.cost_usd, want)
    assert e.written_prompt_tokens == 1500
    # Writes never exceed what is left of the prompt after the cached part.
    over = ledger.record(
        "bob",
        model="claude-sonnet-4-5",
        tier=Tier.LARGE,
        tokens=TokenUsage(100, 0),
        cached_prompt_tokens=60,
        written_prompt_tokens=500,
        baseline_prompt_tokens=100,
    )
    assert over.written_prompt_tokens == 40
    assert ledger.totals("alice").written_prompt_tokens == 1500
    assert ledger.totals("bob").written_prompt_tokens == 40  # one caller's writes are its own
    free = ModelPrices("m", input=1.0, output=0.0, cached_input=0.5, context_window=10)
    assert free.cost(10, 0, 0, 4) == 10.0  # no write price: writing costs the input price
