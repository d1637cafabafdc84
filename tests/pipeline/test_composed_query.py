"""The conversation query's vector, composed from vectors the session already has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from contextual_avatar import Parts
from contextual_avatar.pipeline import TurnState
from contextual_avatar.retrieval import composed_vector
from contextual_avatar.types import Turn

from .conftest import HashEmbedder


class Recording(HashEmbedder):
    """The test embedder, keeping every text it was asked to embed."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts.extend(texts)
        return super().embed(texts)


unit_parts = arrays(np.float32, 8, elements=st.floats(-1, 1, width=32)).filter(
    lambda v: float(np.linalg.norm(v)) > 1e-3
)


@settings(max_examples=100, deadline=None)
@given(unit_parts, st.lists(unit_parts, min_size=1, max_size=3))
def test_the_composed_vector_is_the_unit_direction_of_the_sum(
    question: npt.NDArray[np.float32], previous: list[npt.NDArray[np.float32]]
) -> None:
    total = question + sum(previous, np.zeros(8, dtype=np.float32))
    got = composed_vector(question, previous)
    assert got.dtype == np.float32
    if np.linalg.norm(total) > 1e-3:
        assert np.isclose(np.linalg.norm(got), 1.0, atol=1e-5)
        assert float(got @ total) > 0.999 * float(np.linalg.norm(total))


async def _two_turns(built: Any, session: str, first: str, second: str) -> TurnState:
    """Understand ``first`` in ``session``, record it, then understand ``second``."""
    understand = built.pipeline.understand
    turn = TurnState(session, first)
    await understand(turn)
    await built.history.append(session, Turn(first, "", ()))
    follow = TurnState(session, second)
    await understand(follow)
    return follow


async def test_a_follow_up_embeds_only_its_question_and_composes_the_joined_query(
    make_built,
) -> None:
    embedder = Recording()
    built = make_built(Parts(embedder=embedder))
    follow = await _two_turns(built, "s", "How much are tickets for adults?", "And children?")
    joined = "How much are tickets for adults? And children?"
    assert follow.queries == ["And children?", joined]
    assert joined not in embedder.texts  # composed, not embedded
    expected = composed_vector(
        HashEmbedder().embed(["And children?"])[0],
        [HashEmbedder().embed(["How much are tickets for adults?"])[0]],
    )
    assert np.allclose(follow.vectors[1], expected, atol=1e-6)


async def test_with_composition_off_the_joined_query_is_embedded(make_built) -> None:
    embedder = Recording()
    built = make_built(Parts(embedder=embedder), retrieval={"compose_queries": False})
    follow = await _two_turns(built, "s", "How much are tickets for adults?", "And children?")
    assert follow.queries[1] in embedder.texts
    assert np.allclose(follow.vectors[1], HashEmbedder().embed([follow.queries[1]])[0])


async def test_a_session_composes_from_its_own_history_only(make_built) -> None:
    built = make_built(Parts(embedder=Recording()))
    mine = await _two_turns(built, "alice", "Where is the lighthouse?", "And children?")
    theirs = await _two_turns(built, "bob", "How much are tickets?", "And children?")
    assert mine.queries[1] != theirs.queries[1]
    assert not np.allclose(mine.vectors[1], theirs.vectors[1])
    assert np.allclose(
        theirs.vectors[1],
        composed_vector(
            HashEmbedder().embed(["And children?"])[0],
            [HashEmbedder().embed(["How much are tickets?"])[0]],
        ),
        atol=1e-6,
    )
