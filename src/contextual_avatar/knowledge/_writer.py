"""The background writer: the ask path hands facts over in microseconds, and none is lost.

Pipeline::

    submit(facts)  --(memory deque, bounded)-->  ack task  --(append)-->  Outbox (SQLite, disk)
                                                               deliver task  <--(peek, in order)--
                                              sink.write(batch)  --ok-->  Outbox.delete_through()
                                                                 --fail-> back off, retry

:meth:`BackgroundWriter.submit` is synchronous and never touches disk or network while the
memory queue has room (when it is full, the facts go straight to the outbox on the caller's
thread: back-pressure instead of loss). Every batch is written ahead to the outbox before the
store sees it, so a fact is *acknowledged* once it is there: a killed process loses nothing
acknowledged, and the next writer on the same directory replays it. Store writes are
idempotent, so a replay of a batch that had in fact arrived has no effect.

This module runs the two tasks and the lifecycle. What is not yet durable lives in
``_intake`` (which :meth:`BackgroundWriter.spill` saves at exit), the disk thread in
``_io_thread``, the back-off in ``_retry``, outage-or-bad-data triage in ``_triage`` and the
counters in ``_writer_stats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge._config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CLOSE_TIMEOUT_S,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_RETRY_INITIAL_S,
    DEFAULT_RETRY_MAX_S,
    DEFAULT_RETRY_MULTIPLIER,
    KnowledgeConfig,
)
from contextual_avatar.knowledge._intake import PendingFacts, WriterClosedError
from contextual_avatar.knowledge._io_thread import ExitingError, IoThread
from contextual_avatar.knowledge._outbox import Outbox
from contextual_avatar.knowledge._retry import RetryPolicy, backoff_delay
from contextual_avatar.knowledge._sink import KnowledgeGraphSink
from contextual_avatar.knowledge._triage import write_or_triage
from contextual_avatar.knowledge._writer_stats import WriterCounters, WriterStats
from contextual_avatar.types import Fact

# backoff_delay, WriterClosedError and WriterStats moved out; re-exported for old imports.
__all__ = ["BackgroundWriter", "WriterClosedError", "WriterStats", "backoff_delay"]

_log = logging.getLogger(__name__)


class BackgroundWriter:
    """Writes facts to a sink in the background, through a durable outbox.

    Start it inside the running loop it should live on (:meth:`start`), submit from the ask
    path, and drain with :meth:`flush` / :meth:`aclose`. If that loop cannot run any more
    (interpreter exit), :meth:`spill` saves what is still in memory to the outbox instead.
    The writer does not own the sink: whoever built the sink closes it, after the writer.
    """

    def __init__(
        self,
        sink: KnowledgeGraphSink,
        *,
        outbox_dir: str | Path,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        retry_initial_s: float = DEFAULT_RETRY_INITIAL_S,
        retry_max_s: float = DEFAULT_RETRY_MAX_S,
        retry_multiplier: float = DEFAULT_RETRY_MULTIPLIER,
        close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """Open the outbox; facts left there by an earlier run are replayed after :meth:`start`.

        Args:
            sink: Where facts go.
            outbox_dir: Directory of the durable outbox (one writer per directory).
            queue_size: Facts held in memory before :meth:`submit` spills to the outbox.
            batch_size: Facts per outbox append and per store write.
            retry_initial_s: First back-off delay after a failed store write.
            retry_max_s: Longest back-off delay.
            retry_multiplier: Growth factor of the delay.
            close_timeout_s: Default time :meth:`aclose` spends delivering before it leaves
                the rest in the outbox.
            rand: Jitter source in ``[0, 1)`` (injected for tests).
        """
        if queue_size < 1 or batch_size < 1:
            raise ValueError("queue_size and batch_size must be at least 1")
        self._sink = sink
        self._outbox = Outbox(outbox_dir)
        self._pending = PendingFacts(self._outbox, queue_size)
        self._batch_size = batch_size
        self._retry = RetryPolicy(retry_initial_s, retry_max_s, retry_multiplier, rand)
        self._close_timeout_s = close_timeout_s
        self._io = IoThread("kg-outbox")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._wake_ack: asyncio.Event | None = None
        self._wake_deliver: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._closed = False
        self._counts = WriterCounters()

    @classmethod
    def from_config(
        cls, sink: KnowledgeGraphSink, config: KnowledgeConfig, *, outbox_dir: str | Path
    ) -> BackgroundWriter:
        """A writer with the queue, batch and retry settings of ``config``."""
        return cls(
            sink,
            outbox_dir=outbox_dir,
            queue_size=config.queue_size,
            batch_size=config.batch_size,
            retry_initial_s=config.retry_initial_s,
            retry_max_s=config.retry_max_s,
            retry_multiplier=config.retry_multiplier,
            close_timeout_s=config.close_timeout_s,
        )

    # -- ask-path face ---------------------------------------------------------------------

    def submit(self, facts: Iterable[Fact]) -> None:
        """Hand facts to the writer; returns at once and never raises on a store outage.

        Callable from any thread. While the memory queue has room this only appends to it;
        when the queue is full the facts are appended to the on-disk outbox right here.

        Raises:
            WriterClosedError: The writer was closed or spilled.
        """
        if self._closed or self._closing:
            raise WriterClosedError("submit() after aclose()")
        items = facts if isinstance(facts, list | tuple) else list(facts)
        if not items:
            return
        if self._pending.add(items):
            self._counts.spilled += len(items)
            self._counts.acknowledged += len(items)
            self._notify(self._wake_deliver)
        else:
            self._notify(self._wake_ack)
        self._counts.submitted += len(items)

    def _notify(self, event: asyncio.Event | None) -> None:
        if event is None or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(event.set)

    @property
    def stats(self) -> WriterStats:
        """The writer's counters (see :class:`WriterStats`)."""
        return self._counts.snapshot(queued=len(self._pending))

    def spill(self) -> int:
        """Save every fact not yet durable to the outbox, without the loop or the sink.

        For exit hooks (``atexit``, ``weakref.finalize``) that run when the writer's loop is
        stopped or gone and :meth:`aclose` cannot run: facts still queued in memory, or in
        a batch the ack task had not committed, are appended to the outbox on the caller's
        thread; facts already there stay until the next writer on the same directory
        replays them at :meth:`start`. Afterwards :meth:`submit` raises. Nothing is closed:
        if the loop is still alive, :meth:`aclose` may follow and delivers as usual.

        Thread-safe and idempotent (a second call returns 0).

        Returns:
            How many facts were moved to the outbox.
        """
        moved = self._pending.spill()
        self._counts.spilled += moved
        self._counts.acknowledged += moved
        return moved

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> BackgroundWriter:
        """Start the writer's tasks on the running loop (call it from inside that loop).

        Delivery begins with whatever an earlier run left in the outbox.

        Returns:
            ``self``.

        Raises:
            RuntimeError: No loop is running, or the writer was started already.
        """
        if self._loop is not None:
            raise RuntimeError("BackgroundWriter.start() called twice")
        if self._closed or self._pending.sealed:
            raise WriterClosedError("start() after aclose() or spill()")
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._wake_ack = asyncio.Event()
        self._wake_deliver = asyncio.Event()
        self._progress = asyncio.Event()
        self._wake_ack.set()
        self._wake_deliver.set()
        self._tasks = [
            loop.create_task(self._io.until_exit(self._ack_loop()), name="kg-writer-ack"),
            loop.create_task(self._io.until_exit(self._deliver_loop()), name="kg-writer-deliver"),
        ]
        return self

    async def __aenter__(self) -> BackgroundWriter:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _require_started(self) -> asyncio.Event:
        if self._progress is None:
            raise RuntimeError("BackgroundWriter.start() has not been called")
        return self._progress

    # -- tasks -------------------------------------------------------------------------------

    async def _ack_loop(self) -> None:
        assert self._wake_ack is not None
        assert self._progress is not None
        attempt = 0
        while True:
            self._wake_ack.clear()
            batch = self._pending.take(self._batch_size)
            if not batch:
                if self._closing or self._pending.sealed:
                    return
                await self._wake_ack.wait()
                continue
            try:
                await self._io.call(self._commit, batch)
            except Exception as exc:  # disk full, permissions: keep the facts, retry
                self._pending.give_back(batch)
                if isinstance(exc, ExitingError):
                    raise
                self._counts.last_error = f"outbox: {exc}"
                _log.warning("knowledge outbox append failed, retrying: %s", exc)
                await asyncio.sleep(self._retry.delay(attempt))
                attempt += 1
                continue
            attempt = 0
            if self._wake_deliver is not None:
                self._wake_deliver.set()
            self._progress.set()

    def _commit(self, batch: list[Fact]) -> None:
        """On the disk thread: counted here, as the loop may stop before the task resumes."""
        if self._pending.commit(batch):  # else spill() saved (and counted) the batch first
            self._counts.acknowledged += len(batch)

    async def _deliver_loop(self) -> None:
        assert self._wake_deliver is not None
        assert self._progress is not None
        attempt = 0
        while True:
            self._wake_deliver.clear()
            rows = await self._io.call(self._outbox.peek, self._batch_size)
            if not rows:
                self._progress.set()
                await self._wake_deliver.wait()
                continue
            try:
                bad = await write_or_triage(self._sink, [fact for _, fact in rows])
            except Exception as exc:  # the store is down or refused: back off and retry
                self._io.check()  # a sink's threads die at exit too: not an outage to report
                self._counts.failures += 1
                self._counts.last_error = f"{type(exc).__name__}: {exc}"
                if attempt == 0:
                    _log.warning("knowledge store write failed, will retry: %s", exc)
                await asyncio.sleep(self._retry.delay(attempt))
                attempt += 1
                continue
            if attempt:
                _log.info("knowledge store reachable again after %d failed writes", attempt)
            attempt = 0
            if bad:
                await self._io.call(self._outbox.reject, rows[-1][0], bad)
                self._counts.rejected += len(bad)
                _log.error(
                    "knowledge store refused %d facts as data; kept in the outbox's "
                    "rejected table: %s",
                    len(bad),
                    bad[0][1],
                )
            else:
                await self._io.call(self._outbox.delete_through, rows[-1][0])
            self._counts.delivered += len(rows) - len(bad)
            self._progress.set()

    # -- draining ----------------------------------------------------------------------------

    async def checkpoint(self) -> None:
        """Wait until every fact submitted so far is acknowledged in the on-disk outbox."""
        progress = self._require_started()
        while len(self._pending):
            self._check_tasks()
            progress.clear()
            await progress.wait()

    async def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every submitted fact (and any replayed one) has reached the store.

        Args:
            timeout_s: Seconds to wait at most; ``None`` waits for as long as it takes.

        Raises:
            StoreUnavailable: ``timeout_s`` passed with facts still undelivered (they stay in
                the outbox and delivery goes on).
        """
        progress = self._require_started()
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    progress.clear()
                    self._check_tasks()
                    drained = not len(self._pending)
                    if drained and await self._io.call(self._outbox.count) == 0:
                        return
                    await progress.wait()
        except TimeoutError as exc:
            raise StoreUnavailable(
                f"knowledge writer: facts still undelivered after {timeout_s} s "
                f"(last error: {self._counts.last_error})"
            ) from exc

    def _check_tasks(self) -> None:
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError("knowledge writer task failed") from task.exception()

    async def aclose(self, timeout_s: float | None = None) -> None:
        """Deliver what can be delivered within ``timeout_s``, then stop; nothing is lost.

        Facts still in memory are acknowledged to the outbox first; whatever the store has
        not confirmed when the time is up stays in the outbox for the next writer on the
        same directory. Safe to call twice, and after :meth:`spill`.

        Args:
            timeout_s: Seconds to keep delivering; defaults to ``close_timeout_s``.
        """
        if self._closed:
            return
        self._closing = True
        wait = self._close_timeout_s if timeout_s is None else timeout_s
        if self._loop is not None and self._tasks:
            with contextlib.suppress(StoreUnavailable):
                await self.flush(timeout_s=wait)
            ack, deliver = self._tasks
            if self._wake_ack is not None:
                self._wake_ack.set()
            await asyncio.gather(ack, return_exceptions=True)  # drains memory to disk
            deliver.cancel()
            await asyncio.gather(deliver, return_exceptions=True)
        # Never started, or a submit() from another thread raced the drain: save it too.
        self._counts.acknowledged += self._pending.spill()
        self._closed = True
        await self._io.call(self._outbox.close)
        self._io.shutdown()
