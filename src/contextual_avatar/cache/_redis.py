"""The Redis chunk store: the same policies as in process, shared by processes.

Each session is two hashes: ``entries`` (``c:<id>`` chunk JSON, ``v:<id>`` float32
vector bytes) and ``meta`` (``version`` and the policy ``state`` as JSON). A change
(admit, touch) reads the meta, runs the policy in Python, and commits with one Lua
script that applies it only if the version is unchanged (compare-and-set), deletes the
victims, writes the entries, bumps the version and sets the TTL, atomically. A
conflicting writer makes the commit retry on fresh state, so several avatars and
processes can share a session safely and the Redis store behaves exactly like
:class:`~contextual_avatar.cache.MemoryChunkStore` (same policy code, same order of
operations, the loop in :class:`~contextual_avatar.cache.BaseChunkStore`). Policies stay
pure; the store knows nothing of eviction arithmetic. A policy whose state would not
survive the JSON round trip is refused when the store is built
(:class:`~contextual_avatar.errors.ConfigError`).

Redis errors become :class:`~contextual_avatar.errors.StoreUnavailable`.

On a Redis Cluster (``connect(url, cluster=True)``, redis-py's ``RedisCluster``) nothing
changes but the client: every key of a session carries the session's ``{hash tag}``
(``_keys.py``), so each script's keys share one slot. The cluster client follows MOVED
and ASK redirects and retries ``CLUSTERDOWN``, ``TRYAGAIN`` and lost connections with a
bounded exponential backoff (about 9 s in all), which covers a replica taking over from
a dead primary (about 2-3 s with a 1 s ``cluster-node-timeout``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import numpy as np

from contextual_avatar._serde import chunk_from_dict, chunk_to_dict
from contextual_avatar.cache._keys import session_key
from contextual_avatar.cache._policy import EvictionPolicy, PolicyFactory
from contextual_avatar.cache._store import MAX_RETRIES, BaseChunkStore, CacheEntry
from contextual_avatar.errors import MissingDependencyError, StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    #: A single server's client or a cluster's: the stores use what both offer.
    RedisClient = Redis | RedisCluster

__all__ = ["MAX_RETRIES", "RedisChunkStore", "connect", "redis_call"]

T = TypeVar("T")
# A stalled server (alive but not answering) must fail a call, not hang the turn; a
# ``socket_timeout`` in the URL's query overrides these.
SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 2.0
# redis-py's pool raises "Too many connections" past its size (100); with a thousand
# sessions asking at once, calls must queue for a connection instead (up to the timeout).
MAX_CONNECTIONS = 64
POOL_TIMEOUT_S = 5.0
# Cluster: retries of a command that met a failover (CLUSTERDOWN, TRYAGAIN, a dead
# primary's refused connection), spaced 50 ms, 100 ms, ... up to 500 ms: about 9 s in
# all, past a replica's promotion; then the call fails with StoreUnavailable.
CLUSTER_RETRIES = 20
CLUSTER_BACKOFF_BASE_S = 0.05
CLUSTER_BACKOFF_CAP_S = 0.5
# Per node, as the cluster client does not queue for a connection.
CLUSTER_MAX_CONNECTIONS = 256

# KEYS[1] entries hash, KEYS[2] meta hash.
# ARGV[1] expected version, ARGV[2] TTL in ms, ARGV[3] new policy state (JSON),
# ARGV[4] number n of evicted chunk ids, ARGV[5..4+n] the ids, then field/value pairs.
# Returns 1 when committed, 0 when another writer changed the session first.
COMMIT_SCRIPT = """
local version = redis.call('HGET', KEYS[2], 'version')
if not version then version = '0' end
if version ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[4])
for i = 5, 4 + n do
  redis.call('HDEL', KEYS[1], 'c:' .. ARGV[i], 'v:' .. ARGV[i])
end
for i = 5 + n, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[2], 'version', tostring(tonumber(version) + 1), 'state', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""


@overload
def connect(url: str) -> Redis: ...
@overload
def connect(url: str, *, cluster: Literal[False]) -> Redis: ...
@overload
def connect(url: str, *, cluster: bool) -> RedisClient: ...
def connect(url: str, *, cluster: bool = False) -> RedisClient:
    """An asyncio Redis client for ``url`` (the ``redis`` extra must be installed).

    Args:
        url: A server's URL; with ``cluster``, any node's (the others are discovered).
        cluster: Speak the Redis Cluster protocol (``RedisCluster``).

    Raises:
        MissingDependencyError: ``redis`` is not installed.
    """
    try:
        from redis.asyncio import BlockingConnectionPool, Redis
    except ImportError as exc:
        raise MissingDependencyError("the Redis cache store", "redis", "redis") from exc
    if cluster:
        return _connect_cluster(url)
    pool = BlockingConnectionPool.from_url(
        url,
        decode_responses=False,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_TIMEOUT_S,
    )
    client: Redis = Redis.from_pool(pool)  # the client closes the pool with itself
    return client


