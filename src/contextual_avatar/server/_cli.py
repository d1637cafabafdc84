"""The body of ``contextual-avatar serve``: settings in, uvicorn out.

With one worker the app is built here and handed to uvicorn; with several, uvicorn
imports :func:`app_from_env` in each worker process, so every worker builds its own
engine from the same environment (share sessions between them with the Redis cache).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from contextual_avatar.config import ENV_PREFIX
from contextual_avatar.errors import MissingDependencyError
from contextual_avatar.server._settings import ENV_PREFIX as SERVER_PREFIX
from contextual_avatar.server._settings import ServerSettings, is_loopback

__all__ = ["app_from_env", "open_warning", "serve"]

log = logging.getLogger("contextual_avatar.server")


def open_warning(settings: ServerSettings) -> str | None:
    """The warning for a server without keys that others can reach, else ``None``."""
    if settings.open and not is_loopback(settings.host):
        return (
            f"WARNING: serving on {settings.host} WITHOUT API KEYS: anyone who can reach this "
            "port can read your documents, upload and delete them. Set "
            "CONTEXTUAL_AVATAR_SERVER__API_KEYS, or bind 127.0.0.1."
        )
    return None


def app_from_env() -> Any:
    """The app as a worker process builds it (uvicorn's ``factory``)."""
    from contextual_avatar.server._app import create_app

    return create_app(settings=ServerSettings.from_env())


def serve(
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    data_dir: Path | None = None,
    log_level: str = "info",
) -> None:
    """Run the server until interrupted.

    Args:
        host: Interface to bind (default: the settings', ``127.0.0.1``).
        port: Port to bind (default: the settings', 8000; 0 picks a free one).
        workers: Worker processes (default: the settings', 1).
        data_dir: The engine's data folder (default: ``CONTEXTUAL_AVATAR_DATA_DIR``,
            else per-user).
        log_level: uvicorn's log level.

    Raises:
        MissingDependencyError: The ``[server]`` extra is not installed.
        ConfigError: A setting is invalid.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("contextual-avatar serve", "server", "uvicorn") from exc
    overrides = {
        k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None
    }
    settings = ServerSettings.from_env(**overrides)
    if data_dir is not None:  # workers read the environment, so the folder goes there
        os.environ[ENV_PREFIX + "DATA_DIR"] = str(data_dir)
    if warning := open_warning(settings):
        print(warning, file=sys.stderr, flush=True)
        log.warning(warning)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        "ws": "websockets-sansio",
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1:
        os.environ.update({SERVER_PREFIX + k.upper(): str(v) for k, v in overrides.items()})
        uvicorn.run(
            "contextual_avatar.server._cli:app_from_env",
            factory=True,
            workers=settings.workers,
            **options,
        )
        return
    from contextual_avatar.server._app import create_app

    uvicorn.run(create_app(settings=settings), **options)
