"""The seam between the engine and whatever writes the answer.

A :class:`Responder` gets the question, the context chunks and recent turns, and returns
a :class:`Reply`. A :class:`StreamingResponder` can also stream the answer: text deltas,
then the final :class:`Reply`. The offline extractive answerer and the litellm client
both fit; :func:`stream_reply` streams from either (a non-streaming responder yields its
whole answer as one delta).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from contextual_avatar.types import ScoredChunk, SourceRef, TokenUsage, Turn

__all__ = ["Reply", "Responder", "StreamingResponder", "stream_reply"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A model's answer with its accounting.

    Parameters:
        text: The answer.
        citations: References the answer relies on.
        tokens: Prompt and completion tokens.
        cost_usd: Price of the call.
        model: Which model answered.
        cached_prompt_tokens: Prompt tokens billed at the provider's cached-input price.
        fallback_from: The model that failed before this one answered, if any.
    """

    text: str
    citations: tuple[SourceRef, ...]
    tokens: TokenUsage
    cost_usd: float
    model: str
    cached_prompt_tokens: int = 0
    fallback_from: str | None = None


@runtime_checkable
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


@runtime_checkable
class StreamingResponder(Responder, Protocol):
    """A responder that streams: text deltas, then one final :class:`Reply`.

    Closing the iterator early (or cancelling the task consuming it) must stop the
    generation promptly; that is how a barge-in reaches the model.
    """

    def stream(
        self, question: str, *, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> AsyncIterator[str | Reply]:
        """Stream the answer to ``question``."""
        ...


async def stream_reply(
    responder: Responder,
    question: str,
    *,
    context: Sequence[ScoredChunk],
    history: Sequence[Turn],
) -> AsyncGenerator[str | Reply, None]:
    """Stream from any responder: its own stream if it has one, else one whole delta.

    Yields:
        Text deltas, then the final :class:`Reply` (always last, exactly once).
    """
    if isinstance(responder, StreamingResponder):
        stream = responder.stream(question, context=context, history=history)
        try:
            async for item in stream:
                yield item
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return
    reply = await responder.respond(question, context=context, history=history)
    if reply.text:
        yield reply.text
    yield reply
