"""The seam between the engine and whatever writes the answer.

A :class:`Responder` gets the question, the context chunks and recent turns, and returns
a :class:`Reply`. A :class:`StreamingResponder` can also stream the answer: text deltas,
then the final :class:`Reply`. The offline extractive answerer and the litellm client
both fit; :func:`stream_reply` streams from either (a non-streaming responder yields its
whole answer as one delta).

Host instructions (a platform's system prompt, per turn) reach a responder only if its
``respond``/``stream`` declare an ``instructions`` keyword parameter; older responders
are called exactly as before. The check reads the signature once per class.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from contextual_avatar.types import ScoredChunk, SourceRef, TokenUsage, Turn

__all__ = ["Reply", "Responder", "StreamingResponder", "stream_reply", "takes_instructions"]


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
    """Writes an answer from context. Implementations must not block the event loop.

    Optional capability: a responder whose ``respond`` (and ``stream``) also take a
    keyword parameter ``instructions: str | None = None`` gets the host's instructions
    for the turn (for example an avatar platform's system prompt: persona, tone). They
    belong to that one turn and session: a responder must not keep them for another
    call. Responders without the parameter never receive it.
    """

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


_TAKES: dict[tuple[type, str], bool] = {}


def takes_instructions(responder: object, method: str) -> bool:
    """Whether ``responder.<method>`` declares an ``instructions`` keyword parameter.

    Why by signature: host responders written before instructions existed must keep
    working unchanged; passing them an unknown keyword would raise ``TypeError``.
    Cached per class (the signature of a class's method does not change).
    """
    own = method in getattr(responder, "__dict__", {})  # set on the instance: not cached
    key = (type(responder), method)
    known = None if own else _TAKES.get(key)
    if known is None:
        try:
            param = inspect.signature(getattr(responder, method)).parameters.get("instructions")
        except (AttributeError, TypeError, ValueError):
            param = None
        known = param is not None and param.kind in (
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
        if not own:
            _TAKES[key] = known
    return known


async def stream_reply(
    responder: Responder,
    question: str,
    *,
    context: Sequence[ScoredChunk],
    history: Sequence[Turn],
    instructions: str | None = None,
) -> AsyncGenerator[str | Reply, None]:
    """Stream from any responder: its own stream if it has one, else one whole delta.

    Args:
        responder: Who answers.
        question: The user's turn.
        context: Context chunks, best first.
        history: Recent turns, oldest first.
        instructions: The host's instructions for this turn, passed only to a
            responder that takes them (see :class:`Responder`).

    Yields:
        Text deltas, then the final :class:`Reply` (always last, exactly once).
    """
    if isinstance(responder, StreamingResponder):
        extra: dict[str, Any] = {}
        if instructions is not None and takes_instructions(responder, "stream"):
            extra["instructions"] = instructions
        stream = responder.stream(question, context=context, history=history, **extra)
        try:
            async for item in stream:
                yield item
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return
    extra = {}
    if instructions is not None and takes_instructions(responder, "respond"):
        extra["instructions"] = instructions
    reply = await responder.respond(question, context=context, history=history, **extra)
    if reply.text:
        yield reply.text
    yield reply
