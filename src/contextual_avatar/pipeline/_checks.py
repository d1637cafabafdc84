"""Input checks at the door: every turn's session id, question and host instructions."""

from __future__ import annotations

from contextual_avatar.errors import InputError
from contextual_avatar.retrieval import DEFAULT_COLLECTION, check_collection_name

__all__ = [
    "DEFAULT_COLLECTION",
    "MAX_INSTRUCTIONS_CHARS",
    "MAX_QUESTION_CHARS",
    "MAX_SESSION_ID_CHARS",
    "check_collection",
    "check_instructions",
    "check_question",
    "check_session",
]

MAX_SESSION_ID_CHARS = 256
MAX_QUESTION_CHARS = 8_000
#: A platform's system prompt (persona, tone) for one turn; about 4,000 tokens.
MAX_INSTRUCTIONS_CHARS = 16_000


def check_session(session_id: object) -> str:
    """The session id, if it is a non-empty UTF-8-safe string within the limit.

    Raises:
        InputError: Anything else (the message says what).
    """
    if not isinstance(session_id, str) or not session_id:
        raise InputError(f"session_id must be a non-empty string, got {session_id!r}")
    if len(session_id) > MAX_SESSION_ID_CHARS:
        raise InputError(
            f"session_id is {len(session_id)} characters; the limit is {MAX_SESSION_ID_CHARS}"
        )
    try:  # stores and databases take UTF-8 only; an id must survive the round trip exactly
        session_id.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("session_id is not valid Unicode text (it has a lone surrogate)") from exc
    return session_id


def check_question(question: object) -> str:
    """The question, stripped, if it is non-empty text within the limit.

    Raises:
        InputError: Anything else (the message says what).
    """
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"question must be a non-empty string, got {question!r}")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(
            f"question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}"
        )
    # A lone surrogate (a broken client's JSON) would crash every UTF-8 consumer downstream.
    return question.strip().encode("utf-8", "replace").decode("utf-8")


def check_instructions(instructions: object) -> str | None:
    """The host's instructions for one turn, stripped; ``None`` when absent or blank.

    Raises:
        InputError: Not a string, or longer than :data:`MAX_INSTRUCTIONS_CHARS`.
    """
    if instructions is None:
        return None
    if not isinstance(instructions, str):
        raise InputError(f"instructions must be a string, got {type(instructions).__name__}")
    if len(instructions) > MAX_INSTRUCTIONS_CHARS:
        raise InputError(
            f"instructions are {len(instructions)} characters; "
            f"the limit is {MAX_INSTRUCTIONS_CHARS}"
        )
    text = instructions.strip()
    # Lone surrogates replaced, as for the question: the text goes to an HTTP client.
    return text.encode("utf-8", "replace").decode("utf-8") if text else None


def check_collection(collection: object) -> str:
    """The collection (knowledge base) name, if it is 1-64 of ``a-z 0-9 _ -``.

    Raises:
        InputError: Anything else (the message says what is allowed).
    """
    # One rule for the folders, the keys and the door: safe as a folder name, a Redis key
    # part and (with a prefix) a Milvus collection name.
    return check_collection_name(collection)
