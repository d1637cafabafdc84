"""Redis key names: one function builds them all.

A session id is user text: it never appears in a key. Its SHA-256 (hex) does, inside
``{...}`` so every key of one session shares a Redis Cluster hash slot and one Lua
script may touch them all. A session id of ``*``, ``a:b`` or one with newlines maps to
an ordinary hex tag and cannot reach another session's keys.
"""

from __future__ import annotations

import hashlib
from typing import Literal

__all__ = ["session_key", "session_tag"]

KeyKind = Literal["entries", "meta", "history", "turns"]


def session_tag(session: str) -> str:
    """The hash tag of a session: 32 hex characters of its SHA-256."""
    return hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def session_key(prefix: str, session: str, kind: KeyKind) -> str:
    """``{prefix}:{<tag>}:{kind}``, the key of one part of a session's state."""
    return f"{prefix}:{{{session_tag(session)}}}:{kind}"
