"""What the served engine can do beyond asking: collections, ingest into one, removal.

Engines grow features (knowledge bases, removal); the routes ask here instead of
assuming, so the server serves an engine with or without them and says clearly (400 or
501) when a request needs one it lacks.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from contextual_avatar import AsyncContextEngine, IngestReport
from contextual_avatar.pipeline import DEFAULT_COLLECTION, ProgressFn
from contextual_avatar.server._errors import ApiError

__all__ = ["can_remove", "documents", "ingest", "remove"]


def _takes(method: Any, name: str) -> bool:
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def ingest(
    engine: AsyncContextEngine, path: Path, *, collection: str, progress: ProgressFn
) -> IngestReport:
    """Ingest ``path`` into ``collection``.

    Raises:
        ApiError: 400 when the engine has only the default knowledge base.
    """
    if _takes(engine.ingest, "collection"):
        method: Any = engine.ingest
        report: IngestReport = await method(path, progress=progress, collection=collection)
        return report
    if collection != DEFAULT_COLLECTION:
        raise ApiError(400, "this engine has only the default knowledge base", param="collection")
    return await engine.ingest(path, progress=progress)


async def documents(engine: AsyncContextEngine, collection: str) -> list[Any]:
    """The document records of ``collection``."""
    method = getattr(engine, "list_documents", None)
    if callable(method):
        return list(await _maybe_await(method(collection)))
    listing: Any = engine.documents
    if callable(listing):
        if _takes(listing, "collection"):
            return list(await _maybe_await(listing(collection=collection)))
        listing = await _maybe_await(listing())
    if collection != DEFAULT_COLLECTION:
        return []
    return list(listing)


def can_remove(engine: AsyncContextEngine) -> bool:
    """Whether the engine can take a document out of its index."""
    return callable(getattr(engine, "remove", None))


async def remove(engine: AsyncContextEngine, path: Path, *, collection: str) -> Any:
    """Take ``path`` out of ``collection``'s index.

    Raises:
        ApiError: 501 when the engine cannot remove documents.
    """
    method: Any = getattr(engine, "remove", None)
    if not callable(method):
        raise ApiError(501, "this engine cannot remove documents")
    if _takes(method, "collection"):
        return await _maybe_await(method(str(path), collection=collection))
    if collection != DEFAULT_COLLECTION:
        raise ApiError(400, "this engine has only the default knowledge base", param="collection")
    return await _maybe_await(method(str(path)))
