"""Turn a conversational question into search queries.

A follow-up ("and for children?") means nothing alone; with the previous question it
does. A topic change ("is there a lift?") is best found by the question alone. So the
engine searches with both, and a chunk scores its best match to either.
"""

from __future__ import annotations

from collections.abc import Sequence

from contextual_avatar.types import Turn

__all__ = ["conversation_queries"]


def conversation_queries(question: str, history: Sequence[Turn], *, turns: int) -> list[str]:
    """The question alone, then (when there is history) prefixed by the last ``turns`` questions."""
    recent = [t.question for t in history[-turns:]] if turns > 0 else []
    return [question, " ".join([*recent, question])] if recent else [question]
