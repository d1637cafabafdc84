"""Facts the writer holds in memory: handed over by ``submit``, not yet in the outbox.

Everything that is not yet durable lives in one :class:`PendingFacts`, so that
:meth:`PendingFacts.spill` can save all of it from any thread without an event loop: at
interpreter exit the writer's loop may already be gone while facts are still in memory.

Two locks keep the ask path off the disk. ``_lock`` guards the in-memory state and is held
only for list operations. ``_io_lock`` orders every append to the outbox (the ack task's
commit, the overflow path of :meth:`PendingFacts.add`, and :meth:`PendingFacts.spill`), so a
batch taken by the ack task reaches the outbox exactly once, whichever of the two gets it
there.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from contextual_avatar.errors import ContextualAvatarError
from contextual_avatar.knowledge._outbox import Outbox
from contextual_avatar.types import Fact

__all__ = ["PendingFacts", "WriterClosedError"]


class WriterClosedError(ContextualAvatarError, RuntimeError):
    """Facts were submitted to a writer that has been closed (a programming error)."""


class PendingFacts:
    """A bounded in-memory queue in front of an :class:`Outbox`, plus the batch in transit."""

    def __init__(self, outbox: Outbox, capacity: int) -> None:
        """Hold up to ``capacity`` facts in memory before :meth:`add` goes to disk.

        Args:
            outbox: Where facts become durable.
            capacity: Facts the memory queue holds (the batch being committed aside).
        """
        self._outbox = outbox
        self._capacity = capacity
        self._queue: deque[Fact] = deque()
        self._batch: list[Fact] | None = None  # taken by the ack task, not yet committed
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._sealed = False

    def __len__(self) -> int:
        """Facts not yet durable: those queued plus the batch being committed."""
        with self._lock:
            return len(self._queue) + len(self._batch or ())

    @property
    def sealed(self) -> bool:
        """Whether :meth:`spill` ran: no fact is accepted any more."""
        return self._sealed

    def _check_open(self) -> None:
        if self._sealed:
            raise WriterClosedError("submit() after the writer was closed or spilled")

    def add(self, facts: Sequence[Fact]) -> bool:
        """Queue facts in memory; when they do not fit, append them to the outbox right here.

        Returns:
            ``True`` when the facts went to disk on the caller's thread (back-pressure),
            ``False`` when they were queued.

        Raises:
            WriterClosedError: :meth:`spill` ran already.
        """
        with self._lock:
            self._check_open()
            if len(self._queue) + len(facts) <= self._capacity:
                self._queue.extend(facts)
                return False
        with self._io_lock:
            self._check_open()  # a spill may have run in between: it would not see these
            self._outbox.append(facts)
        return True

    def take(self, limit: int) -> list[Fact]:
        """Move up to ``limit`` queued facts into the batch in transit (one at a time)."""
        with self._lock:
            if self._batch is not None:
                raise RuntimeError("a batch is already being committed")
            n = min(limit, len(self._queue))
            if n == 0:
                return []
            self._batch = [self._queue.popleft() for _ in range(n)]
            return self._batch

    def commit(self, batch: list[Fact]) -> bool:
        """Append the batch from :meth:`take` to the outbox; blocking, so run it off the loop.

        Returns:
            ``False`` when :meth:`spill` saved the batch first (nothing more to do).

        Raises:
            Exception: Whatever the outbox raised; the batch stays in transit, so
                :meth:`give_back` (or :meth:`spill`) still has it.
        """
        with self._io_lock:
            if self._batch is not batch:
                return False
            self._outbox.append(batch)
            with self._lock:
                self._batch = None
            return True

    def give_back(self, batch: list[Fact]) -> None:
        """Return a batch whose commit failed to the front of the queue, order kept."""
        with self._lock:
            if self._batch is batch:
                self._queue.extendleft(reversed(batch))
                self._batch = None

    def spill(self) -> int:
        """Append every fact not yet durable to the outbox, then accept no more.

        Loop-free and thread-safe. Idempotent: a second call finds nothing and returns 0.

        Returns:
            How many facts were appended.

        Raises:
            Exception: Whatever the outbox raised; the facts then stay in memory.
        """
        with self._io_lock, self._lock:
            items = [*(self._batch or ()), *self._queue]
            self._outbox.append(items)  # no-op when empty (the outbox may be closed then)
            self._batch = None
            self._queue.clear()
            self._sealed = True
            return len(items)
