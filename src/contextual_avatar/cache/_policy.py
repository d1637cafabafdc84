"""Eviction policies: pure bookkeeping over keys, no storage, no I/O.

A policy is told when a key is admitted, hit or forgotten, and names the key to evict.
The base class owns the admit/evict loop (:meth:`EvictionPolicy.admit`) and insertion
order, so each policy overrides only what differs, as in ``cachetools``. Every policy
can export its state as JSON-ready data (:meth:`EvictionPolicy.state`) and be rebuilt
from it (:meth:`EvictionPolicy.load`), so a network store (Redis) runs exactly the same
code as the in-process store.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Self

from contextual_avatar.errors import ConfigError

__all__ = ["EvictionPolicy", "FIFOPolicy", "LRUPolicy", "PolicyFactory", "check_state"]

#: Makes one empty policy (a policy class with no required argument works).
PolicyFactory = Callable[[], "EvictionPolicy"]


class EvictionPolicy:
    """Base: tracks resident keys in admission order and runs the admit/evict loop.

    Subclasses override :meth:`victim` (which key goes) and, when they count more than
    the order, :meth:`on_admit` / :meth:`on_hit` / :meth:`forget` and :meth:`state` /
    :meth:`load`. Callers drive a policy through :meth:`admit` and :meth:`hit`, which
    guarantee that ``on_hit`` and ``forget`` only see resident keys and ``victim`` is
    only asked when a key is resident.

    **State must round-trip.** A store that serialises policies (Redis) keeps only what
    :meth:`state` returns, as JSON, and gives it back through :meth:`load`. A policy
    that keeps an attribute its ``state``/``load`` do not carry would lose it silently
    on every request, so such stores call :func:`check_state` when built: it drives a
    fresh policy through a few admissions, hits and evictions, round-trips its state
    through JSON and raises :class:`~contextual_avatar.errors.ConfigError` naming any
    attribute that did not survive (callables such as a grouping function are
    configuration and are skipped; give them to the factory instead).
    """

    def __init__(self) -> None:
        self._order: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def admit(self, key: str, capacity: int) -> str | None:
        """Admit ``key``, first evicting the victim when ``capacity`` keys are resident.

        The one admit/evict loop every store and replay shares, so a policy behaves the
        same wherever it runs.

        Args:
            key: The key to admit (a resident key counts as a hit).
            capacity: Resident keys at most (>= 1).

        Returns:
            The evicted key, already forgotten, or ``None``.
        """
        evicted = None
        if key not in self and len(self) >= capacity:
            evicted = self.victim(key)
            if evicted not in self:
                raise RuntimeError(
                    f"{type(self).__name__}.victim() named {evicted!r}, which is not resident"
                )
            self.forget(evicted)
        self.on_admit(key)
        return evicted

    def hit(self, key: str) -> bool:
        """Record a use of ``key`` if it is resident; returns whether it was."""
        if key not in self:
            return False
        self.on_hit(key)
        return True

    def on_admit(self, key: str) -> None:
        """Record a newly admitted key (re-admitting a resident key counts as a hit)."""
        if key in self._order:
            self.on_hit(key)
        else:
            self._order[key] = None

    def on_hit(self, key: str) -> None:
        """Record a use of a resident key."""

    def forget(self, key: str) -> None:
        """Drop a key (evicted or invalidated)."""
        self._order.pop(key, None)

    def victim(self, incoming: str | None = None) -> str:
        """The key to evict next.

        Args:
            incoming: The key whose admission needs the room, when known (policies
                may use it, e.g. to evict from the same document).
        """
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """JSON-ready state; ``type(self).from_state(p.state())`` behaves like ``p``."""
        return {"order": list(self._order)}

    @classmethod
    def from_state(cls, state: dict[str, Any], **options: Any) -> Self:
        """Rebuild a policy from :meth:`state` (``options`` as for the constructor)."""
        policy = cls(**options)
        policy.load(state)
        return policy

    def load(self, state: dict[str, Any]) -> None:
        """Replace this policy's state with one from :meth:`state`."""
        self._order = OrderedDict.fromkeys(state.get("order", ()))

    def dumps(self) -> str:
        """:meth:`state` as JSON, for stores that keep policies outside the process.

        Raises:
            ConfigError: The state is not JSON-serialisable.
        """
        try:
            return json.dumps(self.state())
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{type(self).__name__}.state() is not JSON-serialisable: {exc}"
            ) from exc

    def loads(self, text: str | bytes) -> None:
        """Replace this policy's state with one from :meth:`dumps`."""
        self.load(json.loads(text))


class FIFOPolicy(EvictionPolicy):
    """Evict the key admitted first."""

    def victim(self, incoming: str | None = None) -> str:
        """The oldest admitted key (``incoming`` is not used)."""
        return next(iter(self._order))


class LRUPolicy(FIFOPolicy):
    """Evict the key used least recently."""

    def on_hit(self, key: str) -> None:
        """Move ``key`` to the most recent end."""
        self._order.move_to_end(key)


# Chunk-id-shaped keys over three documents: admissions, hits, evictions, a comeback.
_PROBE_CAPACITY = 3
_PROBE = (
    ("admit", "p:0"),
    ("admit", "p:1"),
    ("admit", "q:0"),
    ("hit", "p:0"),
    ("admit", "r:0"),
    ("hit", "q:0"),
    ("admit", "p:2"),
    ("hit", "p:2"),
    ("admit", "q:1"),
    ("admit", "p:0"),
)


def _attributes(policy: object) -> dict[str, Any]:
    """Instance attributes (``__dict__`` and slots), callables left out."""
    found: dict[str, Any] = dict(getattr(policy, "__dict__", {}))
    for cls in type(policy).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(policy, name):
                found.setdefault(name, getattr(policy, name))
    return {k: v for k, v in found.items() if not callable(v)}


def check_state(policy_factory: PolicyFactory) -> None:
    """Check that a policy's :meth:`~EvictionPolicy.state` carries all it keeps.

    Why: a store that serialises policies would otherwise drop the missing attributes
    on every request without a sign (counts going ``{'a': 1}`` -> ``{}``).

    Args:
        policy_factory: Makes a fresh policy, as the store will.

    Raises:
        ConfigError: The state is not JSON-serialisable, cannot be loaded back, or some
            attribute differs after the round trip (the message names them).
    """
    policy = policy_factory()
    name = type(policy).__name__
    for op, key in _PROBE:
        if op == "admit":
            policy.admit(key, _PROBE_CAPACITY)
        else:
            policy.hit(key)
    text = policy.dumps()
    restored = policy_factory()
    try:
        restored.loads(text)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ConfigError(f"{name}.load() cannot read its own state(): {exc!r}") from exc
    before, after = _attributes(policy), _attributes(restored)
    lost = sorted(k for k in before if k not in after or not _same(before[k], after[k]))
    if lost:
        raise ConfigError(
            f"{name} loses {', '.join(repr(k) for k in lost)} through state()/load(): a "
            "store that serialises the policy (Redis) would drop it; extend state() and "
            "load() to carry it"
        )


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. numpy arrays: compare their JSON form
        return repr(a) == repr(b)
