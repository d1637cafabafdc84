"""Where cached chunks live: the store protocol, the shared base and the in-process store.

A store holds, per session, at most ``capacity`` entries (a chunk and its vector) and
applies its eviction policy atomically with each admission. Stores know nothing of
similarity; the :class:`~contextual_avatar.cache.ChunkCache` does the scoring.

:class:`BaseChunkStore` writes ``admit`` and ``touch`` once, over two primitives each
store supplies (read a session's policy with a version token; commit the new state if
the version is unchanged), so the memory and Redis stores cannot drift apart.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from cachetools import TTLCache

from contextual_avatar.cache._policy import EvictionPolicy, PolicyFactory, check_state
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.types import Chunk

__all__ = ["MAX_RETRIES", "BaseChunkStore", "CacheEntry", "ChunkStore", "MemoryChunkStore"]

#: Lost compare-and-sets (another writer changed the session) before giving up.
MAX_RETRIES = 32

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached chunk and its unit vector."""

    chunk: Chunk
    vector: npt.NDArray[np.float32]


class ChunkStore(Protocol):
    """Per-session chunk storage with eviction.

    Every method is a coroutine so network stores (Redis) fit the same seam. Session ids
    are opaque strings; stores must never interpret them (no globbing, no splitting).
    ``contextual_avatar.testing.ChunkStoreContract`` checks what this promises.
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


class BaseChunkStore(ABC, Generic[V]):
    """``admit`` and ``touch`` over a read / compare-and-set commit pair.

    A change reads the session's policy and a version token (:meth:`load_session`),
    runs the policy in Python, and commits the new policy state with the written
    entries and evicted ids (:meth:`commit`) only if the version is unchanged; a lost
    race retries on fresh state, up to :data:`MAX_RETRIES` times.

    Attributes:
        capacity: Entries per session.
        serialises_policy: Subclasses that keep policies as :meth:`EvictionPolicy.state`
            set it, so a policy whose state loses attributes fails at construction
            (:func:`~contextual_avatar.cache.check_state`) rather than silently.
    """

    serialises_policy: ClassVar[bool] = False

    def __init__(self, *, capacity: int, policy_factory: PolicyFactory) -> None:
        """Check the settings.

        Args:
            capacity: Entries per session (>= 1).
            policy_factory: Makes one empty policy per session.

        Raises:
            ValueError: ``capacity`` is below 1.
            ConfigError: The store serialises policies and this one's state does not
                carry all its attributes.
        """
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if self.serialises_policy:
            check_state(policy_factory)
        self.capacity = capacity
        self._policy_factory = policy_factory

    @abstractmethod
    async def load_session(self, session: str) -> tuple[EvictionPolicy, V]:
        """The session's policy (a fresh one if unknown) and its version token."""

    @abstractmethod
    async def commit(
        self,
        session: str,
        version: V,
        policy: EvictionPolicy,
        written: dict[str, CacheEntry],
        evicted: Sequence[str],
    ) -> bool:
        """Store the change atomically if the session is still at ``version``.

        Evicted ids are removed before ``written`` entries are stored (in order), so an
        entry evicted and re-admitted within one batch ends up present. Also refreshes
        the session's expiry.

        Returns:
            Whether it was committed (``False``: another writer came first).
        """

    @abstractmethod
    async def entries(self, session: str) -> list[CacheEntry]:
        """The session's resident entries (any order)."""

    @abstractmethod
    async def clear(self, session: str) -> None:
        """Drop the session's entries and policy state."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections."""

    async def _change(
        self,
        session: str,
        apply: Callable[[EvictionPolicy], tuple[list[str], dict[str, CacheEntry]]],
    ) -> list[str]:
        for _ in range(MAX_RETRIES):
            policy, version = await self.load_session(session)
            evicted, written = apply(policy)
            if await self.commit(session, version, policy, written, evicted):
                return evicted
        raise StoreUnavailable(
            f"{type(self).__name__}: session changed {MAX_RETRIES} times during one update"
        )

    async def admit(self, session: str, entries: Sequence[CacheEntry]) -> list[str]:
        """Admit entries in order; each may evict the policy's victim (atomically)."""

        def apply(policy: EvictionPolicy) -> tuple[list[str], dict[str, CacheEntry]]:
            evicted: list[str] = []
            # Resident entries of this batch, in the order a sequential store would
            # have (re)inserted them, so the memory store's order is unchanged.
            written: dict[str, CacheEntry] = {}
            for entry in entries:
                key = entry.chunk.id
                victim = policy.admit(key, self.capacity)
                if victim is not None:
                    evicted.append(victim)
                    written.pop(victim, None)
                written[key] = entry
            return evicted, written

        return await self._change(session, apply)

    async def touch(self, session: str, chunk_ids: Sequence[str]) -> None:
        """Tell the policy these resident chunks were used (others are ignored)."""

        def apply(policy: EvictionPolicy) -> tuple[list[str], dict[str, CacheEntry]]:
            for key in chunk_ids:
                policy.hit(key)
            return [], {}

        await self._change(session, apply)


class _Session:
    __slots__ = ("entries", "policy", "version")

    def __init__(self, policy: EvictionPolicy) -> None:
        self.policy = policy
        self.entries: dict[str, CacheEntry] = {}
        self.version = 0


class MemoryChunkStore(BaseChunkStore[int]):
    """In-process store; sessions expire after ``ttl_s`` idle seconds.

    At most ``max_sessions`` sessions are kept (the least recently used goes first), so
    memory stays bounded as sessions come and go. The live policy is changed in place:
    nothing runs between reading and committing, so the commit cannot lose a race.
    """

    def __init__(
        self,
        *,
        capacity: int,
        policy_factory: PolicyFactory,
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
        super().__init__(capacity=capacity, policy_factory=policy_factory)
        self._sessions: TTLCache[str, _Session] = TTLCache(max_sessions, ttl_s, timer=timer)

    def __len__(self) -> int:
        """Sessions resident now (expired ones are not counted)."""
        self._sessions.expire()
        return len(self._sessions)

    async def load_session(self, session: str) -> tuple[EvictionPolicy, int]:
        """The session's live policy (the session is created and its TTL refreshed)."""
        state = self._sessions.get(session)
        if state is None:
            state = _Session(self._policy_factory())
        self._sessions[session] = state  # (re)insert refreshes the TTL
        return state.policy, state.version

    async def commit(
        self,
        session: str,
        version: int,
        policy: EvictionPolicy,
        written: dict[str, CacheEntry],
        evicted: Sequence[str],
    ) -> bool:
        """Apply the change to the session read by :meth:`load_session`."""
        state = self._sessions.get(session)
        if state is None or state.policy is not policy or state.version != version:
            return False
        for key in evicted:
            state.entries.pop(key, None)
        state.entries.update(written)
        state.version += 1
        return True

    async def entries(self, session: str) -> list[CacheEntry]:
        """The session's resident entries."""
        state = self._sessions.get(session)
        return [] if state is None else list(state.entries.values())

    async def clear(self, session: str) -> None:
        """Forget the session."""
        self._sessions.pop(session, None)

    async def aclose(self) -> None:
        """Nothing to release."""
