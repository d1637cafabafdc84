"""The live cost report's arithmetic: provider counts only, and the issue's live target."""

from __future__ import annotations

import pytest
from benchmarks.cost_live import LiveArm, summarise, target
from benchmarks.cost_live_frameworks import Usage
from benchmarks.cost_routing import Turned, unpriced
from benchmarks.cost_table import extra_arms, smallest_name

from contextual_avatar.routing._litellm import model_prices


def turned(question: str, gold: str) -> Turned:
    # The report reads only the question and the gold answer of a replayed turn.
    return Turned("s", "c", question, gold, None, None)  # type: ignore[arg-type]


TURNS = [turned("Who is the guide?", "Margaret"), turned("Where?", "the old pier")]


def arm(answers: list[str], usages: list[list[Usage]], calls: list[int]) -> LiveArm:
    return LiveArm("x", "m", answers, [0.5, 0.7], usages, calls)


def test_an_arm_is_priced_from_the_providers_counts_condense_calls_included() -> None:
    usages = [[Usage("answer", 100, 10)], [Usage("condense", 80, 12), Usage("answer", 150, 9, 64)]]
    out = summarise(arm(["Margaret", "at the old pier"], usages, [1, 2]), TURNS, "gpt-4o")
    p = model_prices("gpt-4o")
    expected = p.cost(100, 10) + p.cost(80, 12) + p.cost(150, 9, 64)
    assert out["usd_per_1000_turns"] == pytest.approx(1000 * expected / 2)
    assert out["llm_calls_per_turn"] == 1.5
    assert out["prompt_tokens_per_turn"] == 165
    assert out["cached_tokens_per_turn"] == 32
    assert out["condense_calls"] == 1
    # Token F1 against gold, articles dropped: "at old pier" vs "old pier" is 0.8.
    assert out["f1"] == pytest.approx((1.0 + 0.8) / 2)


def test_a_call_without_usage_leaves_the_arm_unpriced_not_estimated() -> None:
    usages = [[Usage("answer", 100, 10)], [Usage("answer", 150, 9)]]
    out = summarise(arm(["a", "b"], usages, [1, 2]), TURNS, "gpt-4o")  # one call unreported
    assert out["usd_per_1000_turns"] is None
    assert out["prompt_tokens_per_turn"] is None
    assert out["calls_with_provider_usage"] == 2


def test_the_live_target_needs_both_quality_and_saving() -> None:
    base = {"f1": 0.8, "usd_per_1000_turns": 10.0}
    arms = {
        "LangChain default": base,
        "LlamaIndex default": {"f1": 0.0, "usd_per_1000_turns": 5.0},
        "library, cheap but worse": {"f1": 0.7, "usd_per_1000_turns": 1.0},
        "library, good and cheap": {"f1": 0.78, "usd_per_1000_turns": 1.4},
        "library, good but dear": {"f1": 0.9, "usd_per_1000_turns": 2.0},
        "library, unpriced": {"f1": 0.9, "usd_per_1000_turns": None},
    }
    rows = target(arms)["vs LangChain default"]
    assert not rows["library, cheap but worse"]["meets_target"]  # 87.5% of F1
    assert rows["library, good and cheap"]["meets_target"]  # 97.5% of F1, 86% saved
    assert rows["library, good and cheap"]["saved"] == pytest.approx(0.86)
    assert not rows["library, good but dear"]["meets_target"]  # 80% saved
    assert rows["library, unpriced"]["saved"] is None
    assert not rows["library, unpriced"]["meets_target"]
    # A baseline with F1 0 gives no quality ratio (nothing to be 95% of).
    assert (
        target(arms)["vs LlamaIndex default"]["library, good and cheap"]["f1_vs_baseline"] is None
    )


def test_the_smallest_budget_row_joins_the_table() -> None:
    ds = {"arms": {"library, cache": {"x": 1}}, "matched_recall": {},
          "smallest_budget_at_framework_recall": {"context_tokens": 300, "y": 2}}  # fmt: skip
    arms = extra_arms(ds)
    assert arms[smallest_name(ds["smallest_budget_at_framework_recall"])]["y"] == 2
    assert "300 tok" in smallest_name({"context_tokens": 300})
    assert extra_arms({**ds, "smallest_budget_at_framework_recall": None}).keys() == {
        "library, cache"
    }


def test_live_tiers_never_zero_the_prices_they_are_billed_at() -> None:
    # A local model is registered at 0; a known one keeps litellm's prices for --price-as.
    assert unpriced("gpt-4o") is None
    assert unpriced("openai/not-in-the-map-xyz") == 0.0
    assert model_prices("gpt-4o").output > 0
