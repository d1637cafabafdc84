"""Reads a turn's stream in its own task, so a hang-up is a clean barge-in.

Starlette cancels a streaming response through an anyio cancel scope when the client
disconnects, and that cancellation is level-triggered: every later ``await`` in the
scope fails too, so the engine could not record the interrupted turn (its history entry
and ledger price) from inside it. Here the engine's stream is read by a plain asyncio
task, started before the response; the response only takes items from a queue, and on
hang-up the task is cancelled once, the asyncio way, and finishes recording on its own.
A response that never starts reading (the client left first) is noticed by a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from contextual_avatar import Answer

__all__ = ["pumped"]

#: Read-ahead: deltas the model may write before the client has taken them.
QUEUE_SIZE = 64
#: Seconds a full queue may wait for its reader before the turn counts as abandoned.
ABANDONED_AFTER_S = 30.0
_END = object()
_running: set[asyncio.Task[None]] = set()


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def pumped(
    first: str | Answer, turn: AsyncGenerator[str | Answer, None]
) -> AsyncGenerator[str | Answer, None]:
    """``first``, then the rest of ``turn``, read now by a task of its own.

    Closing the returned iterator early stops the turn (a barge-in).
    """
    queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
    queue.put_nowait(first)

    async def put(item: object) -> None:
        await asyncio.wait_for(queue.put(item), ABANDONED_AFTER_S)

    async def pump() -> None:
        try:
            async with aclosing(turn):
                if not isinstance(first, Answer):
                    async for item in turn:
                        await put(item)
            await put(_END)
        except (asyncio.CancelledError, TimeoutError):
            return
        except BaseException as exc:  # handed to the reader, who raises it
            await put(_Failed(exc))

    task = asyncio.create_task(pump())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return _read(queue, task)


async def _read(
    queue: asyncio.Queue[Any], task: asyncio.Task[None]
) -> AsyncGenerator[str | Answer, None]:
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        task.cancel()
