"""Recent turns per session: what makes a follow-up question understandable."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from cachetools import TTLCache

from contextual_avatar.types import Turn

__all__ = ["MemoryHistory"]


class MemoryHistory:
    """The last ``max_turns`` turns of each session, in process, expiring when idle."""

    def __init__(
        self,
        *,
        max_turns: int = 8,
        max_sessions: int = 10_000,
        ttl_s: float = 3600.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create empty history.

        Args:
            max_turns: Turns kept per session.
            max_sessions: Sessions kept before the least recently used is dropped.
            ttl_s: Idle seconds before a session is forgotten.
            timer: Clock for expiry (injected in tests).
        """
        self._max_turns = max_turns
        self._sessions: TTLCache[str, deque[Turn]] = TTLCache(max_sessions, ttl_s, timer=timer)

    async def recent(self, session: str) -> list[Turn]:
        """The session's turns, oldest first."""
        return list(self._sessions.get(session, ()))

    async def append(self, session: str, turn: Turn) -> int:
        """Record a turn; returns its number in the session (1-based, lifetime of the state)."""
        turns = self._sessions.get(session)
        if turns is None:
            turns = deque(maxlen=self._max_turns)
        turns.append(turn)
        self._sessions[session] = turns
        return len(turns)

    async def clear(self, session: str) -> None:
        """Forget the session's turns."""
        self._sessions.pop(session, None)
