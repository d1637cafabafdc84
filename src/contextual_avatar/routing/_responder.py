"""The seam between the engine and whatever writes the answer.

A :class:`Responder` gets the question, the context chunks and recent turns, and returns
a :class:`Reply`. The offline extractive answerer and the litellm client both fit it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from contextual_avatar.types import ScoredChunk, SourceRef, TokenUsage, Turn

__all__ = ["Reply", "Responder"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A model's answer with its accounting.

    Parameters:
        text: The answer.
        citations: References the answer relies on.
        tokens: Prompt and completion tokens.
        cost_usd: Price of the call.
        model: Which model answered.
    """

    text: str
    citations: tuple[SourceRef, ...]
    tokens: TokenUsage
    cost_usd: float
    model: str


class Responder(Protocol):
    """Writes an answer from context. Implementations must not block the event loop."""

    @property
    def model(self) -> str:
        """Name of the model, as reported in :class:`~contextual_avatar.types.RouteDecision`."""
        ...

    async def respond(
        self, question: str, *, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> Reply:
        """Answer ``question`` from ``context``."""
        ...
