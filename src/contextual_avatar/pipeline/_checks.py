"""Input checks at the door: every turn's session id and question are validated here."""

from __future__ import annotations

import re

from contextual_avatar.errors import InputError

__all__ = [
    "DEFAULT_COLLECTION",
    "MAX_QUESTION_CHARS",
    "MAX_SESSION_ID_CHARS",
    "check_collection",
    "check_question",
    "check_session",
]

MAX_SESSION_ID_CHARS = 256
MAX_QUESTION_CHARS = 8_000
DEFAULT_COLLECTION = "default"
# Safe as a folder name, a Redis key part and (with a prefix) a Milvus collection name.
_COLLECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


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


def check_collection(collection: object) -> str:
    """The collection (knowledge base) name, if it is 1-64 of ``a-z 0-9 _ -``.

    Raises:
        InputError: Anything else (the message says what is allowed).
    """
    if not isinstance(collection, str) or not _COLLECTION_NAME.fullmatch(collection):
        raise InputError(
            f"collection must be 1-64 characters of a-z, 0-9, '_' and '-', starting with a "
            f"letter or digit; got {collection!r}"
        )
    return collection
