"""Which collection each session is bound to, fixed by the session's first turn.

A session answers from one knowledge base for its whole life: its cache, history and
conversation state only make sense there, and a caller must not steer a running session
into another avatar's documents. :meth:`SessionBindings.bind` records the collection of
a session's first turn and returns the bound one on every later turn, so the engine can
refuse a turn that names another. The binding expires with the session (idle TTL) and
goes with ``forget()``.

:class:`MemoryBindings` keeps bindings in process; :class:`RedisBindings` keeps them
beside the session's other keys (``{prefix}:{<tag>}:collection``, the session's hash
tag), so every avatar process sees the same binding; :class:`FallbackBindings` serves
from memory while Redis is down, as the chunk store does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from cachetools import TTLCache

from contextual_avatar.cache._config import CacheConfig
from contextual_avatar.cache._fallback import DEFAULT_RETRY_AFTER_S, _Fallback
from contextual_avatar.cache._keys import session_key
from contextual_avatar.cache._redis import connect, redis_call

if TYPE_CHECKING:
    from contextual_avatar.cache._redis import RedisClient

__all__ = [
    "FallbackBindings",
    "MemoryBindings",
    "RedisBindings",
    "SessionBindings",
    "build_bindings",
]


class SessionBindings(Protocol):
    """Session id to collection name, set once per session lifetime."""

    async def bind(self, session: str, collection: str) -> str:
        """Bind an unbound session to ``collection``; return the collection it is bound to.

        Also refreshes the binding's expiry. A result other than ``collection`` means the
        session was bound to another collection first.
        """
        ...

    async def bound(self, session: str) -> str | None:
        """The collection the session is bound to, if any (no expiry refresh)."""
        ...

    async def clear(self, session: str) -> None:
        """Forget the session's binding."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class MemoryBindings:
    """Bindings in process, expiring after ``ttl_s`` idle seconds."""

    def __init__(
        self,
        *,
        max_sessions: int = 10_000,
        ttl_s: float = 3600.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty map (sizes and clock as in the memory chunk store)."""
        self._bound: TTLCache[str, str] = TTLCache(max_sessions, ttl_s, timer=timer)

    async def bind(self, session: str, collection: str) -> str:
        """See :meth:`SessionBindings.bind`."""
        bound = self._bound.get(session, collection)
        self._bound[session] = bound  # (re)insert refreshes the TTL
        return bound

    async def bound(self, session: str) -> str | None:
        """See :meth:`SessionBindings.bound`."""
        return self._bound.get(session)

    async def clear(self, session: str) -> None:
        """Forget the session's binding."""
        self._bound.pop(session, None)

    async def aclose(self) -> None:
        """Nothing to release."""


# KEYS[1] the session's binding. ARGV[1] collection, ARGV[2] TTL in ms.
# Returns the collection the session is bound to (ARGV[1] when it was unbound).
BIND_SCRIPT = """
local bound = redis.call('GET', KEYS[1])
if not bound then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return bound
"""


class RedisBindings:
    """Bindings in Redis, shared by every process that uses the same server and prefix."""

    def __init__(
        self,
        *,
        url: str | None = None,
        client: RedisClient | None = None,
        prefix: str = "ca:cache",
        ttl_s: float = 3600.0,
        cluster: bool = False,
    ) -> None:
        """Create the map (no I/O until first use).

        Args:
            url: Redis URL, used when ``client`` is not given.
            client: An existing ``redis.asyncio.Redis`` or ``RedisCluster`` (left open
                by :meth:`aclose`).
            prefix: Namespace of every key.
            ttl_s: Idle seconds before a binding expires.
            cluster: ``url`` is a Redis Cluster node (ignored with ``client``).
        """
        if client is None and url is None:
            raise ValueError("give url or client")
        self._owns = client is None
        self._client = client if client is not None else connect(url or "", cluster=cluster)
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._bind = self._client.register_script(BIND_SCRIPT)

    async def bind(self, session: str, collection: str) -> str:
        """See :meth:`SessionBindings.bind` (atomic: one script)."""
        keys = [session_key(self._prefix, session, "collection")]
        args: list[str | int] = [collection, self._ttl_ms]
        bound = await redis_call("bind", lambda: self._bind(keys=keys, args=args))
        return bound.decode() if isinstance(bound, bytes) else str(bound)

    async def bound(self, session: str) -> str | None:
        """See :meth:`SessionBindings.bound`."""
        key = session_key(self._prefix, session, "collection")
        found = await redis_call("read", lambda: self._client.get(key))
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    async def clear(self, session: str) -> None:
        """Forget the session's binding."""
        key = session_key(self._prefix, session, "collection")
        await redis_call("clear", lambda: self._client.delete(key))

    async def aclose(self) -> None:
        """Close the client if this map created it."""
        if self._owns:
            await redis_call("close", lambda: self._client.aclose())


class FallbackBindings(_Fallback[SessionBindings]):
    """Bindings that live in memory while Redis is unreachable (see ``FallbackChunkStore``)."""

    def __init__(
        self,
        primary: SessionBindings,
        fallback: SessionBindings,
        *,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap two maps."""
        super().__init__(
            primary, fallback, what="binding store", retry_after_s=retry_after_s, timer=timer
        )

    async def bind(self, session: str, collection: str) -> str:
        """Bind in the serving map."""
        return await self.breaker.run(
            lambda: self.primary.bind(session, collection),
            lambda: self.fallback.bind(session, collection),
        )

    async def bound(self, session: str) -> str | None:
        """The binding in the serving map."""
        return await self.breaker.run(
            lambda: self.primary.bound(session), lambda: self.fallback.bound(session)
        )


def build_bindings(config: CacheConfig) -> SessionBindings:
    """Bindings where the cache lives (memory or Redis, with its fallback)."""
    memory = MemoryBindings(max_sessions=config.max_sessions, ttl_s=config.session_ttl_s)
    if config.store != "redis":
        return memory
    redis = RedisBindings(
        url=config.redis_url,
        prefix=config.key_prefix,
        ttl_s=config.session_ttl_s,
        cluster=config.redis_cluster,
    )
    if config.fallback:
        return FallbackBindings(redis, memory, retry_after_s=config.fallback_retry_s)
    return redis
