"""Pipecat frame processors: cited context for a pipeline's LLM, or cited answers.

Two processors, one per way of using the engine in a Pipecat pipeline (``pip install
'contextual-avatar[pipecat]'``)::

    # Your LLM answers, grounded in the engine's cited context:
    Pipeline([transport.input(), stt, aggregators.user(),
              CitedContextProcessor(engine, session_id=call_id),
              llm, tts, transport.output(), aggregators.assistant()])

    # The engine answers (cache first, routed between its tiers), streamed to the TTS:
    Pipeline([transport.input(), stt, aggregators.user(),
              CitedAnswerProcessor(engine, session_id=call_id),
              tts, transport.output(), aggregators.assistant()])

Both take the question from the last user message of each ``LLMContextFrame`` (what
Pipecat's user aggregator sends); the answer processor also answers a
``TranscriptionFrame`` in a pipeline without aggregators. Citations are never spoken:
they reach the host as a :class:`CitationsFrame` pushed downstream after the text, and
through an ``on_citations`` callback. An
``InterruptionFrame`` (the user barged in) cancels the answer in flight: the engine stops
generating and records the turn as interrupted.
"""

from __future__ import annotations

import inspect
import logging
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from contextual_avatar.errors import ContextualAvatarError, MissingDependencyError
from contextual_avatar.integrations._spoken import SpokenText
from contextual_avatar.integrations._turn import CitationsCallback, CitedTurn
from contextual_avatar.types import Answer, SourceRef

try:
    from pipecat.frames.frames import (
        DataFrame,
        Frame,
        LLMContextFrame,
        LLMFullResponseEndFrame,
        LLMFullResponseStartFrame,
        LLMTextFrame,
        TranscriptionFrame,
    )
    from pipecat.processors.aggregators.llm_context import (
        LLMContext,
        LLMContextMessage,
        standard_message_text,
    )
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
    from pipecat.utils.errors import ErrorCategory
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("The Pipecat integration", "pipecat", "pipecat-ai") from exc

if TYPE_CHECKING:
    from contextual_avatar import AsyncContextEngine

__all__ = [
    "CitationsFrame",
    "CitedAnswerProcessor",
    "CitedContextProcessor",
    "last_user_text",
]

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"


@dataclass
class CitationsFrame(DataFrame):
    """Where a turn's answer comes from, pushed downstream after the turn's text.

    It travels in order with the text frames (a data frame), so an output transport or
    a UI processor can show the sources when the answer is spoken; TTS services pass it
    on without speaking it.

    Parameters:
        turn: The question, the engine's answer (with its context and timings) and
            the spoken text.
        citations: The answer's sources (:class:`~contextual_avatar.SourceRef`).
    """

    turn: CitedTurn
    citations: tuple[SourceRef, ...] = field(default=())


def last_user_text(context: LLMContext) -> str:
    """The text of the last message in ``context``, if the user wrote it, else ``""``."""
    messages = context.get_messages()
    if not messages:
        return ""
    last = messages[-1]
    if isinstance(last, dict) and last.get("role") == "user":
        return standard_message_text(last).strip()
    return ""


class _EngineProcessor(FrameProcessor):
    """What both processors share: the engine, the session and the citations callback."""

    def __init__(
        self,
        engine: AsyncContextEngine,
        *,
        session_id: str,
        collection: str = DEFAULT_COLLECTION,
        on_citations: CitationsCallback | None = None,
        **kwargs: Any,
    ) -> None:
        """Ask ``engine`` for ``session_id`` (one per call or participant).

        Args:
            engine: The engine, opened by the host (and closed by it).
            session_id: The caller's session; sessions never share cache or history.
            collection: The knowledge base to answer from.
            on_citations: Called with each finished :class:`CitedTurn`.
            **kwargs: Passed to Pipecat's ``FrameProcessor`` (e.g. ``name``).
        """
        super().__init__(**kwargs)
        self._engine = engine
        self._session_id = session_id
        self._collection = collection
        self._on_citations = on_citations

    @property
    def session_id(self) -> str:
        """The session this processor asks for."""
        return self._session_id

    async def _report(self, exc: ContextualAvatarError) -> None:
        """Tell the pipeline the engine failed this turn (an ``ErrorFrame`` upstream)."""
        await self.push_error(
            error_msg=f"contextual-avatar: {exc}",
            exception=exc,
            category=ErrorCategory.APPLICATION,
        )

    async def _deliver(self, turn: CitedTurn, citations: tuple[SourceRef, ...]) -> None:
        """Push the turn's citations downstream and hand them to the callback."""
        await self.push_frame(CitationsFrame(turn=turn, citations=citations))
        if self._on_citations is not None:
            result = self._on_citations(turn)
            if inspect.isawaitable(result):
                await result


