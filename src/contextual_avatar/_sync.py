"""Run coroutines from blocking code on one private event loop thread.

The blocking :class:`~contextual_avatar.ContextEngine` owns one of these; every method
submits its coroutine here and waits. Calling it from the loop's own thread would
deadlock, so that raises instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["LoopThread", "iterate"]

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running forever on a daemon thread."""

    def __init__(self, name: str = "contextual-avatar") -> None:
        """Start the loop thread."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def on_loop_thread(self) -> bool:
        """Whether the caller runs on this loop's thread (where :meth:`run` would deadlock)."""
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (re-raising its exception).

        Raises:
            RuntimeError: Called from the loop thread itself, or after :meth:`close`.
        """
        if self.on_loop_thread():
            coro.close()
            raise RuntimeError(
                "a blocking ContextEngine method was called from inside its own event loop; "
                "use AsyncContextEngine in async code"
            )
        if self.loop.is_closed():
            coro.close()
            raise RuntimeError("the engine is closed")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        """Cancel what still runs on the loop, stop it and join the thread (idempotent).

        Tasks left pending when a loop is closed print "Task was destroyed but it is
        pending" when collected; cancelling and awaiting them first keeps exit quiet.
        """
        if self.loop.is_closed():
            return
        if not self.on_loop_thread():
            asyncio.run_coroutine_threadsafe(_cancel_others(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


async def _cancel_others() -> None:
    me = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not me]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def iterate(loop: LoopThread, stream: AsyncIterator[T]) -> Iterator[T]:
    """Drive an async iterator from blocking code through the loop thread.

    Closing the returned iterator (``break``, ``close()``, garbage collection) closes the
    async one on its loop, so a barge-in reaches the model.
    """

    async def step() -> tuple[bool, T | None]:
        try:
            return True, await anext(stream)
        except StopAsyncIteration:
            return False, None

    async def close() -> None:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()

    try:
        while True:
            more, item = loop.run(step())
            if not more:
                return
            yield item  # type: ignore[misc]
    finally:
        if not loop.loop.is_closed():
            loop.run(close())
