"""BatchingEmbedder: concurrent requests share forward passes, each caller gets its own rows.

The wrapped embedders are real ``Embedder`` implementations (hashed words, numpy only):
fast enough for Hypothesis, and deterministic, so a wrong row or a row of another caller
is caught exactly. Gates (``threading.Event``) hold the worker busy where a test needs
requests to queue; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Sequence

import numpy as np
import pytest
from cachetools import LRUCache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar.errors import ModelError
from contextual_avatar.retrieval import BatchingEmbedder, Embedder, normalize, remember
from contextual_avatar.testing import EmbedderContract


class HashedWords:
    """Hashed word counts, L2-normalised; records every batch it is given."""

    dim = 32
    name = "hashed-words"

    def __init__(self, *, poison: str | None = None, gate: threading.Event | None = None):
        self.calls: list[list[str]] = []
        self.poison = poison
        self.gate = gate
        self.started = threading.Event()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(30), "the test never opened the gate"
        if self.poison is not None and self.poison in texts:
            raise ModelError(f"cannot embed {self.poison!r}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split() or [""]:
                out[i, zlib.crc32(word.encode()) % self.dim] += 1.0
        return normalize(out)


def test_the_batcher_is_an_embedder():
    assert isinstance(BatchingEmbedder(HashedWords()), Embedder)


class TestBatchingEmbedderContract(EmbedderContract):
    @pytest.fixture
    def embedder(self):
        return BatchingEmbedder(HashedWords())


texts_ = st.lists(st.text(alphabet="abcde ", min_size=0, max_size=12), min_size=0, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(texts_, min_size=1, max_size=12), max_texts=st.integers(1, 16))
def test_concurrent_requests_get_their_own_rows_in_order(requests, max_texts):
    inner = HashedWords()
    batcher = BatchingEmbedder(inner, max_texts=max_texts, max_wait_ms=1.0)

    async def main():
        return await asyncio.gather(*(batcher.aembed(texts) for texts in requests))

    results = asyncio.run(main())
    for texts, got in zip(requests, results, strict=True):
        assert got.shape == (len(texts), inner.dim)
        np.testing.assert_array_equal(got, inner.embed(texts) if texts else got)
    # Every text the callers asked for went through the model exactly once.
    asked = sorted(t for r in requests for t in set(r))
    embedded = sorted(t for call in inner.calls[: batcher.stats.batches] for t in call)
    assert embedded == asked


@settings(max_examples=15, deadline=None)
@given(requests=st.lists(texts_.filter(bool), min_size=2, max_size=8))
def test_threads_and_tasks_share_batches_and_keep_their_rows(requests):
    inner = HashedWords()
    batcher = BatchingEmbedder(inner, max_wait_ms=1.0)
    out: dict[int, np.ndarray] = {}

    def in_thread(i: int) -> None:
        out[i] = batcher.embed(requests[i])

    threads = [threading.Thread(target=in_thread, args=(i,)) for i in range(0, len(requests), 2)]
    for t in threads:
        t.start()

    async def main():
        return await asyncio.gather(*(batcher.aembed(r) for r in requests[1::2]))

    for i, got in zip(range(1, len(requests), 2), asyncio.run(main()), strict=True):
        out[i] = got
    for t in threads:
        t.join(30)
    for i, texts in enumerate(requests):
        np.testing.assert_array_equal(out[i], inner.embed(texts))


async def _queued_behind_a_busy_worker(batcher: BatchingEmbedder, inner: HashedWords, *requests):
    """Start a blocker, wait until the worker is inside the model, then queue ``requests``."""
    blocker = asyncio.ensure_future(batcher.aembed(["blocker"]))
    assert await asyncio.to_thread(inner.started.wait, 30)
    tasks = [asyncio.ensure_future(batcher.aembed(r)) for r in requests]
    await asyncio.sleep(0)  # let each task submit its request
    return blocker, tasks


async def test_a_failing_text_fails_only_its_own_turn():
    gate = threading.Event()
    inner = HashedWords(poison="bad text", gate=gate)
    batcher = BatchingEmbedder(inner, max_wait_ms=0)
    blocker, (good, bad, other) = await _queued_behind_a_busy_worker(
        batcher, inner, ["a good one"], ["bad text", "and more"], ["another good one"]
    )
    gate.set()
    await blocker
    results = await asyncio.gather(good, bad, other, return_exceptions=True)
    assert isinstance(results[1], ModelError)
    np.testing.assert_array_equal(results[0], inner.embed(["a good one"]))
    np.testing.assert_array_equal(results[2], inner.embed(["another good one"]))
    # They were batched together first, then retried one by one.
    assert ["a good one", "bad text", "and more", "another good one"] in inner.calls


async def test_a_lone_failing_request_gets_the_error():
    batcher = BatchingEmbedder(HashedWords(poison="x"))
    with pytest.raises(ModelError):
        await batcher.aembed(["x"])
    np.testing.assert_array_equal(await batcher.aembed(["y"]), HashedWords().embed(["y"]))


async def test_cancelling_a_waiting_turn_leaves_the_others_unharmed():
    gate = threading.Event()
    inner = HashedWords(gate=gate)
    batcher = BatchingEmbedder(inner, max_wait_ms=0)
    blocker, (first, cancelled, last) = await _queued_behind_a_busy_worker(
        batcher, inner, ["first"], ["cancelled question"], ["last"]
    )
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.sleep(0)  # the cancellation reaches the queued request
    gate.set()
    await blocker
    assert np.array_equal(await first, inner.embed(["first"]))
    assert np.array_equal(await last, inner.embed(["last"]))
    assert cancelled.cancelled()
    assert not any("cancelled question" in call for call in inner.calls), "a cancelled text ran"


async def test_cancelling_a_running_turn_discards_its_rows_only():
    gate = threading.Event()
    inner = HashedWords(gate=gate)
    batcher = BatchingEmbedder(inner)
    running = asyncio.ensure_future(batcher.aembed(["running"]))
    assert await asyncio.to_thread(inner.started.wait, 30)
    running.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await running
    np.testing.assert_array_equal(await batcher.aembed(["next"]), inner.embed(["next"]))


async def test_a_lone_turn_never_waits_for_company():
    # A wait of a minute would time the test out if a lone request waited for others.
    batcher = BatchingEmbedder(HashedWords(), max_wait_ms=60_000)
    for _ in range(3):
        await asyncio.wait_for(batcher.aembed(["alone"]), 10)
    assert batcher.stats.sizes == {1: 3}


async def test_a_full_batch_is_flushed_without_waiting():
    gate = threading.Event()
    inner = HashedWords(gate=gate)
    batcher = BatchingEmbedder(inner, max_texts=4, max_wait_ms=60_000)
    # Two requests behind a busy worker make the next batch "together": it would wait.
    blocker, queued = await _queued_behind_a_busy_worker(batcher, inner, ["a"], ["b"])
    gate.set()
    await blocker
    await asyncio.gather(*queued)
    inner.started.clear()
    # Now the worker waits for company; four texts fill the batch and it runs at once.
    together = [batcher.aembed(["c", "d"]), batcher.aembed(["e", "f"])]
    await asyncio.wait_for(asyncio.gather(*together), 10)
    assert ["c", "d", "e", "f"] in inner.calls


async def test_batches_grow_while_the_model_is_busy():
    gate = threading.Event()
    inner = HashedWords(gate=gate)
    batcher = BatchingEmbedder(inner, max_wait_ms=0)
    blocker, queued = await _queued_behind_a_busy_worker(
        batcher, inner, *[[f"question {i}"] for i in range(10)]
    )
    gate.set()
    await blocker
    await asyncio.gather(*queued)
    assert [f"question {i}" for i in range(10)] in inner.calls
    assert batcher.stats.sizes is not None and batcher.stats.sizes[10] == 1


async def test_a_turn_memo_serves_repeated_texts_and_stays_with_its_session():
    inner = HashedWords()
    batcher = BatchingEmbedder(inner)
    alice: LRUCache = LRUCache(maxsize=8)
    bob: LRUCache = LRUCache(maxsize=8)

    async def turn(memo, texts):
        remember(memo)  # as the understand stage does, in the turn's own task
        return await batcher.aembed(texts)

    first = await asyncio.create_task(turn(alice, ["alice's secret", "question"]))
    calls = len(inner.calls)
    again = await asyncio.create_task(turn(alice, ["alice's secret", "question"]))
    assert len(inner.calls) == calls, "the same session's texts were embedded again"
    np.testing.assert_array_equal(first, again)
    assert batcher.stats.reused == 2
    # Another session's memo holds none of Alice's texts; its turn goes to the model.
    await asyncio.create_task(turn(bob, ["alice's secret"]))
    assert len(inner.calls) == calls + 1
    assert "question" not in bob and "alice's secret" in bob
    # Worker threads started by the turn (asyncio.to_thread) see the turn's memo.

    async def answerer_thread():
        remember(alice)
        return await asyncio.to_thread(batcher.embed, ["question"])

    await asyncio.create_task(answerer_thread())
    assert len(inner.calls) == calls + 1


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_texts"):
        BatchingEmbedder(HashedWords(), max_texts=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        BatchingEmbedder(HashedWords(), max_wait_ms=-1)


async def test_a_request_that_is_a_batch_already_skips_the_queue():
    gate = threading.Event()
    inner = HashedWords(gate=gate)
    batcher = BatchingEmbedder(inner, solo_texts=4)
    # The worker is held inside the model; a large request does not wait behind it.
    blocker = asyncio.ensure_future(batcher.aembed(["blocker"]))
    assert await asyncio.to_thread(inner.started.wait, 30)
    big = [f"sentence {i}" for i in range(4)]
    inner.gate = None  # calls from now on run straight through
    got = await asyncio.wait_for(batcher.aembed(big), 10)
    np.testing.assert_array_equal(got, HashedWords().embed(big))
    assert not blocker.done()
    gate.set()
    await blocker
    with pytest.raises(ValueError, match="solo_texts"):
        BatchingEmbedder(HashedWords(), solo_texts=0)
