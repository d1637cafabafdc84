"""The native API's knowledge bases: upload, list and delete documents, follow ingest jobs.

Uploads are stored as ``<data dir>/uploads/<collection>/<name>``: the name is checked
against a strict pattern and the resolved path must stay in that folder, so no name
reaches a file outside it. The bytes are written to a temporary file first and swapped
in only when complete; if the ingest fails, the previous file of that name comes back.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from contextual_avatar import AsyncContextEngine
from contextual_avatar.pipeline import DEFAULT_COLLECTION
from contextual_avatar.server._auth import Caller, caller
from contextual_avatar.server._catalog import collections, model_of, require_collection
from contextual_avatar.server._errors import ApiError
from contextual_avatar.server._jobs import Jobs

__all__ = ["SAFE_NAME", "router", "upload_path"]

router = APIRouter(tags=["native: documents"])
#: A document name: letters, digits, ``_ .()+-`` and spaces, not starting with a dot.
SAFE_NAME = re.compile(r"[^\W_][\w .()+-]{0,199}")
Collection = Annotated[
    str, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="The knowledge base")
]


def _engine(request: Request) -> AsyncContextEngine:
    engine: AsyncContextEngine = request.app.state.engine
    return engine


def upload_path(data_dir: Path, collection: str, name: str) -> Path:
    """Where an upload called ``name`` lives; never outside the collection's folder.

    Raises:
        ApiError: 400 for an unusable name.
    """
    if not SAFE_NAME.fullmatch(name) or name.endswith((".part", ".bak")):
        raise ApiError(
            400,
            "a document name is 1-200 letters, digits, spaces and _ . ( ) + -, not "
            "starting with a dot",
            code="invalid_name",
            param="name",
        )
    folder = (data_dir / "uploads" / collection).resolve()
    target = (folder / name).resolve()
    if target.parent != folder:
        raise ApiError(400, "the document name leaves the upload folder", param="name")
    return target


@router.get("/collections", summary="The knowledge bases this key may use")
async def list_collections(
    request: Request, who: Annotated[Caller, Depends(caller)]
) -> list[dict[str, Any]]:
    """Each knowledge base with its model id and document count."""
    engine = _engine(request)
    model_id = request.app.state.settings.model_id
    out = []
    for name in await collections(engine):
        if who.allows(name):
            docs = await engine.list_documents(name)
            out.append({"name": name, "model": model_of(name, model_id), "documents": len(docs)})
    return out


@router.get("/documents", summary="What a knowledge base holds")
async def list_documents(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    collection: Collection = DEFAULT_COLLECTION,
) -> list[dict[str, Any]]:
    """Documents in ingest order: name, kind, chunks, content id, time."""
    who.require(collection)
    records = await _engine(request).list_documents(collection)
    return [
        {
            "name": d.name,
            "kind": d.kind,
            "chunks": d.chunks,
            "doc_id": d.doc_id,
            "ingested_at": d.ingested_at,
        }
        for d in records
    ]


@router.put(
    "/documents/{name}",
    status_code=202,
    summary="Upload a document (raw body) and ingest it in the background",
    responses={200: {"description": "With wait=true: the finished ingest's report"}},
)
async def upload(
    name: str,
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    collection: Collection = DEFAULT_COLLECTION,
    wait: Annotated[bool, Query(description="Answer when the ingest has finished")] = False,
) -> JSONResponse:
    """Store the body as ``name`` in ``collection`` and start its ingest job."""
    who.require(collection)
    engine = _engine(request)
    target = upload_path(engine.config.data_dir, collection, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{uuid.uuid4().hex}.part")
    try:
        size = 0
        with partial.open("wb") as out:
            async for block in request.stream():
                size += len(block)
                out.write(block)
        if size == 0:
            raise ApiError(400, "the upload is empty", code="empty_upload")
        backup = await asyncio.to_thread(_swap_in, partial, target)
    finally:
        partial.unlink(missing_ok=True)
    jobs: Jobs = request.app.state.jobs
    job = jobs.start(who.name, name, collection, target, backup)
    if not wait:
        return JSONResponse(job.json(), status_code=202)
    await jobs.wait(job)
    if job.error is not None:
        error = job.error
        raise ApiError(int(error["status"]), str(error["message"]), code=error["code"])
    return JSONResponse(job.json(), status_code=200)


@router.get("/jobs/{job_id}", summary="An upload's ingest progress")
async def job_status(
    job_id: str, request: Request, who: Annotated[Caller, Depends(caller)]
) -> dict[str, Any]:
    """State (running, done, failed), stage, done of total, and the report or error."""
    jobs: Jobs = request.app.state.jobs
    return jobs.get(who.name, job_id).json()


@router.delete(
    "/documents/{name}",
    status_code=204,
    summary="Remove an uploaded document from a knowledge base",
)
async def delete_document(
    name: str,
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    collection: Collection = DEFAULT_COLLECTION,
) -> Response:
    """Take the upload out of the index and delete its file."""
    who.require(collection)
    engine = _engine(request)
    await require_collection(engine, collection)
    target = upload_path(engine.config.data_dir, collection, name)
    if not target.exists():
        raise ApiError(404, f"no uploaded document {name!r} in {collection!r}", code="not_found")
    await engine.remove(str(target), collection=collection)
    await asyncio.to_thread(target.unlink, missing_ok=True)
    return Response(status_code=204)


def _swap_in(partial: Path, target: Path) -> Path | None:
    """Put an upload in place, keeping the previous file of that name until it is indexed."""
    backup = None
    if target.exists():
        backup = target.with_name(f".{uuid.uuid4().hex}.bak")
        target.replace(backup)
    partial.replace(target)
    return backup
