r"""Redis key names and store-level session ids: one module builds them all.

A session id is user text: it never appears in a key. Its SHA-256 (hex) does, inside
``{...}`` so every key of one session shares a Redis Cluster hash slot and one Lua
script may touch them all. A session id of ``*``, ``a:b`` or one with newlines maps to
an ordinary hex tag and cannot reach another session's keys.

Sessions live in a collection (a knowledge base). A store sees one opaque id per
(collection, session) pair, made by :func:`scoped_session`: the session itself in the
default collection (so keys written before collections stay readable), and
``"\0<collection>\0<session>"`` elsewhere. The mapping is one to one (a default-collection
id that itself starts with ``\0`` is wrapped as well), and :func:`session_key` turns a
scoped id into ``{prefix}:c:<collection>:{<tag>}:{kind}``: the collection (validated
``a-z 0-9 _ -``) is visible in the key, the session stays the hash tag.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

__all__ = ["scoped_session", "session_key", "session_tag", "split_scoped"]

KeyKind = Literal["entries", "meta", "history", "turns", "collection"]

DEFAULT_COLLECTION = "default"
_MARK = "\0"
_COLLECTION = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def session_tag(session: str) -> str:
    """The hash tag of a session: 32 hex characters of its SHA-256."""
    return hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def scoped_session(collection: str, session: str) -> str:
    """The id a store keeps ``session`` of ``collection`` under (one to one).

    Raises:
        ValueError: ``collection`` is not a valid collection name.
    """
    if not _COLLECTION.fullmatch(collection):
        raise ValueError(f"invalid collection name {collection!r}")
    if collection == DEFAULT_COLLECTION and not session.startswith(_MARK):
        return session
    return f"{_MARK}{collection}{_MARK}{session}"


def split_scoped(scoped: str) -> tuple[str, str]:
    """``(collection, session)`` of a store-level id (the inverse of :func:`scoped_session`).

    Any string is a valid id: one not made by :func:`scoped_session` is a session of the
    default collection.
    """
    if scoped.startswith(_MARK):
        collection, sep, session = scoped[1:].partition(_MARK)
        if sep and _COLLECTION.fullmatch(collection):
            return collection, session
    return DEFAULT_COLLECTION, scoped


def session_key(prefix: str, session: str, kind: KeyKind) -> str:
    """The key of one part of a (scoped) session's state.

    ``{prefix}:{<tag>}:{kind}`` for a plain session of the default collection (the
    layout before collections), ``{prefix}:c:<collection>:{<tag>}:{kind}`` otherwise.
    """
    collection, raw = split_scoped(session)
    if session.startswith(_MARK) and scoped_session(collection, raw) == session:
        return f"{prefix}:c:{collection}:{{{session_tag(raw)}}}:{kind}"
    # A plain session, or a string scoped_session never makes: keyed by all of it.
    return f"{prefix}:{{{session_tag(session)}}}:{kind}"
