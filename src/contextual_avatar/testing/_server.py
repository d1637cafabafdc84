"""An ASGI app served by uvicorn on a free loopback port, in a thread, for tests.

Real HTTP for the real clients (``openai``, ``httpx``, a browser): the app runs its
lifespan (so an app from :func:`contextual_avatar.server.create_app` opens its engine)
on the server thread's own event loop, and stops with it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from contextual_avatar.errors import MissingDependencyError

__all__ = ["running_server"]


@contextlib.contextmanager
def running_server(
    app: Any, *, timeout_s: float = 60.0, log_level: str = "warning"
) -> Iterator[str]:
    """Serve ``app`` on ``127.0.0.1`` and a free port until the block ends.

    Example::

        with running_server(create_app(settings=settings)) as base_url:
            client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key)

    Args:
        app: Any ASGI application.
        timeout_s: Most seconds to wait for startup (the lifespan included) and shutdown.
        log_level: uvicorn's log level.

    Yields:
        The base URL, e.g. ``"http://127.0.0.1:54321"``.

    Raises:
        MissingDependencyError: uvicorn is not installed.
        RuntimeError: The server did not start in time, or its startup failed.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("running_server", "server", "uvicorn") from exc

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level=log_level, lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="running_server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server stopped during startup (its log says why)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start within {timeout_s} s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
