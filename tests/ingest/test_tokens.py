"""Token counting: the memoised counter agrees with tiktoken and keeps document text only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar import ContextEngine
from contextual_avatar.ingest import DocumentCounter, count_tokens


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=12))
def test_the_memoised_count_equals_tiktokens_whatever_was_counted_before(
    texts: list[str],
) -> None:
    counter = DocumentCounter(maxsize=4)  # small: evictions happen between the counts
    for text in texts + texts[::-1]:
        assert counter(text) == count_tokens(text)


def test_a_turn_keeps_counts_of_its_context_chunks_and_never_of_the_question(
    make_engine: Callable[..., ContextEngine], guide_pdf: Path
) -> None:
    question = "How much does an adult ticket cost, asked by caller 4711?"
    with make_engine() as engine:
        engine.ingest(guide_pdf)
        answer = engine.ask("caller-4711", question)
        pipeline = engine._core._built.pipeline
        counter = pipeline.assemble._count  # the one the engine wired
        assert pipeline.record._count_context is counter
    assert isinstance(counter, DocumentCounter)
    assert answer.context, "the turn had context"
    assert all(c.chunk.text in counter for c in answer.context)
    assert question not in counter
    assert answer.text not in counter
