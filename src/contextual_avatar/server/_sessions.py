"""Which session a chat completion belongs to, and what it said before.

The OpenAI protocol has no session: a client resends the whole conversation each turn.
The session is, in order: the ``X-Session-Id`` header, the request's ``user`` field, the
conversation id an avatar platform sends as a header (Tavus documents that its custom-LLM
requests carry ``conversation_id`` as a request header; ``conversation_id`` and
``conversation-id`` are read), or a stable key of the conversation: ``conv-`` + the
first 32 hex characters of the SHA-256 of the JSON list ``[collection, system prompt,
first user message]``; a request with no earlier turns starts that conversation afresh.
Every id is then namespaced by the caller's key name, so two keys never share a session.
Earlier turns in the request that the engine has not seen (after a restart, or on another
worker) seed the session's history, so a follow-up is still understood.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from contextual_avatar.server._chat_models import ChatMessage, message_text
from contextual_avatar.server._errors import ApiError
from contextual_avatar.types import Turn

__all__ = [
    "MAX_CLIENT_SESSION_CHARS",
    "conversation_key",
    "earlier_turns",
    "last_question",
    "platform_conversation",
    "system_prompt",
]

#: Headers in which an avatar platform names its conversation (Tavus: ``conversation_id``).
CONVERSATION_HEADERS = ("conversation_id", "conversation-id")

#: Longest session id a client may choose (the engine's limit less the key namespace).
MAX_CLIENT_SESSION_CHARS = 128


def system_prompt(messages: list[ChatMessage]) -> str:
    """The system (and developer) messages, joined."""
    return "\n\n".join(message_text(m) for m in messages if m.role in ("system", "developer"))


def platform_conversation(headers: Mapping[str, str]) -> str | None:
    """The conversation id a platform sent as a header (Tavus), or ``None``.

    Why: the platform's own id follows the call exactly; the derived key cannot tell two
    calls apart that open with the same system prompt and first words.
    """
    for name in CONVERSATION_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def conversation_key(messages: list[ChatMessage], collection: str) -> str:
    """``conv-<hash>`` of the collection, system prompt and first user message."""
    first = next((message_text(m) for m in messages if m.role == "user"), "")
    raw = json.dumps([collection, system_prompt(messages), first], ensure_ascii=False)
    return "conv-" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def client_session(given: str | None, messages: list[ChatMessage], collection: str) -> str:
    """The session the client named, or the conversation's key.

    Raises:
        ApiError: 400 for an empty, oversized or non-printable session id.
    """
    if given is None:
        return conversation_key(messages, collection)
    if not given or len(given) > MAX_CLIENT_SESSION_CHARS or not given.isprintable():
        raise ApiError(
            400,
            f"a session id (user or X-Session-Id) must be 1-{MAX_CLIENT_SESSION_CHARS} "
            "printable characters",
            code="invalid_session",
            param="user",
        )
    return given


def last_question(messages: list[ChatMessage]) -> str:
    """The last message's text: the user's turn.

    Raises:
        ApiError: 400 when the last message is not the user's or has no text.
    """
    last = messages[-1]
    text = message_text(last)
    if last.role != "user" or not text.strip():
        raise ApiError(
            400,
            "the last message must be the user's, with text: it is the question answered",
            code="invalid_messages",
            param="messages",
        )
    return text


def earlier_turns(messages: list[ChatMessage]) -> list[Turn]:
    """The conversation before the last message, as (user, assistant) turns."""
    turns: list[Turn] = []
    question: str | None = None
    for message in messages[:-1]:
        if message.role == "user":
            question = message_text(message)
        elif message.role == "assistant" and question is not None and question.strip():
            turns.append(Turn(question, message_text(message)))
            question = None
    return turns
