"""One user turn as the integrations hand it on: the engine's answer and its sources.

A voice framework either lets the engine answer (cited answers) or keeps its own LLM and
gives it the engine's context (cited context). Both start from the same :class:`CitedTurn`;
:meth:`CitedTurn.context_message` is the text added to the framework's LLM context. It
names each source so the model can ground its reply, and asks it not to read the
sources aloud: citations travel beside the spoken text, never in it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from contextual_avatar.types import Answer, SourceRef, merge_refs

__all__ = ["CONTEXT_HEADER", "CitationsCallback", "CitedTurn"]

#: Opens the context message; also how a framework's own context is searched for it.
CONTEXT_HEADER = "Context for the user's next message, from the documents:"
_GUIDANCE = (
    "Answer from this context only, in one or two short spoken sentences. If it does not "
    "contain the answer, say you do not know. Do not read source names, page numbers, "
    "times or brackets aloud: the application shows the sources."
)
_SPACE = re.compile(r"\s+")

#: Called with each finished turn (plain function or coroutine function).
CitationsCallback = Callable[["CitedTurn"], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class CitedTurn:
    """A user's turn with what the engine found for it.

    Parameters:
        session_id: The caller's session (one per call or participant).
        question: What the user said.
        answer: The engine's answer: its text, citations, context chunks, cache hit,
            route and timings.
        spoken: The text that was spoken for the answer (citation markers removed);
            empty when another LLM answered from the context.
    """

    session_id: str
    question: str
    answer: Answer
    spoken: str = ""

    @property
    def citations(self) -> tuple[SourceRef, ...]:
        """Where the engine's answer comes from (pages or time ranges)."""
        return self.answer.citations

    @property
    def sources(self) -> tuple[SourceRef, ...]:
        """Every source in the context given to the model, merged."""
        return merge_refs([ref for c in self.answer.context for ref in c.chunk.refs])

    def context_message(self) -> str:
        """The context as one message for another LLM: each source named, then its text."""
        lines = [CONTEXT_HEADER]
        for scored in self.answer.context:
            chunk = scored.chunk
            label = "; ".join(str(r) for r in chunk.refs) or "document"
            lines.append(f"- ({label}) {_SPACE.sub(' ', chunk.text).strip()}")
        if len(lines) == 1:
            lines.append("- (nothing in the documents matches this message)")
        lines.append(_GUIDANCE)
        return "\n".join(lines)
