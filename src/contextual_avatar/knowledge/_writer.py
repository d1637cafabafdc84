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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from contextual_avatar.errors import ContextualAvatarError, StoreUnavailable
from contextual_avatar.knowledge._config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CLOSE_TIMEOUT_S,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_RETRY_INITIAL_S,
    DEFAULT_RETRY_MAX_S,
    DEFAULT_RETRY_MULTIPLIER,
    KnowledgeConfig,
)
from contextual_avatar.knowledge._outbox import Outbox
from contextual_avatar.knowledge._sink import KnowledgeGraphSink
from contextual_avatar.types import Fact

__all__ = ["BackgroundWriter", "WriterClosedError", "WriterStats", "backoff_delay"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class WriterClosedError(ContextualAvatarError, RuntimeError):
    """Facts were submitted to a writer that has been closed (a programming error)."""


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters of a :class:`BackgroundWriter` since it was created.

    Parameters:
        submitted: Facts handed to :meth:`BackgroundWriter.submit`.
        acknowledged: Facts appended to the outbox (durable).
        delivered: Facts confirmed by the store (replays of an earlier run included).
        spilled: Facts written to the outbox on the caller's thread because the queue was full.
        failures: Failed store writes (each is retried).
        rejected: Facts the store refused as data (e.g. unencodable text); they are kept in
            the outbox's ``rejected`` table instead of blocking the facts behind them.
        queued: Facts in memory, not yet acknowledged.
        last_error: The most recent store error, or ``None``.
    """

    submitted: int
    acknowledged: int
    delivered: int
    spilled: int
    failures: int
    rejected: int
    queued: int
    last_error: str | None


def backoff_delay(
    attempt: int,
    *,
    initial_s: float,
    max_s: float,
    multiplier: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Exponential back-off with equal jitter: half the capped delay, plus up to half again.

    Args:
        attempt: Failures so far, from 0.
        initial_s: Delay after the first failure (before jitter).
        max_s: Cap on the delay.
        multiplier: Growth per attempt.
        rand: A source of floats in ``[0, 1)`` (injected for tests).

    Returns:
        Seconds to wait, in ``[cap / 2, cap]``, where
        ``cap = min(max_s, initial_s * multiplier**attempt)``.
    """
    try:
        grown = initial_s * multiplier**attempt
    except OverflowError:  # a long outage: the cap has long been reached
        grown = math.inf
    cap = min(max_s, grown)
    return cap / 2 + cap / 2 * rand()


class BackgroundWriter:
    """Writes facts to a sink in the background, through a durable outbox.

    Start it inside the running loop it should live on (:meth:`start`), submit from the ask
    path, and drain with :meth:`flush` / :meth:`aclose`. The writer does not own the sink:
    whoever built the sink closes it, after the writer.
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
        self._queue: deque[Fact] = deque()
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._retry = (retry_initial_s, retry_max_s, retry_multiplier)
        self._close_timeout_s = close_timeout_s
        self._rand = rand
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kg-outbox")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._wake_ack: asyncio.Event | None = None
        self._wake_deliver: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._acking = 0
        self._closing = False
        self._closed = False
        self._submitted = 0
        self._acknowledged = 0
        self._delivered = 0
        self._spilled = 0
        self._failures = 0
        self._rejected = 0
        self._last_error: str | None = None

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
            WriterClosedError: The writer was closed.
        """
        if self._closed or self._closing:
            raise WriterClosedError("submit() after aclose()")
        items = facts if isinstance(facts, list | tuple) else list(facts)
        if not items:
            return
        if len(self._queue) + len(items) > self._queue_size:
            self._outbox.append(items)
            self._spilled += len(items)
            self._acknowledged += len(items)
            self._notify(self._wake_deliver)
        else:
            self._queue.extend(items)
            self._notify(self._wake_ack)
        self._submitted += len(items)

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
        return WriterStats(
            submitted=self._submitted,
            acknowledged=self._acknowledged,
            delivered=self._delivered,
            spilled=self._spilled,
            failures=self._failures,
            rejected=self._rejected,
            queued=len(self._queue) + self._acking,
            last_error=self._last_error,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> BackgroundWriter:
        """Start the writer's tasks on the running loop (call it from inside that loop).

        Returns:
            ``self``.

        Raises:
            RuntimeError: No loop is running, or the writer was started already.
        """
        if self._loop is not None:
            raise RuntimeError("BackgroundWriter.start() called twice")
        if self._closed:
            raise WriterClosedError("start() after aclose()")
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._wake_ack = asyncio.Event()
        self._wake_deliver = asyncio.Event()
        self._progress = asyncio.Event()
        self._wake_ack.set()
        self._wake_deliver.set()
        self._tasks = [
            loop.create_task(self._ack_loop(), name="kg-writer-ack"),
            loop.create_task(self._deliver_loop(), name="kg-writer-deliver"),
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

    async def _io_call(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

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
            if not self._queue:
                if self._closing:
                    return
                await self._wake_ack.wait()
                continue
            n = min(self._batch_size, len(self._queue))
            batch = [self._queue.popleft() for _ in range(n)]
            self._acking = n
            try:
                await self._io_call(self._outbox.append, batch)
            except Exception as exc:  # disk full, permissions: keep the facts, retry
                self._queue.extendleft(reversed(batch))
                self._acking = 0
                self._last_error = f"outbox: {exc}"
                _log.warning("knowledge outbox append failed, retrying: %s", exc)
                await asyncio.sleep(self._delay(attempt))
                attempt += 1
                continue
            attempt = 0
            self._acking = 0
            self._acknowledged += n
            self._wake_deliver_set()
            self._progress.set()

    def _wake_deliver_set(self) -> None:
        if self._wake_deliver is not None:
            self._wake_deliver.set()

    def _delay(self, attempt: int) -> float:
        initial, cap, mult = self._retry
        return backoff_delay(
            attempt, initial_s=initial, max_s=cap, multiplier=mult, rand=self._rand
        )

    async def _deliver_loop(self) -> None:
        assert self._wake_deliver is not None
        assert self._progress is not None
        attempt = 0
        while True:
            self._wake_deliver.clear()
            rows = await self._io_call(self._outbox.peek, self._batch_size)
            if not rows:
                self._progress.set()
                await self._wake_deliver.wait()
                continue
            try:
                bad = await self._write_rows(rows)
            except Exception as exc:  # the store is down or refused: back off and retry
                self._failures += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                if attempt == 0:
                    _log.warning("knowledge store write failed, will retry: %s", exc)
                await asyncio.sleep(self._delay(attempt))
                attempt += 1
                continue
            if attempt:
                _log.info("knowledge store reachable again after %d failed writes", attempt)
            attempt = 0
            if bad:
                await self._io_call(self._outbox.reject, rows[-1][0], bad)
                self._rejected += len(bad)
                _log.error(
                    "knowledge store refused %d facts as data; kept in the outbox's "
                    "rejected table: %s",
                    len(bad),
                    bad[0][1],
                )
            else:
                await self._io_call(self._outbox.delete_through, rows[-1][0])
            self._delivered += len(rows) - len(bad)
            self._progress.set()

    async def _write_rows(self, rows: list[tuple[int, Fact]]) -> list[tuple[Fact, str]]:
        """Write a batch; if the store refuses its *data*, find the facts to blame.

        A ``ValueError`` or ``TypeError`` (text no encoding can carry, say) is about the facts,
        not the store: retrying would block every later fact. Each fact is then written alone
        and the refused ones are returned; an outage still raises, to be retried.
        """
        try:
            await self._sink.write([fact for _, fact in rows])
            return []
        except (ValueError, TypeError):
            pass
        bad: list[tuple[Fact, str]] = []
        for _, fact in rows:
            try:
                await self._sink.write([fact])
            except (ValueError, TypeError) as exc:
                bad.append((fact, f"{type(exc).__name__}: {exc}"))
        return bad

    # -- draining ----------------------------------------------------------------------------

    async def checkpoint(self) -> None:
        """Wait until every fact submitted so far is acknowledged in the on-disk outbox."""
        progress = self._require_started()
        while self._queue or self._acking:
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
                    drained = not self._queue and not self._acking
                    if drained and await self._io_call(self._outbox.count) == 0:
                        return
                    await progress.wait()
        except TimeoutError as exc:
            raise StoreUnavailable(
                f"knowledge writer: facts still undelivered after {timeout_s} s "
                f"(last error: {self._last_error})"
            ) from exc

    def _check_tasks(self) -> None:
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError("knowledge writer task failed") from task.exception()

    async def aclose(self, timeout_s: float | None = None) -> None:
        """Deliver what can be delivered within ``timeout_s``, then stop; nothing is lost.

        Facts still in memory are acknowledged to the outbox first; whatever the store has
        not confirmed when the time is up stays in the outbox for the next writer on the
        same directory. Safe to call twice.

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
        elif self._queue:
            self._outbox.append(list(self._queue))
            self._acknowledged += len(self._queue)
            self._queue.clear()
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._io, self._outbox.close)
        self._io.shutdown(wait=True)
