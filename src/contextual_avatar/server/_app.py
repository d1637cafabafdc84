"""The service as a FastAPI app: one engine, the OpenAI-compatible and native routes.

:func:`create_app` is what ``contextual-avatar serve`` runs; a host can mount or extend
the app it returns, or run it under any ASGI server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts, __version__
from contextual_avatar.server import _native, _openai
from contextual_avatar.server._auth import Keys
from contextual_avatar.server._errors import ErrorBody, install_handlers
from contextual_avatar.server._jobs import Jobs
from contextual_avatar.server._limits import BodyLimit
from contextual_avatar.server._logs import install_redaction
from contextual_avatar.server._settings import ServerSettings

__all__ = ["create_app"]

log = logging.getLogger("contextual_avatar.server")
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "The request is invalid or asks for something the engine cannot honour",
        401: "Missing or wrong API key",
        403: "The key may not use this knowledge base",
        404: "No such model, knowledge base, document, job or session",
        413: "The body is over the size limit",
        502: "The answering model failed",
        503: "A backing store is unavailable, or the engine is not ready",
    }.items()
}


def create_app(
    engine: AsyncContextEngine | None = None,
    settings: ServerSettings | None = None,
    *,
    config: EngineConfig | None = None,
    parts: Parts | None = None,
) -> FastAPI:
    """The service around one engine.

    Args:
        engine: The engine to serve; it stays the caller's to close. ``None`` builds one
            from ``config`` and ``parts`` when the app starts and closes it at shutdown.
        settings: Keys, limits and the model id; ``None`` reads
            ``CONTEXTUAL_AVATAR_SERVER__*`` variables.
        config: The engine's settings when ``engine`` is ``None`` (default: from the
            environment).
        parts: The host's own parts when ``engine`` is ``None``.

    Returns:
        A FastAPI app; serve it with uvicorn or ``contextual-avatar serve``.
    """
    settings = settings if settings is not None else ServerSettings.from_env()
    if engine is not None and (config is not None or parts is not None):
        raise ValueError("give an engine, or config/parts to build one, not both")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            await _open(app, engine)
            try:
                yield
            finally:
                await app.state.jobs.aclose()
            return
        async with AsyncContextEngine(config, parts=parts) as built:
            await _open(app, built)
            try:
                yield
            finally:
                await app.state.jobs.aclose()

    async def _open(app: FastAPI, served: AsyncContextEngine) -> None:
        app.state.engine = served
        app.state.jobs = Jobs(served, keep=settings.jobs_kept)
        if settings.open:
            log.warning("no API keys configured: every caller is let in (fine on a laptop)")

    app = FastAPI(
        title="contextual-avatar",
        version=__version__,
        description=(
            "Cache-first, cited answers for interactive avatars. OpenAI-compatible at "
            "`/v1` (chat completions, models); the native API at `/api`."
        ),
        lifespan=lifespan,
        responses=_ERRORS,
    )
    install_redaction()
    app.state.settings = settings
    app.state.keys = Keys(settings)
    app.state.started = time.time()
    app.state.engine = None
    install_handlers(app)
    app.include_router(_openai.router)
    app.include_router(_native.router)
    _health(app)
    if settings.playground:
        _playground(app)
    app.add_middleware(BodyLimit, limit_for=_limit_for(settings))
    return app


def _limit_for(settings: ServerSettings) -> Any:
    def limit_for(scope: Scope) -> int:
        if scope.get("method") == "PUT" and str(scope.get("path", "")).startswith(
            "/api/documents/"
        ):
            upload = settings.max_upload_bytes
            return upload if upload is not None else _engine_upload_limit(scope)
        return settings.max_body_bytes

    return limit_for


def _engine_upload_limit(scope: Scope) -> int:
    app = scope.get("app")
    engine: AsyncContextEngine | None = getattr(getattr(app, "state", None), "engine", None)
    return engine.config.ingest.max_file_bytes if engine is not None else 0


def _health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="The process is up (no key needed)")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="The engine is open and can answer (no key needed)",
        responses={503: {"model": ErrorBody}},
    )
    async def readyz(request: Request) -> JSONResponse:
        if request.app.state.engine is None:
            return JSONResponse(
                {
                    "error": {
                        "message": "starting",
                        "type": "service_unavailable_error",
                        "param": None,
                        "code": None,
                    }
                },
                status_code=503,
            )
        return JSONResponse({"ready": True})


def _playground(app: FastAPI) -> None:
    folder = resources.files("contextual_avatar.server") / "_playground"
    index = (folder / "index.html").read_text(encoding="utf-8")

    @app.get("/", include_in_schema=False)
    async def playground() -> HTMLResponse:
        return HTMLResponse(index, headers={"Cache-Control": "no-cache"})

    app.mount("/playground", StaticFiles(directory=str(folder)), name="playground")