class CitedContextProcessor(_EngineProcessor):
    """Adds the engine's cited context to the LLM context before your LLM service runs.

    Place it between the user context aggregator and the LLM service. For each
    ``LLMContextFrame`` it asks the engine (cache first) about the last user message and
    passes on a copy of the context with the sources as a system message just before
    that message; the shared context is left as it was, so sources never pile up turn
    after turn. A frame whose context ends in no user message passes unchanged; a
    speculative one (Pipecat's turn prediction) is grounded like any other, and is a turn
    for the engine.

    The engine answers each turn itself too, with its configured tiers: keep the
    default offline answerer for this processor (it costs milliseconds), since the
    answer your LLM speaks is the one that counts. The engine's answer is on the
    :class:`CitationsFrame` and the callback, beside the context's sources.
    """

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Ground each user turn in the engine's context; pass everything else on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame) and direction is FrameDirection.DOWNSTREAM:
            question = last_user_text(frame.context)
            if question:
                await self._ground(frame, question)
                return
        await self.push_frame(frame, direction)

    async def _ask(self, question: str) -> CitedTurn:
        answer = await self._engine.ask(self._session_id, question, collection=self._collection)
        return CitedTurn(self._session_id, question, answer)

    async def _ground(self, frame: LLMContextFrame, question: str) -> None:
        try:
            turn = await self._ask(question)
        except ContextualAvatarError as exc:
            # The LLM still answers, ungrounded, rather than leave the caller in silence.
            await self._report(exc)
            await self.push_frame(frame)
            return
        messages = list(frame.context.get_messages())
        source: LLMContextMessage = cast(
            "LLMContextMessage", {"role": "system", "content": turn.context_message()}
        )
        grounded = LLMContext(
            messages=[*messages[:-1], source, messages[-1]],
            tools=frame.context.tools,
            tool_choice=frame.context.tool_choice,
        )
        await self.push_frame(LLMContextFrame(context=grounded, speculation=frame.speculation))
        await self._deliver(turn, turn.sources)


class CitedAnswerProcessor(_EngineProcessor):
    """Answers each user turn with the engine, streaming text frames as an LLM service does.

    Use it in place of the pipeline's LLM service. Each answer is framed by
    ``LLMFullResponseStartFrame`` / ``LLMFullResponseEndFrame`` with ``LLMTextFrame``
    deltas in between (so Pipecat's TTS services and assistant aggregator treat it as
    an LLM's reply), citation markers removed from the text. An ``InterruptionFrame``
    cancels the answer in flight: the engine stops its model and records the turn as
    interrupted; nothing more of that answer is pushed.

    The engine keeps the conversation per session itself, so only the last user
    message of a context is used; the context's system prompt does not reach the
    engine's tiers (configure them through ``EngineConfig.routing``). Speculative
    context frames (a turn not yet ended) are not answered: leave Pipecat's
    speculative turn strategies off with this processor.
    """

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Answer user turns; pass every other frame on."""
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame) and direction is FrameDirection.DOWNSTREAM:
            question = last_user_text(frame.context)
            if question and not frame.speculation:
                await self._answer(question)
            else:
                log.debug("context frame without a confirmed user turn: not answered")
            return
        await self.push_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and frame.text.strip():
            await self._answer(frame.text.strip())

    async def _answer(self, question: str) -> None:
        spoken = SpokenText()
        said: list[str] = []
        answer: Answer | None = None
        await self.push_frame(LLMFullResponseStartFrame())
        stream = self._engine.ask_stream(self._session_id, question, collection=self._collection)
        # A barge-in cancels this task while it waits on the stream: aclosing ends the
        # engine's turn (recorded as interrupted) before the cancellation propagates.
        try:
            async with aclosing(stream) as items:
                async for item in items:
                    if isinstance(item, Answer):
                        answer = item
                    elif text := spoken.feed(item):
                        said.append(text)
                        await self.push_frame(LLMTextFrame(text))
        except ContextualAvatarError as exc:
            await self._report(exc)  # the response still ends, so nothing waits on it
        if rest := spoken.flush():
            said.append(rest)
            await self.push_frame(LLMTextFrame(rest))
        await self.push_frame(LLMFullResponseEndFrame())
        if answer is not None:
            turn = CitedTurn(self._session_id, question, answer, spoken="".join(said))
            await self._deliver(turn, answer.citations)
