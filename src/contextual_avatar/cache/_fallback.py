"""Degrade to process memory while Redis is down, and go back when it returns.

A live call cannot stop because the shared cache went away. :class:`FallbackChunkStore`
and :class:`FallbackHistory` wrap a primary (Redis) store and an in-process one. Every
call goes to the primary; when it raises :class:`~contextual_avatar.errors.StoreUnavailable`
the wrapper marks it down, logs once, and serves the call from memory. While down, calls
go straight to memory and the primary is probed again ``retry_after_s`` after the last
failure, so an outage costs one failed call per interval, not one per turn. The first
successful call marks it up again.

What an outage costs: cached chunks admitted during it stay in process (the cache is only
an optimisation, so a miss rebuilds it from the index). Turns recorded during it are
written back to the primary the next time the session's history is read after recovery,
after whatever the primary kept, so the conversation continues in order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from cachetools import LRUCache

from contextual_avatar.cache._history import History
from contextual_avatar.cache._store import CacheEntry, ChunkStore
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.types import Turn

__all__ = ["DEFAULT_RETRY_AFTER_S", "Breaker", "FallbackChunkStore", "FallbackHistory"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class _SessionBackend(Protocol):
    async def clear(self, session: str) -> None: ...

    async def aclose(self) -> None: ...


S = TypeVar("S", bound=_SessionBackend)

#: Seconds after a failure before the primary is tried again.
DEFAULT_RETRY_AFTER_S = 1.0


class Breaker:
    """Routes calls to a primary or, while it is down, to a fallback.

    Attributes:
        failures: Primary calls that failed with :class:`StoreUnavailable`.
        recoveries: Times the primary answered again after being down.
        fallback_calls: Calls served by the fallback.
    """

    def __init__(
        self,
        what: str,
        *,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a closed breaker (primary assumed up).

        Args:
            what: Name of the primary for log lines (never a session id).
            retry_after_s: Seconds after a failure before the primary is tried again;
                0 tries it on every call.
            timer: Clock (injected in tests).
        """
        if retry_after_s < 0:
            raise ValueError("retry_after_s must be >= 0")
        self.what = what
        self.retry_after_s = retry_after_s
        self._timer = timer
        self._down_at: float | None = None
        self.failures = 0
        self.recoveries = 0
        self.fallback_calls = 0

    @property
    def degraded(self) -> bool:
        """Whether the primary is currently considered down."""
        return self._down_at is not None

    async def run(
        self, primary: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``primary``, or ``fallback`` when the primary is (or just went) down."""
        if self._down_at is not None and self._timer() - self._down_at < self.retry_after_s:
            self.fallback_calls += 1
            return await fallback()
        try:
            result = await primary()
        except StoreUnavailable as exc:
            if self._down_at is None:
                log.warning("%s unavailable, serving from process memory: %s", self.what, exc)
            self._down_at = self._timer()
            self.failures += 1
            self.fallback_calls += 1
            return await fallback()
        if self._down_at is not None:
            log.warning("%s is back; leaving process memory", self.what)
            self._down_at = None
            self.recoveries += 1
        return result


class _Fallback(Generic[S]):
    """A primary (shared, Redis) and an in-process fallback behind one :class:`Breaker`.

    Subclasses route each call through ``self.breaker``; forgetting and closing are the
    same for stores and histories, so they live here.
    """

    def __init__(
        self,
        primary: S,
        fallback: S,
        *,
        what: str,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap two backends.

        Args:
            primary: The shared backend (Redis).
            fallback: The in-process backend used while the primary is down.
            what: Names the backend in log lines.
            retry_after_s: Seconds after a failure before the primary is tried again.
            timer: Clock (injected in tests).
        """
        self.primary = primary
        self.fallback = fallback
        self.breaker = Breaker(what, retry_after_s=retry_after_s, timer=timer)

    async def clear(self, session: str) -> None:
        """Forget the session in both (the primary only if it answers)."""
        await self.fallback.clear(session)
        await self.breaker.run(lambda: self.primary.clear(session), _nothing)

    async def aclose(self) -> None:
        """Close both; a primary that is down closes quietly."""
        await self.fallback.aclose()
        try:
            await self.primary.aclose()
        except StoreUnavailable as exc:
            log.warning("closing the %s failed: %s", self.breaker.what, exc)


class FallbackChunkStore(_Fallback[ChunkStore]):
    """A chunk store that serves from memory while its primary is unreachable."""

    def __init__(
        self,
        primary: ChunkStore,
        fallback: ChunkStore,
        *,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap two stores of the same capacity (see :class:`_Fallback`)."""
        super().__init__(
            primary, fallback, what="chunk store", retry_after_s=retry_after_s, timer=timer
        )
        self.capacity = primary.capacity

    async def entries(self, session: str) -> list[CacheEntry]:
        """The session's resident entries, from whichever store is serving."""
        return await self.breaker.run(
            lambda: self.primary.entries(session), lambda: self.fallback.entries(session)
        )

    async def admit(self, session: str, entries: Sequence[CacheEntry]) -> list[str]:
        """Admit entries into the serving store."""
        return await self.breaker.run(
            lambda: self.primary.admit(session, entries),
            lambda: self.fallback.admit(session, entries),
        )

    async def touch(self, session: str, chunk_ids: Sequence[str]) -> None:
        """Record a use in the serving store."""
        await self.breaker.run(
            lambda: self.primary.touch(session, chunk_ids),
            lambda: self.fallback.touch(session, chunk_ids),
        )


class FallbackHistory(_Fallback[History]):
    """Conversation history that keeps recording turns in memory while its primary is down.

    Turns recorded in memory are numbered on from the last number the primary gave the
    session in this process, so a conversation's turn numbers do not start again at 1
    during an outage (after the primary loses its data they do; fact ids carry the turn's
    time for that case).
    """

    def __init__(
        self,
        primary: History,
        fallback: History,
        *,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
        timer: Callable[[], float] = time.monotonic,
        max_sessions: int = 10_000,
    ) -> None:
        """Wrap two histories (see :class:`_Fallback`).

        Args:
            primary: The shared history (Redis).
            fallback: The in-process history used while the primary is down.
            retry_after_s: Seconds after a failure before the primary is tried again.
            timer: Clock (injected in tests).
            max_sessions: Sessions whose last primary turn number is remembered.
        """
        super().__init__(
            primary, fallback, what="history store", retry_after_s=retry_after_s, timer=timer
        )
        self._numbered: LRUCache[str, int] = LRUCache(maxsize=max_sessions)

    async def recent(self, session: str) -> list[Turn]:
        """The session's turns; turns kept in memory during an outage are written back first."""

        async def from_primary() -> list[Turn]:
            pending = await self.fallback.recent(session)
            if pending:
                for turn in pending:
                    self._numbered[session] = await self.primary.append(session, turn)
                await self.fallback.clear(session)
            return await self.primary.recent(session)

        return await self.breaker.run(from_primary, lambda: self.fallback.recent(session))

    async def append(self, session: str, turn: Turn) -> int:
        """Record a turn in the serving history; returns its number in the session."""

        async def to_primary() -> int:
            number = await self.primary.append(session, turn)
            self._numbered[session] = number
            return number

        async def to_fallback() -> int:
            return self._numbered.get(session, 0) + await self.fallback.append(session, turn)

        return await self.breaker.run(to_primary, to_fallback)

    async def clear(self, session: str) -> None:
        """Forget the session in both, and its turn number."""
        self._numbered.pop(session, None)
        await super().clear(session)


async def _nothing() -> None:
    return None
