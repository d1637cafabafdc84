"""The native API's conversations: sessions, ask, Server-Sent Events and WebSocket.

Unlike the OpenAI protocol, a session here is explicit and the server keeps it: the
client sends only the new question. Answers come with citations (and their quoted
text), the cache decision, route, cost and stage timings. Over the WebSocket a new
question or ``{"type": "cancel"}`` barges in: the answer in flight stops and the turn is
recorded as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect

from contextual_avatar import Answer, AsyncContextEngine, ContextualAvatarError
from contextual_avatar.pipeline import DEFAULT_COLLECTION
from contextual_avatar.server._auth import Caller, Keys, caller
from contextual_avatar.server._catalog import require_collection
from contextual_avatar.server._errors import ApiError, error_json, library_status, public_message
from contextual_avatar.server._pump import pumped
from contextual_avatar.server._shapes import answer_json

__all__ = ["router"]

router = APIRouter(tags=["native: conversations"])
SessionId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[\w.:-]+$", description="A session id")
]
_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
AUTH_TIMEOUT_S = 10.0


class Question(BaseModel):
    """A turn: the question and the knowledge base to answer from."""

    question: str = Field(min_length=1, max_length=8000)
    collection: str = Field(default=DEFAULT_COLLECTION, pattern=_NAME)


def _engine(request: Request | WebSocket) -> AsyncContextEngine:
    engine: AsyncContextEngine = request.app.state.engine
    return engine


@router.post("/sessions", status_code=201, summary="A new session id")
async def new_session(who: Annotated[Caller, Depends(caller)]) -> dict[str, str]:
    """One per caller or call; any id of ``[A-Za-z0-9_.:-]`` works just as well."""
    return {"session_id": uuid.uuid4().hex}


@router.get("/sessions/{session_id}", summary="A session's recent turns")
async def session_turns(
    session_id: SessionId, request: Request, who: Annotated[Caller, Depends(caller)]
) -> dict[str, Any]:
    """The turns the engine keeps for the session, oldest first (interrupted ones marked)."""
    history = _engine(request).parts.history
    turns = [] if history is None else await history.recent(who.session(session_id))
    return {
        "session_id": session_id,
        "turns": [{"question": t.question, "answer": t.answer} for t in turns],
    }


@router.delete("/sessions/{session_id}", status_code=204, summary="Forget a session")
async def forget(
    session_id: SessionId, request: Request, who: Annotated[Caller, Depends(caller)]
) -> Response:
    """Drop the session's cache and history."""
    await _engine(request).forget(who.session(session_id))
    return Response(status_code=204)


@router.post("/sessions/{session_id}/ask", summary="Answer one turn, as JSON")
async def ask(
    session_id: SessionId,
    body: Question,
    request: Request,
    who: Annotated[Caller, Depends(caller)],
) -> dict[str, Any]:
    """The cited answer and how it was served."""
    engine = await _allowed(request, who, body.collection)
    answer = await engine.ask(who.session(session_id), body.question, collection=body.collection)
    return answer_json(answer, session_id=session_id, collection=body.collection)


async def _allowed(request: Request, who: Caller, collection: str) -> AsyncContextEngine:
    who.require(collection)
    engine = _engine(request)
    await require_collection(engine, collection)
    return engine


@router.post(
    "/sessions/{session_id}/stream",
    summary="Answer one turn as Server-Sent Events",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    session_id: SessionId,
    body: Question,
    request: Request,
    who: Annotated[Caller, Depends(caller)],
) -> StreamingResponse:
    """``delta`` events with text as written, then one ``answer`` event; hang up to stop."""
    return await _sse(request, who, session_id, body)


