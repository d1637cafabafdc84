"""The native API under ``/api``: documents and jobs, sessions and streamed turns."""

from __future__ import annotations

from fastapi import APIRouter

from contextual_avatar.server import _documents, _talk

__all__ = ["router"]

router = APIRouter(prefix="/api")
router.include_router(_documents.router)
router.include_router(_talk.router)
