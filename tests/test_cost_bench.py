"""Smoke test of the cost benchmark's parts: the frameworks' real chains, recorded and priced."""

from __future__ import annotations

import pytest
from benchmarks.cost_frameworks import LC_CONTEXTUALIZE, langchain_arm, llamaindex_arm
from benchmarks.cost_pricing import ArmRecord, Call, counter, price
from benchmarks.cost_savings import completion_text, span_in

STORIES = {
    "harbour": "The harbour tour starts at the old pier. Margaret is the guide. "
    "The lighthouse was built in 1874 and painted red in 1990.",
    "museum": "The museum opens at nine. Tickets cost 9 euros for adults and 4 for children.",
}
TURNS = [("Who is the guide?", "Margaret"), ("When was the lighthouse built?", "1874"),
         ("What colour is it?", "red")]  # fmt: skip


@pytest.fixture(scope="module")
def embed():
    from contextual_avatar.retrieval import MiniLMEmbedder

    return MiniLMEmbedder().embed


def converse(ask, script) -> list[list[str]]:
    history: list[tuple[str, str]] = []
    kinds = []
    for i, (q, gold) in enumerate(TURNS):
        script.condensed = f"{TURNS[i - 1][0]} {TURNS[i - 1][1]} {q}" if i else q
        script.completion = completion_text(gold, 12)
        before = len(script.kinds)
        _, contexts = ask(q, history)
        assert contexts
        kinds.append(script.kinds[before:])
        history.append((q, script.completion))
    return kinds


@pytest.mark.slow
@pytest.mark.parametrize("arm", [langchain_arm, llamaindex_arm])
def test_each_framework_condenses_every_turn_with_history_and_resends_it(arm, embed):
    ask, script = arm(STORIES, embed)
    kinds = converse(ask, script)
    assert kinds == [["answer"], ["condense", "answer"], ["condense", "answer"]]
    last = script.calls[-1]
    sent = " ".join(text for _, text in last)
    assert all(completion_text(g, 12) in sent for _, g in TURNS[:2])  # whole history resent
    if arm is langchain_arm:
        assert script.calls[1][0] == ("system", LC_CONTEXTUALIZE)
    record = ArmRecord("x", {"s": [Call(c, k, "ok") for c, k in
                                   zip(script.calls, script.kinds, strict=True)]}, turns=3)  # fmt: skip
    priced = price(record, "gpt-4o")
    assert priced["llm_calls_per_turn"] == pytest.approx(5 / 3)
    assert priced["prompt_tokens_per_turn"] > 30


def test_completions_have_the_stated_length_and_start_with_the_gold_answer():
    count = counter("gpt-4o")
    for gold in ("Margaret", "no", "", "a rather long answer " * 20):
        text = completion_text(gold, 40)
        assert count(text) == 40
        assert text.startswith(gold.strip()[:20] or "I could not")


def test_gold_span_is_found_in_context_by_position_or_text():
    story = STORIES["harbour"]
    start = story.index("Margaret")
    end = start + len("Margaret is the guide")
    assert span_in(story, start, end, ["The harbour tour starts at the old pier. Margaret is"
                                       " the guide."])  # fmt: skip
    assert span_in(story, start, end, ["Margaret   is the\nguide."])  # whitespace differs
    assert not span_in(story, start, end, ["The lighthouse was built in 1874"])
