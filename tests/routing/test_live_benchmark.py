"""The cost benchmark's ``--live`` mode: RouteLLM's APGR, both real tiers, the frameworks live."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from benchmarks.cost_savings import apgr, main, pgr_curve, share_for_pgr
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.testing import LLMServer

quality = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def tiers(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """Per-turn F1 of a weak and a strong tier; the strong one better on average."""
    n = draw(st.integers(min_value=1, max_value=30))
    weak = draw(st.lists(quality, min_size=n, max_size=n))
    strong = draw(st.lists(quality, min_size=n, max_size=n))
    if sum(strong) - sum(weak) < 1e-3:
        weak, strong = [0.0] * n, [max(x, 0.5) for x in strong]
    return weak, strong


@given(tiers())
def test_pgr_runs_from_no_gap_recovered_to_all_of_it(pair: tuple[list[float], list[float]]) -> None:
    weak, strong = pair
    curve = pgr_curve([random.random() for _ in weak], weak, strong)
    assert curve[0] == (0.0, pytest.approx(0.0, abs=1e-9))
    assert curve[-1][0] == 1.0
    assert curve[-1][1] == pytest.approx(1.0)


@given(tiers(), st.randoms(use_true_random=False))
def test_the_oracle_router_has_the_highest_apgr(
    pair: tuple[list[float], list[float]], rnd: random.Random
) -> None:
    # Evidence = how much the weak tier loses nothing: sending the turns where the strong
    # tier gains most to it first is optimal at every share, so no order beats it.
    weak, strong = pair
    oracle = apgr(pgr_curve([w - s for w, s in zip(weak, strong, strict=True)], weak, strong))
    other = apgr(pgr_curve([rnd.random() for _ in weak], weak, strong))
    assert oracle is not None and other is not None
    assert oracle >= other - 1e-9


def test_no_gap_means_no_apgr() -> None:
    curve = pgr_curve([0.1, 0.9], [0.5, 0.5], [0.5, 0.5])
    assert apgr(curve) is None
    assert share_for_pgr(curve, 0.5) is None


def test_cpt_is_the_first_share_reaching_the_target() -> None:
    # Turn 0 is where the strong tier helps; a router giving it the least evidence
    # recovers the whole gap by sending half the turns large.
    curve = pgr_curve([0.0, 1.0], weak=[0.0, 1.0], strong=[1.0, 1.0])
    assert share_for_pgr(curve, 1.0) == 0.5
    # PGR is 0 below a share of 0.5 and 1 from it: on the 21-point grid the trapezoids
    # give 0.5 (the upper half) + 0.025 (the step between 0.45 and 0.5).
    assert apgr(curve) == pytest.approx(0.525)


STORIES = [
    (
        "The harbour tour starts at the old pier at ten. Margaret, the guide, walks visitors "
        "past the lighthouse and the fish market. Tickets cost nine euros.",
        [("Where does the tour start?", "the old pier"), ("Who is the guide?", "Margaret")],
    ),
    (
        "The museum opens at nine and closes at five. Entry is free on Sundays. The cafe on "
        "the roof serves lunch until two.",
        [("When does the museum open?", "at nine"), ("When is entry free?", "on Sundays")],
    ),
]


def tiny_coqa(path: Path) -> Path:
    """Two stories in CoQA's format: the benchmark's input, without the shared data set."""
    data = []
    for n, (story, turns) in enumerate(STORIES):
        answers = []
        for i, (_, answer) in enumerate(turns, 1):
            start = story.index(answer)
            answers.append(
                {"turn_id": i, "input_text": answer, "span_start": start,
                 "span_end": start + len(answer), "span_text": answer}
            )  # fmt: skip
        questions = [{"turn_id": i, "input_text": q} for i, (q, _) in enumerate(turns, 1)]
        data.append(
            {"id": f"s{n}", "source": "test", "story": story, "questions": questions,
             "answers": answers}
        )  # fmt: skip
    path.write_text(json.dumps({"version": "1.0", "data": data}))
    return path


async def run_live(server: LLMServer, tmp_path: Path, *extra: str) -> dict[str, Any]:
    """``--live`` on two held-out turns, every arm served by the local SmolLM2."""
    await main(
        [
            "--live",
            "--coqa", str(tiny_coqa(tmp_path / "coqa.json")),
            "--passages", "2",
            "--conversations", "2",
            "--live-turns", "2",
            "--live-max-tokens", "8",
            "--small-model", server.model,
            "--large-model", server.model,
            "--api-base", server.api_base,
            "--live-context-window", str(server.n_ctx),
            "--out", str(tmp_path),
            *extra,
        ]
    )  # fmt: skip
    result: dict[str, Any] = json.loads((tmp_path / "cost_savings_live.json").read_text())
    return result


FRAMEWORK_ARMS = ("LangChain default", "LlamaIndex default")


@pytest.mark.slow
async def test_live_mode_answers_with_both_real_tiers_and_both_frameworks(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # Both tiers are the local SmolLM2 (no key here): the point is the real litellm path.
    result = await run_live(llm_server, tmp_path)
    assert result["turns"] == 2
    assert result["prompt_tokens_per_turn"] > 50
    assert all(ex["small"] and ex["large"] for ex in result["examples"])
    assert 0.0 <= result["small_f1"] <= 1.0
    assert len(result["pgr_curve"]) == 21
    assert not (tmp_path / "cost_savings.json").exists()
    # The frameworks ran live over real HTTP, streamed: the two held-out turns are one
    # conversation, so the second turn has history and both frameworks condense it first.
    arms = result["frameworks"]["arms"]
    assert result["frameworks"]["stream"] is True
    for name in FRAMEWORK_ARMS:
        assert arms[name]["llm_calls_per_turn"] == 1.5
        assert all(ex["answer"] for ex in arms[name]["examples"])
        assert 0.0 < arms[name]["ttft_s_median"] < 300
    assert arms["library, cache (large)"]["llm_calls_per_turn"] == 1.0
    # llama.cpp sends no usage in streams: LangChain then has no counts, so no USD,
    # rather than an estimate passed off as the server's.
    lc = arms["LangChain default"]
    assert lc["calls_with_provider_usage"] == 0
    assert lc["usd_per_1000_turns"] is None


@pytest.mark.slow
async def test_unstreamed_live_arms_bill_the_servers_own_counts(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    result = await run_live(llm_server, tmp_path, "--live-no-stream")
    arms = result["frameworks"]["arms"]
    for name, arm in arms.items():
        # Every call made carried the server's usage, condense calls included.
        assert arm["calls_with_provider_usage"] == round(arm["llm_calls_per_turn"] * 2), name
        assert arm["prompt_tokens_per_turn"] > 20
        assert 0 < arm["completion_tokens_per_turn"] <= 8 * arm["llm_calls_per_turn"] + 2
        assert arm["usd_per_1000_turns"] > 0
    for name in FRAMEWORK_ARMS:
        assert arms[name]["condense_calls"] == 1
        # A framework's prompts carry its own template and both calls: more than ours.
        assert (
            arms[name]["prompt_tokens_per_turn"]
            > arms["library, cache (large)"]["prompt_tokens_per_turn"]
        )
    # Priced as gpt-4o-mini, the small tier costs less for the same counts.
    assert (
        arms["library, cache (small)"]["usd_per_1000_turns"]
        < arms["library, cache (large)"]["usd_per_1000_turns"]
    )
    target = result["frameworks"]["target"]["vs LlamaIndex default"]["library, cache (small)"]
    assert target["saved"] == pytest.approx(
        1
        - arms["library, cache (small)"]["usd_per_1000_turns"]
        / arms["LlamaIndex default"]["usd_per_1000_turns"]
    )
