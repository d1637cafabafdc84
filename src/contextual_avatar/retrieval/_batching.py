"""Micro-batched embedding: concurrent turns' texts share one forward pass.

A transformer embeds 32 short texts in far less than 32 times the time of one, but each
turn asks for only one or two. :class:`BatchingEmbedder` puts every request on one queue
served by a single worker thread; the worker takes whatever has gathered and embeds it in
one call, so under load batches grow by themselves while the model is busy (no turn
waits for a timer when the engine is idle).

Two settings shape batches: ``max_texts`` flushes a batch as soon as it is that full, and
``max_wait_ms`` lets the worker wait that long for more texts, but only while requests
are arriving together (the previous batch held more than one request), so a lone turn on
an idle engine starts at once. A request that is a batch by itself (``solo_texts``, 16
texts) skips the queue and runs in its caller's thread, so turns' short queries never
wait behind it.

Callers are isolated: a cancelled request is dropped (or its result discarded) without
touching the others, and when a batch of several requests fails, each request is retried
alone so a text that breaks the model fails only its own turn.

One object serves both faces: :meth:`embed` (blocking, for worker threads such as the
offline answerer's) and :meth:`aembed` (for the event loop; never blocks it).

A turn embeds the same texts more than once (the queries in *understand*, then again in
the offline answerer), and a session may repeat itself. :func:`remember` gives the
running turn a memo (text -> vector) that both faces consult first; the engine keeps one
memo per session, so reuse never crosses from one caller to another. The memo travels
in a context variable, which ``asyncio.to_thread`` carries into worker threads.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import Counter
from collections.abc import MutableMapping, Sequence
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contextual_avatar.retrieval._embedder import Embedder, Vectors

__all__ = [
    "DEFAULT_MAX_TEXTS",
    "DEFAULT_MAX_WAIT_MS",
    "DEFAULT_SOLO_TEXTS",
    "BatchStats",
    "BatchingEmbedder",
    "Memo",
    "remember",
]

DEFAULT_MAX_TEXTS = 64
DEFAULT_MAX_WAIT_MS = 2.0
DEFAULT_SOLO_TEXTS = 16
# The worker thread exits after this long without a request; the next request starts one.
_IDLE_EXIT_S = 5.0

#: Text -> its vector, for one session's turns.
Memo = MutableMapping[str, npt.NDArray[np.float32]]
_MEMO: ContextVar[Memo | None] = ContextVar("contextual_avatar_embed_memo", default=None)


def remember(memo: Memo | None) -> None:
    """Let embeddings in the current context reuse and fill ``memo``.

    The context is the running turn's task and the worker threads it starts; ``None``
    stops reuse.
    """
    _MEMO.set(memo)


@dataclass(slots=True)
class _Request:
    texts: Sequence[str]
    future: Future[Vectors]


@dataclass(slots=True)
class BatchStats:
    """What the batcher has done: how many batches, and how many requests were in each.

    Parameters:
        batches: Forward passes run (retries of a failed batch excluded).
        requests: Requests served (cancelled ones excluded).
        texts: Texts embedded.
        reused: Texts served from a turn's memo instead of the model.
        sizes: Requests per batch -> how many batches had that many.
    """

    batches: int = 0
    requests: int = 0
    texts: int = 0
    reused: int = 0
    sizes: Counter[int] | None = None

    def record(self, requests: int, texts: int) -> None:
        """Count one batch."""
        self.batches += 1
        self.requests += requests
        self.texts += texts
        if self.sizes is None:
            self.sizes = Counter()
        self.sizes[requests] += 1


class BatchingEmbedder:
    """Wraps an :class:`Embedder` so that concurrent requests are embedded together.

    It is itself an :class:`Embedder` (same ``dim`` and ``name``), so it can stand wherever
    one is expected; results are exactly what the wrapped embedder gives for each text
    (for embedders whose rows do not depend on the batch, as the contract requires).
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_texts: int = DEFAULT_MAX_TEXTS,
        max_wait_ms: float = DEFAULT_MAX_WAIT_MS,
        solo_texts: int = DEFAULT_SOLO_TEXTS,
    ) -> None:
        """Batch requests to ``embedder``.

        Args:
            embedder: Does the embedding, one batch at a time, from the worker thread.
            max_texts: A batch is flushed as soon as it holds this many texts (a single
                request larger than this is still embedded whole).
            max_wait_ms: Longest wait for more texts while requests arrive together;
                ``0`` embeds whatever has gathered without waiting.
            solo_texts: A request of this many texts (after the memo) is a batch already:
                it runs in its caller's thread, so it never holds up turns' short queries
                behind it (the offline answerer's sentences, for instance).
        """
        if max_texts < 1:
            raise ValueError("max_texts must be at least 1")
        if max_wait_ms < 0:
            raise ValueError("max_wait_ms must not be negative")
        if solo_texts < 1:
            raise ValueError("solo_texts must be at least 1")
        self.inner = embedder
        self._solo = solo_texts
        self._max_texts = max_texts
        self._max_wait = max_wait_ms / 1000
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._running = False
        self._together = False  # did the last batch hold several requests?
        self._memo_lock = threading.Lock()  # two turns of one session may share a memo
        self.stats = BatchStats()

    @property
    def dim(self) -> int:
        """The wrapped embedder's dimension."""
        return self.inner.dim

    @property
    def name(self) -> str:
        """The wrapped embedder's name (the vectors are its vectors)."""
        return self.inner.name

    def submit(self, texts: Sequence[str]) -> Future[Vectors]:
        """Queue ``texts``; the future gets their vectors (or the embedder's error)."""
        future: Future[Vectors] = Future()
        if not texts:
            future.set_result(np.zeros((0, self.dim), dtype=np.float32))
            return future
        with self._lock:
            self._queue.put(_Request(list(texts), future))
            self._pending += 1
            if not self._running:
                self._running = True
                threading.Thread(target=self._work, name="embed-batcher", daemon=True).start()
        return future

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` with whatever else is waiting (blocks the calling thread)."""
        memo, found, missing = self._recall(texts)
        fresh: Vectors | None = None
        if len(missing) >= self._solo:
            fresh = self.inner.embed(missing)
        elif missing:
            fresh = self.submit(missing).result()
        return self._join(memo, texts, found, fresh)

    async def aembed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` without blocking the event loop.

        Cancelling the awaiting task cancels only this request: if it has not started it
        is dropped from its batch, otherwise its rows are discarded.
        """
        memo, found, missing = self._recall(texts)
        fresh: Vectors | None = None
        if len(missing) >= self._solo:
            fresh = await asyncio.to_thread(self.inner.embed, missing)
        elif missing:
            fresh = await asyncio.wrap_future(self.submit(missing))
        return self._join(memo, texts, found, fresh)

    def memoised(self, texts: Sequence[str]) -> list[npt.NDArray[np.float32] | None]:
        """The running turn's memo entries for ``texts`` (``None`` where it has none)."""
        return self._recall(texts)[1]

    def memoise(self, text: str, vector: npt.NDArray[np.float32]) -> None:
        """Put ``vector`` in the running turn's memo as ``text``'s (no memo: nothing).

        For a vector made without the model (a composed query) that later embeddings of
        the same text in this turn, or the session's next turns, should reuse.
        """
        memo = _MEMO.get()
        if memo is not None:
            with self._memo_lock:
                memo[text] = vector

    def _recall(
        self, texts: Sequence[str]
    ) -> tuple[Memo | None, list[npt.NDArray[np.float32] | None], list[str]]:
        """The context's memo, what it already holds of ``texts``, and the texts it lacks."""
        memo = _MEMO.get()
        if memo is None:
            return None, [None] * len(texts), list(dict.fromkeys(texts))
        with self._memo_lock:
            found = [memo.get(t) for t in texts]
        missing = list(dict.fromkeys(t for t, v in zip(texts, found, strict=True) if v is None))
        return memo, found, missing

    def _join(
        self,
        memo: Memo | None,
        texts: Sequence[str],
        found: list[npt.NDArray[np.float32] | None],
        fresh: Vectors | None,
    ) -> Vectors:
        """Rows for ``texts`` in order, from the memo and the fresh vectors (memo updated)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        new: dict[str, npt.NDArray[np.float32]] = {}
        if fresh is not None:
            missing = dict.fromkeys(t for t, v in zip(texts, found, strict=True) if v is None)
            new = dict(zip(missing, fresh, strict=True))
        if memo is not None:
            with self._memo_lock:
                memo.update(new)
            self.stats.reused += sum(v is not None for v in found)
        rows = [v if v is not None else new[t] for t, v in zip(texts, found, strict=True)]
        return np.stack(rows).astype(np.float32, copy=False)

    # The worker thread.

    def _take(self, timeout: float | None) -> _Request | None:
        try:
            request = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return None
        with self._lock:
            self._pending -= 1
        return request

    def _gather(self, first: _Request) -> list[_Request]:
        batch, size = [first], len(first.texts)
        deadline = time.monotonic() + self._max_wait if self._together else 0.0
        while size < self._max_texts:
            remaining = deadline - time.monotonic()
            request = self._take(remaining if remaining > 0 else None)
            if request is None:
                break
            batch.append(request)
            size += len(request.texts)
        return batch

    def _work(self) -> None:
        while True:
            first = self._take(_IDLE_EXIT_S)
            if first is None:
                with self._lock:
                    if self._pending == 0:
                        self._running = False
                        return
                continue
            # Requests cancelled while queued are dropped; the rest can no longer be.
            live = [r for r in self._gather(first) if r.future.set_running_or_notify_cancel()]
            self._together = len(live) > 1
            if live:
                self._run(live)

    def _run(self, batch: list[_Request]) -> None:
        texts = [t for r in batch for t in r.texts]
        try:
            vectors = self.inner.embed(texts)
        except BaseException as exc:  # delivered to the callers, never lost in this thread
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            for request in batch:  # isolate the request that broke the batch
                try:
                    request.future.set_result(self.inner.embed(request.texts))
                except BaseException as alone:
                    request.future.set_exception(alone)
            return
        self.stats.record(len(batch), len(texts))
        start = 0
        for request in batch:
            end = start + len(request.texts)
            request.future.set_result(vectors[start:end])
            start = end
