"""Errors as OpenAI shapes them, on every route: ``{"error": {"message", "type", "code"}}``.

One shape everywhere, so the official clients raise their own typed errors
(``openai.AuthenticationError``, ``openai.NotFoundError``...) and a browser or ``curl``
gets the same readable message. Nothing from inside the server (a traceback, a path, a
dependency's message) reaches a response: unexpected errors are logged and answered with
a fixed text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from contextual_avatar.errors import (
    ConfigError,
    ContextualAvatarError,
    IngestError,
    InputError,
    MissingDependencyError,
    ModelError,
    StoreUnavailable,
)

__all__ = [
    "ApiError",
    "ErrorBody",
    "error_json",
    "install_handlers",
    "library_status",
    "public_message",
]

log = logging.getLogger("contextual_avatar.server")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    501: "not_implemented_error",
    502: "upstream_error",
    503: "service_unavailable_error",
}


class ErrorDetail(BaseModel):
    """What went wrong, in words the caller can act on."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """Every error response's body."""

    error: ErrorDetail


class ApiError(Exception):
    """An error the server answers with ``status`` and an OpenAI-shaped body."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


def error_json(
    status: int, message: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The error body for ``status``."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def respond(status: int, message: str, **extra: str | None) -> JSONResponse:
    """A JSON error response (``WWW-Authenticate`` added to 401s)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_json(status, message, **extra), status_code=status, headers=headers)


def library_status(exc: ContextualAvatarError) -> int:
    """The HTTP status that says what a caller can do about a library error."""
    if isinstance(exc, InputError | IngestError):
        return 400
    if isinstance(exc, StoreUnavailable):
        return 503
    if isinstance(exc, ModelError):
        return 502
    if isinstance(exc, MissingDependencyError | ConfigError):
        return 501
    return 500


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def install_handlers(app: FastAPI) -> None:
    """Answer every error on ``app`` in the one shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return respond(exc.status, exc.message, code=exc.code, param=exc.param)

    @app.exception_handler(ContextualAvatarError)
    async def library_error(request: Request, exc: ContextualAvatarError) -> JSONResponse:
        status = library_status(exc)
        if status >= 500:
            log.warning("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        message = str(exc) if status < 500 else public_message(exc)
        return respond(status, message, code=type(exc).__name__)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return respond(400, _validation_message(exc), code="invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return respond(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return respond(500, "internal error; the server log has the details")


def public_message(exc: ContextualAvatarError) -> str:
    """A 5xx message without internals: the error's kind and what to do."""
    if isinstance(exc, StoreUnavailable):
        return "a backing store is unavailable; retry later"
    if isinstance(exc, ModelError):
        return "the answering model failed; retry later"
    if isinstance(exc, MissingDependencyError):
        return f"this feature needs an extra that is not installed: {exc.extra}"
    if isinstance(exc, ConfigError):
        return "the server is not configured for this request"
    return "internal error; the server log has the details"
