"""The background tasks a turn owns: none of them outlives the turn.

``asyncio.TaskGroup`` would do, but it wraps a failing body's exception in an
``ExceptionGroup``; a turn must raise its own ``InputError`` or ``ModelError`` as is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

__all__ = ["TurnTasks"]

T = TypeVar("T")


class TurnTasks:
    """Starts tasks beside a turn's stages; on exit cancels and reaps any left running."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []

    def start(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` concurrently until the turn awaits it or ends."""
        task = asyncio.create_task(coro)
        self._tasks.append(task)
        return task

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        left = [t for t in self._tasks if not t.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
        for task in self._tasks:  # reap, so no "exception was never retrieved" warning
            if not task.cancelled():
                task.exception()
