"""LiveKit Agents: cited context added to a user's turn before the agent's LLM runs.

LiveKit calls ``Agent.on_user_turn_completed(turn_ctx, new_message)`` when the user has
finished speaking and before the LLM answers; ``turn_ctx`` is a copy of the chat context
for this one reply (LiveKit does not keep edits to it), so the sources added there ground
this reply and do not pile up in the conversation (``pip install
'contextual-avatar[livekit]'``)::

    from livekit.agents import Agent
    from contextual_avatar.integrations.livekit import add_cited_context, speakable

    class Avatar(Agent):
        def __init__(self, engine, call_id):
            super().__init__(instructions="You are the museum's guide.")
            self._engine, self._call_id = engine, call_id

        async def on_user_turn_completed(self, turn_ctx, new_message):
            turn = await add_cited_context(
                self._engine, turn_ctx, new_message, session_id=self._call_id
            )
            # turn.sources: the pages or time ranges behind this reply, for the UI

        def tts_node(self, text, model_settings):  # citation markers are never spoken
            return super().tts_node(speakable(text), model_settings)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar.errors import MissingDependencyError
from contextual_avatar.integrations._spoken import speakable, strip_citations
from contextual_avatar.integrations._turn import CitedTurn

try:
    from livekit.agents import llm
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError(
        "The LiveKit Agents integration", "livekit", "livekit-agents"
    ) from exc

if TYPE_CHECKING:
    from contextual_avatar import AsyncContextEngine

__all__ = ["CitedTurn", "add_cited_context", "speakable", "strip_citations"]


async def add_cited_context(
    engine: AsyncContextEngine,
    turn_ctx: llm.ChatContext,
    new_message: llm.ChatMessage,
    *,
    session_id: str,
    collection: str = "default",
) -> CitedTurn | None:
    """Ask the engine about ``new_message`` and add its cited context to ``turn_ctx``.

    The context goes in as one system message at the end of ``turn_ctx``; LiveKit
    appends ``new_message`` after it, so the model reads the sources right before the
    question. The engine answers the turn too (with the default offline answerer this
    costs milliseconds); that answer and the sources are on the returned turn.

    Args:
        engine: The engine, opened by the host (and closed by it).
        turn_ctx: The chat context LiveKit is about to send to the LLM.
        new_message: The user's message for this turn.
        session_id: The caller's session (a room or participant id); sessions never
            share cache or history.
        collection: The knowledge base to answer from.

    Returns:
        The cited turn, or ``None`` when the message has no text (nothing was added).
    """
    question = (new_message.text_content or "").strip()
    if not question:
        return None
    answer = await engine.ask(session_id, question, collection=collection)
    turn = CitedTurn(session_id, question, answer)
    turn_ctx.add_message(role="system", content=turn.context_message())
    return turn
