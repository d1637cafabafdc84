"""Where :func:`create_app` is loaded from: a missing ``[server]`` extra says how to fix it."""

from __future__ import annotations

from contextual_avatar.errors import MissingDependencyError

try:
    from contextual_avatar.server._app import create_app
except ModuleNotFoundError as exc:  # pragma: no cover - the extra is installed in CI
    if exc.name not in {"fastapi", "starlette", "uvicorn", "websockets"}:
        raise
    raise MissingDependencyError("contextual_avatar.server", "server", str(exc.name)) from exc

__all__ = ["create_app"]