def _connect_cluster(url: str) -> RedisCluster:
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    retry = Retry(
        ExponentialBackoff(cap=CLUSTER_BACKOFF_CAP_S, base=CLUSTER_BACKOFF_BASE_S),
        CLUSTER_RETRIES,
    )
    client: RedisCluster = RedisCluster.from_url(
        url,
        decode_responses=False,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        max_connections=CLUSTER_MAX_CONNECTIONS,
        retry=retry,
    )
    return client


async def redis_call(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call`` translating Redis errors into :class:`StoreUnavailable`."""
    from redis.exceptions import RedisClusterException, RedisError

    try:
        return await call()
    except (RedisError, RedisClusterException) as exc:
        raise StoreUnavailable(f"Redis {what} failed: {exc}") from exc
    except OSError as exc:
        raise StoreUnavailable(f"Redis {what} failed: {exc}") from exc


class RedisChunkStore(BaseChunkStore[bytes | str]):
    """Per-session chunks in Redis, evicted by the same policies as in process.

    The store owns its client when built from a URL and closes it in :meth:`aclose`;
    a client passed in is left open. Sessions expire ``ttl_s`` after their last admit
    or touch; ``max_sessions`` is left to Redis (``maxmemory`` with a volatile policy).
    """

    serialises_policy = True

    def __init__(
        self,
        *,
        capacity: int,
        policy_factory: PolicyFactory,
        url: str | None = None,
        client: RedisClient | None = None,
        prefix: str = "ca:cache",
        ttl_s: float = 3600.0,
        cluster: bool = False,
    ) -> None:
        """Create the store (no I/O until first use).

        Args:
            capacity: Entries per session.
            policy_factory: Makes an empty policy; its :meth:`~EvictionPolicy.load`
                restores a session's state.
            url: Redis URL, used when ``client`` is not given.
            client: An existing ``redis.asyncio.Redis`` or ``RedisCluster``
                (``decode_responses=False``).
            prefix: Namespace of every key.
            ttl_s: Idle seconds before a session expires.
            cluster: ``url`` is a Redis Cluster node (ignored with ``client``).

        Raises:
            ConfigError: The policy's :meth:`~EvictionPolicy.state` does not carry all
                its attributes through JSON (see :func:`~contextual_avatar.cache.check_state`).
        """
        if client is None and url is None:
            raise ValueError("give url or client")
        super().__init__(capacity=capacity, policy_factory=policy_factory)
        self._owns = client is None
        self._client = client if client is not None else connect(url or "", cluster=cluster)
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._script = self._client.register_script(COMMIT_SCRIPT)

    def _keys(self, session: str) -> list[str]:
        return [
            session_key(self._prefix, session, "entries"),
            session_key(self._prefix, session, "meta"),
        ]

    async def load_session(self, session: str) -> tuple[EvictionPolicy, bytes | str]:
        """A policy rebuilt from the session's stored state, and its version."""
        meta_key = self._keys(session)[1]
        version, state = await redis_call(
            "read", lambda: self._client.hmget(meta_key, ["version", "state"])
        )
        policy = self._policy_factory()
        if state:
            policy.loads(state)
        return policy, (version or b"0")

    async def commit(
        self,
        session: str,
        version: bytes | str,
        policy: EvictionPolicy,
        written: dict[str, CacheEntry],
        evicted: Sequence[str],
    ) -> bool:
        """Run the compare-and-set script (see the module docstring)."""
        fields: list[Any] = []
        for key, entry in written.items():
            vector = np.ascontiguousarray(entry.vector, dtype=np.float32)
            fields += [f"c:{key}", json.dumps(chunk_to_dict(entry.chunk))]
            fields += [f"v:{key}", vector.tobytes()]
        args = [version, self._ttl_ms, policy.dumps(), len(evicted), *evicted, *fields]
        keys = self._keys(session)
        result = await redis_call("commit", lambda: self._script(keys=keys, args=args))
        return bool(result)

    async def entries(self, session: str) -> list[CacheEntry]:
        """The session's resident entries."""
        key = self._keys(session)[0]
        raw: dict[Any, Any] = await redis_call("read", lambda: self._client.hgetall(key))
        out = []
        for field, value in raw.items():
            if not bytes(field).startswith(b"c:"):
                continue
            vector = raw.get(b"v:" + bytes(field)[2:])
            if vector is None:
                continue
            chunk = chunk_from_dict(json.loads(value))
            out.append(CacheEntry(chunk, np.frombuffer(vector, dtype=np.float32).copy()))
        return out

    async def clear(self, session: str) -> None:
        """Drop the session's entries and policy state."""
        keys = self._keys(session)
        await redis_call("clear", lambda: self._client.delete(*keys))

    async def aclose(self) -> None:
        """Close the client if the store created it."""
        if self._owns:
            await redis_call("close", lambda: self._client.aclose())
