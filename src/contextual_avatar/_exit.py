"""Close blocking engines that their owner never closed, quietly and without losing facts.

A script that ends without ``close()`` leaves the engine's loop thread running with a
knowledge writer mid-write. Left alone, interpreter shutdown first stops the default
thread pool the writer uses ("cannot schedule new futures after shutdown") and then
destroys its pending tasks ("Task was destroyed but it is pending"). So each engine
gets a finalizer that runs its ``aclose()`` on its loop and stops the loop, called:

- by ``close()``, or when the engine is garbage-collected; or
- at exit, from a hook that runs *before* the thread pools shut down
  (``threading._register_atexit``, the hook ``concurrent.futures`` itself uses; plain
  ``atexit`` runs too late). Later-registered hooks run first, and this module is
  imported after ``concurrent.futures``, so engines close while their pool still works.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from contextual_avatar._sync import LoopThread

__all__ = ["close_at_exit"]


_open: set[weakref.finalize[Any, Any]] = set()
_hooked = False


def close_at_exit(
    owner: object,
    loop: LoopThread,
    aclose: Callable[[], Coroutine[Any, Any, None]],
    spill: Callable[[], int],
) -> Callable[[], None]:
    """Arrange for ``aclose()`` to run on ``loop`` (then the loop to stop) exactly once.

    Args:
        owner: The engine; when it is collected, it is closed.
        loop: Its loop thread.
        aclose: Releases its parts.
        spill: Saves undelivered facts to the outbox without the loop, if ``aclose``
            cannot run.

    Returns:
        A function that closes now (later calls do nothing).
    """
    global _open
    _hook()
    finalizer = weakref.finalize(owner, _close, loop, aclose, spill)
    # The early hook below closes it, not weakref's late one (typeshed lists no setter).
    finalizer.atexit = False  # type: ignore[misc]
    _open = {f for f in _open if f.alive}
    _open.add(finalizer)
    return finalizer


def _close(
    loop: LoopThread,
    aclose: Callable[[], Coroutine[Any, Any, None]],
    spill: Callable[[], int],
) -> None:
    if loop.loop.is_closed():
        return
    if loop.on_loop_thread():  # collected on its own loop: nothing can wait here
        spill()
        return
    try:
        loop.run(aclose())
    except BaseException:
        spill()  # whatever aclose could not deliver waits in the outbox
        raise
    finally:
        loop.close()


def _close_all() -> None:
    for finalizer in list(_open):
        finalizer()


def _hook() -> None:
    global _hooked
    if _hooked:
        return
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError("no threading atexit hook")
        register(_close_all)
    except RuntimeError:  # interpreter already shutting down, or another Python
        atexit.register(_close_all)
    _hooked = True
