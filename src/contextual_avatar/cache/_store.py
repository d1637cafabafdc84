"""Where cached chunks live: the store protocol and the in-process store.

A store holds, per session, at most ``capacity`` entries (a chunk and its vector) and
applies its eviction policy atomically with each admission. Stores know nothing of
similarity; the :class:`~contextual_avatar.cache.ChunkCache` does the scoring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from cachetools import TTLCache

from contextual_avatar.cache._policy import EvictionPolicy
from contextual_avatar.types import Chunk

__all__ = ["CacheEntry", "ChunkStore", "MemoryChunkStore"]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached chunk and its unit vector."""

    chunk: Chunk
    vector: npt.NDArray[np.float32]


class ChunkStore(Protocol):
    """Per-session chunk storage with eviction.

    Every method is a coroutine so network stores (Redis) fit the same seam. Session ids
    are opaque strings; stores must never interpret them (no globbing, no splitting).
    """

    capacity: int

    async def entries(self, session: str) -> list[CacheEntry]:
        """The session's resident entries (any order)."""
        ...

    async def admit(self, session: str, entries: Sequence[CacheEntry]) -> list[str]:
        """Add entries, evicting by policy to stay within capacity; return evicted ids."""
        ...

    async def touch(self, session: str, chunk_ids: Sequence[str]) -> None:
        """Record a use of resident chunks (ids not resident are ignored)."""
        ...

    async def clear(self, session: str) -> None:
        """Drop the session's entries."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class _Session:
    __slots__ = ("entries", "policy")

    def __init__(self, policy: EvictionPolicy) -> None:
        self.policy = policy
        self.entries: dict[str, CacheEntry] = {}


class MemoryChunkStore:
    """In-process store; sessions expire after ``ttl_s`` idle seconds.

    At most ``max_sessions`` sessions are kept (the least recently used goes first), so
    memory stays bounded as sessions come and go.
    """

    def __init__(
        self,
        *,
        capacity: int,
        policy_factory: Callable[[], EvictionPolicy],
        max_sessions: int = 10_000,
        ttl_s: float = 3600.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty store.

        Args:
            capacity: Entries per session.
            policy_factory: Makes one policy per session.
            max_sessions: Sessions kept before the least recently used is dropped.
            ttl_s: Idle seconds before a session expires.
            timer: Clock for expiry (injected in tests).
        """
        self.capacity = capacity
        self._policy_factory = policy_factory
        self._sessions: TTLCache[str, _Session] = TTLCache(max_sessions, ttl_s, timer=timer)

    def _session(self, session: str) -> _Session:
        state = self._sessions.get(session)
        if state is None:
            state = _Session(self._policy_factory())
        self._sessions[session] = state  # (re)insert refreshes the TTL
        return state

    async def entries(self, session: str) -> list[CacheEntry]:
        """The session's resident entries."""
        state = self._sessions.get(session)
        return [] if state is None else list(state.entries.values())

    async def admit(self, session: str, entries: Sequence[CacheEntry]) -> list[str]:
        """Admit entries in order; each may evict the policy's victim."""
        state = self._session(session)
        evicted: list[str] = []
        for entry in entries:
            key = entry.chunk.id
            if key not in state.entries and len(state.entries) >= self.capacity:
                victim = state.policy.victim(key)
                state.policy.forget(victim)
                del state.entries[victim]
                evicted.append(victim)
            state.entries[key] = entry
            state.policy.on_admit(key)
        return evicted

    async def touch(self, session: str, chunk_ids: Sequence[str]) -> None:
        """Tell the policy these resident chunks were used."""
        state = self._session(session)
        for key in chunk_ids:
            if key in state.entries:
                state.policy.on_hit(key)

    async def clear(self, session: str) -> None:
        """Forget the session."""
        self._sessions.pop(session, None)

    async def aclose(self) -> None:
        """Nothing to release."""
