"""The writer's one disk thread, and what interpreter exit does to it.

Outbox calls block on SQLite, so the writer's tasks run them on a private thread. Once
interpreter exit has begun, executors refuse new work while a daemon loop thread may still
run the tasks; :class:`IoThread` turns that refusal into :class:`ExitingError` so the tasks
end quietly instead of logging retries and dying with unretrieved errors. What they held
in memory is saved by :meth:`BackgroundWriter.spill`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["ExitingError", "IoThread"]

_T = TypeVar("_T")


class ExitingError(Exception):
    """The disk thread refuses work: the interpreter is exiting (``aclose`` waits first)."""


class IoThread:
    """A single worker thread for blocking calls, run from a loop's tasks."""

    def __init__(self, name: str) -> None:
        """Create the thread pool (the thread starts on first use)."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def call(self, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn(*args)`` on the thread and wait for it.

        Raises:
            ExitingError: The thread was shut down (interpreter exit).
        """
        try:
            done = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except RuntimeError as exc:  # only exit shuts it down while a task still runs
            raise ExitingError from exc
        return await done

    def check(self) -> None:
        """Raise :class:`ExitingError` if the thread is gone (probed with a no-op call).

        Lets a task tell a failure caused by exit (a sink's threads die too) from an outage.
        """
        try:
            self._pool.submit(int)
        except RuntimeError as exc:
            raise ExitingError from exc

    @staticmethod
    async def until_exit(work: Coroutine[Any, Any, None]) -> None:
        """Await a task's body, ending quietly if the interpreter begins to exit."""
        with contextlib.suppress(ExitingError):
            await work

    def shutdown(self) -> None:
        """Wait for running calls and stop the thread."""
        self._pool.shutdown(wait=True)
