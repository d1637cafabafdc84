"""Recent turns per session: what makes a follow-up question understandable.

:class:`MemoryHistory` keeps them in process; :class:`RedisHistory` keeps them beside
the session's cached chunks in Redis (same methods, same results), so any avatar
process can pick up a conversation.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from cachetools import TTLCache

from contextual_avatar.cache._keys import session_key
from contextual_avatar.cache._redis import connect, redis_call
from contextual_avatar.types import Turn

if TYPE_CHECKING:
    from contextual_avatar.cache._redis import RedisClient

__all__ = ["History", "MemoryHistory", "RedisHistory"]


class History(Protocol):
    """Conversation state per session."""

    async def recent(self, session: str) -> list[Turn]:
        """The session's kept turns, oldest first."""
        ...

    async def append(self, session: str, turn: Turn) -> int:
        """Record a turn; returns its 1-based number over the state's lifetime."""
        ...

    async def clear(self, session: str) -> None:
        """Forget the session's turns."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class _Turns:
    __slots__ = ("count", "turns")

    def __init__(self, max_turns: int) -> None:
        self.turns: deque[Turn] = deque(maxlen=max_turns)
        self.count = 0


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
        self._sessions: TTLCache[str, _Turns] = TTLCache(max_sessions, ttl_s, timer=timer)

    async def recent(self, session: str) -> list[Turn]:
        """The session's turns, oldest first."""
        state = self._sessions.get(session)
        return [] if state is None else list(state.turns)

    async def append(self, session: str, turn: Turn) -> int:
        """Record a turn; returns its number in the session (1-based, lifetime of the state)."""
        state = self._sessions.get(session)
        if state is None:
            state = _Turns(self._max_turns)
        state.turns.append(turn)
        state.count += 1
        self._sessions[session] = state  # (re)insert refreshes the TTL
        return state.count

    async def clear(self, session: str) -> None:
        """Forget the session's turns."""
        self._sessions.pop(session, None)

    async def aclose(self) -> None:
        """Nothing to release."""


# KEYS[1] turn list, KEYS[2] turn counter. ARGV[1] turn JSON, ARGV[2] turns kept,
# ARGV[3] TTL in ms. Returns the turn's number (the counter after increment).
APPEND_SCRIPT = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return n
"""


def _turn_to_json(turn: Turn) -> str:
    return json.dumps({"q": turn.question, "a": turn.answer, "c": list(turn.chunk_ids)})


def _turn_from_json(raw: bytes | str) -> Turn:
    data = json.loads(raw)
    return Turn(str(data["q"]), str(data["a"]), tuple(str(c) for c in data.get("c", ())))


class RedisHistory:
    """The last ``max_turns`` turns of each session in Redis, expiring when idle.

    Keys share the session's hash tag with its cached chunks
    (``{prefix}:{<tag>}:history`` and ``:turns``).
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        client: RedisClient | None = None,
        prefix: str = "ca:cache",
        max_turns: int = 8,
        ttl_s: float = 3600.0,
        cluster: bool = False,
    ) -> None:
        """Create the history (no I/O until first use).

        Args:
            url: Redis URL, used when ``client`` is not given.
            client: An existing ``redis.asyncio.Redis`` or ``RedisCluster`` (left open by
                :meth:`aclose`).
            prefix: Namespace of every key.
            max_turns: Turns kept per session.
            ttl_s: Idle seconds before a session is forgotten.
            cluster: ``url`` is a Redis Cluster node (ignored with ``client``).
        """
        if client is None and url is None:
            raise ValueError("give url or client")
        self._owns = client is None
        self._client = client if client is not None else connect(url or "", cluster=cluster)
        self._prefix = prefix
        self._max_turns = max_turns
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._append = self._client.register_script(APPEND_SCRIPT)

    def _keys(self, session: str) -> list[str]:
        return [
            session_key(self._prefix, session, "history"),
            session_key(self._prefix, session, "turns"),
        ]

    async def recent(self, session: str) -> list[Turn]:
        """The session's turns, oldest first."""
        key = self._keys(session)[0]
        raw = await redis_call("read", lambda: self._client.lrange(key, 0, -1))
        return [_turn_from_json(item) for item in raw]

    async def append(self, session: str, turn: Turn) -> int:
        """Record a turn atomically; returns its number in the session."""
        keys = self._keys(session)
        args: list[str | int] = [_turn_to_json(turn), self._max_turns, self._ttl_ms]
        n = await redis_call("append", lambda: self._append(keys=keys, args=args))
        return int(n)

    async def clear(self, session: str) -> None:
        """Forget the session's turns."""
        keys = self._keys(session)
        await redis_call("clear", lambda: self._client.delete(*keys))

    async def aclose(self) -> None:
        """Close the client if this history created it."""
        if self._owns:
            await redis_call("close", lambda: self._client.aclose())