@router.get(
    "/sessions/{session_id}/stream",
    summary="Answer one turn as Server-Sent Events (question in the query)",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_get(
    session_id: SessionId,
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    question: Annotated[str, Query(min_length=1, max_length=8000)],
    collection: Annotated[str, Query(pattern=_NAME)] = DEFAULT_COLLECTION,
) -> StreamingResponse:
    """As the POST form, for ``curl -N`` and ``EventSource`` on an open server."""
    return await _sse(request, who, session_id, Question(question=question, collection=collection))


async def _sse(request: Request, who: Caller, session_id: str, body: Question) -> StreamingResponse:
    engine = await _allowed(request, who, body.collection)
    turn = engine.ask_stream(who.session(session_id), body.question, collection=body.collection)
    try:  # start the turn before answering 200, so bad input is still a plain 4xx
        first = await anext(turn)
    except BaseException:
        await turn.aclose()
        raise
    events = _events(pumped(first, turn), session_id, body.collection)
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


async def _events(
    items: AsyncGenerator[str | Answer, None], session_id: str, collection: str
) -> AsyncIterator[str]:
    async with aclosing(items) as stream:
        try:
            async for item in stream:
                if not isinstance(item, Answer):
                    yield f"event: delta\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
                    continue
                payload = answer_json(item, session_id=session_id, collection=collection)
                yield f"event: answer\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
        except ContextualAvatarError as exc:  # after the 200: say so in the stream
            status = library_status(exc)
            error = error_json(status, str(exc) if status < 500 else public_message(exc))
            yield f"event: error\ndata: {json.dumps(error, ensure_ascii=False)}\n\n"


@router.websocket("/sessions/{session_id}/ws")
async def talk(websocket: WebSocket, session_id: str) -> None:
    """Questions in, deltas and answers out; a new question or a cancel barges in.

    Authenticate with an ``Authorization: Bearer`` header, or (browsers cannot set one)
    with a first message ``{"type": "auth", "api_key": "..."}``.
    """
    await websocket.accept()
    try:
        who = await _ws_caller(websocket)
        if not (0 < len(session_id) <= 128) or not session_id.isprintable():
            raise ApiError(400, "a session id is 1-128 printable characters")
    except ApiError as exc:
        await websocket.send_json({"type": "error", "status": exc.status, "detail": exc.message})
        await websocket.close(code=1008)
        return
    except (WebSocketDisconnect, TimeoutError):
        return
    await _converse(websocket, _engine(websocket), who, who.session(session_id))


async def _ws_caller(websocket: WebSocket) -> Caller:
    keys: Keys = websocket.app.state.keys
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer ") or keys.open:
        return keys.identify(header[7:].strip() or None)
    message = await asyncio.wait_for(websocket.receive_json(), AUTH_TIMEOUT_S)
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise ApiError(401, "send {'type': 'auth', 'api_key': ...} first")
    key = message.get("api_key")
    return keys.identify(key if isinstance(key, str) else None)


async def _converse(
    websocket: WebSocket, engine: AsyncContextEngine, who: Caller, session: str
) -> None:
    current: asyncio.Task[None] | None = None

    async def answer(question: str, collection: str) -> None:
        try:
            who.require(collection)
            async with aclosing(
                engine.ask_stream(session, question, collection=collection)
            ) as turn:
                async for item in turn:
                    if isinstance(item, Answer):
                        payload = answer_json(
                            item, session_id=session.split("/", 1)[1], collection=collection
                        )
                        await websocket.send_json({"type": "answer", **payload})
                    else:
                        await websocket.send_json({"type": "delta", "text": item})
        except (ContextualAvatarError, ApiError) as exc:
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
            try:
                message = await websocket.receive_json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                await websocket.send_json({"type": "error", "detail": "send JSON messages"})
                continue
            if not isinstance(message, dict):
                await websocket.send_json({"type": "error", "detail": "send a JSON object"})
            elif message.get("type") == "cancel":
                await barge_in()
            elif isinstance(message.get("question"), str):
                await barge_in()
                collection = message.get("collection", DEFAULT_COLLECTION)
                if not isinstance(collection, str):
                    collection = ""
                current = asyncio.create_task(answer(message["question"], collection))
            else:
                await websocket.send_json({"type": "error", "detail": "send a question"})
    except WebSocketDisconnect:
        if current is not None:
            current.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await current
