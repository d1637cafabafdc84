"""Run coroutines from blocking code on one private event loop thread.

The blocking :class:`~contextual_avatar.ContextEngine` owns one of these; every method
submits its coroutine here and waits. Calling it from the loop's own thread would
deadlock, so that raises instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running forever on a daemon thread."""

    def __init__(self, name: str = "contextual-avatar") -> None:
        """Start the loop thread."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (re-raising its exception).

        Raises:
            RuntimeError: Called from the loop thread itself, or after :meth:`close`.
        """
        if threading.current_thread() is self._thread:
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
        """Stop the loop and join the thread (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
