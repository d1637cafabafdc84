"""A FastAPI service around the engine: upload documents, ask, stream cited answers.

Run:  .venv/bin/python examples/service.py [--host 127.0.0.1] [--port 8000]
      (settings from CONTEXTUAL_AVATAR_* variables, e.g. CONTEXTUAL_AVATAR_DATA_DIR)

    curl -X PUT --data-binary @handbook.pdf localhost:8000/documents/handbook.pdf
    curl -X POST localhost:8000/sessions                       # {"session_id": "..."}
    curl -X POST localhost:8000/sessions/SID/ask -H 'content-type: application/json' \\
         -d '{"question": "How many days of leave do I get?"}'
    curl -N 'localhost:8000/sessions/SID/stream?question=And%20for%20part-timers%3F'

Endpoints:
    PUT    /documents/{name}        upload a file (raw body) and ingest it
    GET    /documents               what is indexed
    POST   /sessions                a new session id (one per caller or call)
    POST   /sessions/{id}/ask       {"question"} -> the answer with citations, as JSON
    GET    /sessions/{id}/stream    ?question= -> Server-Sent Events: ``delta`` events with
                                    text as it is written, then one ``answer`` event
    WS     /sessions/{id}/ws        send {"question"}; receive {"type": "delta"} messages
                                    and one {"type": "answer"}; send {"type": "cancel"} (or
                                    a new question) to barge in: the answer in flight stops
                                    and {"type": "interrupted"} comes back
    DELETE /sessions/{id}           forget the session's cache and history

Each session has its own cache and history; a client that disconnects mid-stream stops
its answer (the engine records it as interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from contextual_avatar import (
    Answer,
    AsyncContextEngine,
    ContextualAvatarError,
    EngineConfig,
    IngestError,
    IngestReport,
    InputError,
    ModelError,
    StoreUnavailable,
)

#: This example's own data folder (CONTEXTUAL_AVATAR_DATA_DIR overrides it), so it does not
#: share the per-user index with other applications.
DATA_DIR = Path(__file__).parent / ".data" / "service"

SAFE_NAME = re.compile(r"^[\w][\w .()+-]{0,200}$")


class Question(BaseModel):
    question: str


def answer_json(answer: Answer) -> dict[str, Any]:
    """The parts of an Answer a client needs, as JSON."""
    return {
        "session_id": answer.session_id,
        "question": answer.question,
        "text": answer.text,
        "citations": [
            {
                "label": str(ref),
                "source": ref.source,
                "page": ref.page,
                "start_s": ref.start_s,
                "end_s": ref.end_s,
                "speaker": ref.speaker,
            }
            for ref in answer.citations
        ],
        "cache_hit": answer.cache_hit,
        "cache_reason": answer.cache.reason,
        "route": {"tier": answer.route.tier.value, "model": answer.route.model},
        "tokens": {"prompt": answer.tokens.prompt, "completion": answer.tokens.completion},
        "cost_usd": answer.cost_usd,
        "timings_ms": dict(answer.timings),
    }


def report_json(report: IngestReport) -> dict[str, Any]:
    return {
        "name": Path(report.path).name,
        "kind": report.kind,
        "segments": report.segments,
        "chunks": report.chunks,
        "tokens": report.tokens,
        "unchanged": report.unchanged,
        "seconds": round(report.seconds, 3),
    }


def swap_in(partial: Path, target: Path) -> Path | None:
    """Put an upload in place, keeping the previous file of that name until it is indexed."""
    backup = None
    if target.exists():
        backup = target.with_name(f".{uuid.uuid4().hex}.bak")
        target.replace(backup)
    partial.replace(target)
    return backup


def restore(target: Path, backup: Path | None) -> None:
    """Undo :func:`swap_in` after a failed ingest."""
    target.unlink(missing_ok=True)
    if backup is not None:
        backup.replace(target)


def create_app(config: EngineConfig | None = None) -> FastAPI:
    """The service, with one engine for its lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncContextEngine(config) as engine:
            app.state.engine = engine
            app.state.uploads = engine.config.data_dir / "uploads"
            app.state.uploads.mkdir(parents=True, exist_ok=True)
            yield

    app = FastAPI(title="contextual-avatar service", lifespan=lifespan)

    @app.exception_handler(ContextualAvatarError)
    async def library_error(request: Request, exc: ContextualAvatarError) -> JSONResponse:
        status = 500
        if isinstance(exc, InputError | IngestError):
            status = 422
        elif isinstance(exc, StoreUnavailable):
            status = 503
        elif isinstance(exc, ModelError):
            status = 502
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)

    def engine_of(request: Request | WebSocket) -> AsyncContextEngine:
        engine: AsyncContextEngine = request.app.state.engine
        return engine

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        return {"ok": True, "documents": len(engine_of(request).documents)}

    @app.put("/documents/{name}")
    async def upload(name: str, request: Request) -> dict[str, Any]:
        if not SAFE_NAME.match(name) or name in {".", ".."}:
            raise HTTPException(422, f"unusable file name {name!r}")
        engine = engine_of(request)
        limit = engine.config.ingest.max_file_bytes
        target: Path = request.app.state.uploads / name
        partial = target.with_name(f".{uuid.uuid4().hex}.part")
        size = 0
        backup: Path | None = None
        try:
            with partial.open("wb") as out:
                async for block in request.stream():
                    size += len(block)
                    if size > limit:
                        raise HTTPException(413, f"{name} is over the {limit}-byte limit")
                    out.write(block)
            backup = await asyncio.to_thread(swap_in, partial, target)
        finally:
            partial.unlink(missing_ok=True)
        try:
            report = await engine.ingest(target)
        except BaseException:
            await asyncio.to_thread(restore, target, backup)
            raise
        if backup is not None:
            backup.unlink(missing_ok=True)
        return report_json(report)

    @app.get("/documents")
    async def documents(request: Request) -> list[dict[str, Any]]:
        return [
            {"name": d.name, "kind": d.kind, "chunks": d.chunks, "doc_id": d.doc_id}
            for d in engine_of(request).documents
        ]

    @app.post("/sessions", status_code=201)
    async def new_session() -> dict[str, str]:
        return {"session_id": uuid.uuid4().hex}

    @app.delete("/sessions/{session_id}", status_code=204)
    async def forget(session_id: str, request: Request) -> Response:
        await engine_of(request).forget(session_id)
        return Response(status_code=204)

    @app.post("/sessions/{session_id}/ask")
    async def ask(session_id: str, body: Question, request: Request) -> dict[str, Any]:
        return answer_json(await engine_of(request).ask(session_id, body.question))

    @app.get("/sessions/{session_id}/stream")
    async def stream(session_id: str, question: str, request: Request) -> StreamingResponse:
        engine = engine_of(request)
        # Start the turn before answering 200, so bad input is a plain 422.
        turn = engine.ask_stream(session_id, question)
        first = await anext(turn)

        async def events() -> AsyncIterator[str]:
            async with contextlib.aclosing(turn):
                item: str | Answer = first
                while True:
                    if isinstance(item, Answer):
                        yield f"event: answer\ndata: {json.dumps(answer_json(item))}\n\n"
                        return
                    yield f"event: delta\ndata: {json.dumps(item)}\n\n"
                    item = await anext(turn)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.websocket("/sessions/{session_id}/ws")
    async def talk(websocket: WebSocket, session_id: str) -> None:
        await websocket.accept()
        engine = engine_of(websocket)
        current: asyncio.Task[None] | None = None

        async def answer(question: str) -> None:
            try:
                async with contextlib.aclosing(engine.ask_stream(session_id, question)) as turn:
                    async for item in turn:
                        if isinstance(item, Answer):
                            await websocket.send_json({"type": "answer", **answer_json(item)})
                        else:
                            await websocket.send_json({"type": "delta", "text": item})
            except ContextualAvatarError as exc:
                await websocket.send_json({"type": "error", "detail": str(exc)})

        async def barge_in() -> None:
            nonlocal current
            if current is not None and not current.done():
                current.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await current
                await websocket.send_json({"type": "interrupted"})
            current = None

        try:
            while True:
                message = await websocket.receive_json()
                if message.get("type") == "cancel":
                    await barge_in()
                elif isinstance(message.get("question"), str):
                    await barge_in()
                    current = asyncio.create_task(answer(message["question"]))
                else:
                    await websocket.send_json({"type": "error", "detail": "send a question"})
        except WebSocketDisconnect:
            if current is not None:
                current.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await current

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="contextual-avatar FastAPI service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args()
    uvicorn.run(
        create_app(EngineConfig.from_env(default_data_dir=DATA_DIR)),
        host=args.host,
        port=args.port,
    )


if __name__ == "__main__":
    main()
