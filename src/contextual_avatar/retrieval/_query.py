"""Turn a conversational question into search queries.

A follow-up ("and for children?") means nothing alone; with the previous question it
does. A topic change ("is there a lift?") is best found by the question alone. So the
engine searches with both, and a chunk scores its best match to either.

The second query's vector need not come from the model: :func:`composed_vector` sums the
question's vector with the previous questions' (which the session embedded on earlier
turns) and normalises. That saves the turn's longer forward pass, most of its embedding
cost, for the same dev-set recall within a quarter of a point (docs/retrieval.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from contextual_avatar.types import Turn

__all__ = ["composed_vector", "conversation_queries"]

Vector = npt.NDArray[np.float32]


def conversation_queries(question: str, history: Sequence[Turn], *, turns: int) -> list[str]:
    """The question alone, then (when there is history) prefixed by the last ``turns`` questions."""
    recent = [t.question for t in history[-turns:]] if turns > 0 else []
    return [question, " ".join([*recent, question])] if recent else [question]


def composed_vector(question: Vector, previous: Sequence[Vector]) -> Vector:
    """The conversation query's vector from its parts' vectors: their normalised sum.

    A sentence embedding is a mean of token vectors, so the sum of the parts' unit
    vectors points where the joined text's would, give or take the context each part's
    tokens lack; measured, not assumed (see the module docstring).
    """
    total = np.asarray(question, dtype=np.float32) + sum(
        (np.asarray(v, dtype=np.float32) for v in previous), np.zeros_like(question)
    )
    norm = float(np.linalg.norm(total))
    return (total / norm if norm > 0 else total).astype(np.float32)
