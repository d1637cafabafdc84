"""The OpenAI-compatible routes: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Point any OpenAI client at ``{server}/v1`` and it gets cache-first, cited answers: the
last user message is the question, ``model`` picks the knowledge base, and the spoken
text carries no citation markers; citations and how the turn was served travel in the
extra fields ``citations`` and ``contextual_avatar`` (on the last chunk when streamed).
The request's system and developer messages are the host's instructions for the turn:
the model gets them after the library's grounding rules, for this request only.
A client that hangs up mid-stream stops the answer; the engine records the turn as
interrupted.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse

from contextual_avatar import Answer, AsyncContextEngine, ContextualAvatarError
from contextual_avatar.server._auth import Caller, caller
from contextual_avatar.server._catalog import (
    collection_of,
    collections,
    model_of,
    require_collection,
)
from contextual_avatar.server._chat_models import (
    ChatCompletion,
    ChatRequest,
    ModelList,
    refuse_unsupported,
)
from contextual_avatar.server._errors import ApiError, error_json, library_status, public_message
from contextual_avatar.server._pump import pumped
from contextual_avatar.server._sessions import (
    client_session,
    earlier_turns,
    last_question,
    platform_conversation,
    system_prompt,
)
from contextual_avatar.server._settings import ServerSettings
from contextual_avatar.server._shapes import citation_json, turn_json
from contextual_avatar.server._speech import MarkerFilter, strip_markers

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
#: Earlier turns of a request that may seed an unseen session (the engine keeps fewer).
MAX_SEEDED_TURNS = 8
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _engine(request: Request) -> AsyncContextEngine:
    engine: AsyncContextEngine = request.app.state.engine
    return engine


def _settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


@router.get("/models", response_model=ModelList, summary="The knowledge bases, as model ids")
async def list_models(request: Request, who: Annotated[Caller, Depends(caller)]) -> JSONResponse:
    """One model id per knowledge base the caller's key may use."""
    model_id = _settings(request).model_id
    created = int(request.app.state.started)
    data = [
        {
            "id": model_of(name, model_id),
            "object": "model",
            "created": created,
            "owned_by": "contextual-avatar",
        }
        for name in await collections(_engine(request))
        if who.allows(name)
    ]
    return JSONResponse({"object": "list", "data": data})


def _usage(answer: Answer) -> dict[str, int]:
    prompt, completion = answer.tokens.prompt, answer.tokens.completion
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _extras(answer: Answer, session: str, collection: str) -> dict[str, Any]:
    return {
        "citations": [citation_json(r, answer.context) for r in answer.citations],
        "contextual_avatar": {"session_id": session, **turn_json(answer, collection=collection)},
    }


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Answer the last user message from the knowledge base the model names",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat_completions(
    body: ChatRequest,
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    x_session_id: Annotated[str | None, Header(max_length=1024)] = None,
) -> Any:
    """OpenAI chat completions, streamed (server-sent events) or not."""
    settings = _settings(request)
    engine = _engine(request)
    refuse_unsupported(body)
    if len(body.messages) > settings.max_messages:
        raise ApiError(
            400, f"at most {settings.max_messages} messages per request", param="messages"
        )
    collection = collection_of(body.model, settings.model_id)
    who.require(collection)
    await require_collection(engine, collection)
    question = last_question(body.messages)
    instructions = system_prompt(body.messages) or None
    given = x_session_id if x_session_id is not None else body.user
    if given is None:
        given = platform_conversation(request.headers)
    session = client_session(given, body.messages, collection)
    engine_session = who.session(session)
    if turns := earlier_turns(body.messages):
        await engine.remember(engine_session, turns[-MAX_SEEDED_TURNS:])
    elif given is None:  # a conversation starting (again): nothing carries over
        await engine.forget(engine_session)

    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    headers = {"X-Session-Id": session}
    if not body.stream:
        answer = await engine.ask(
            engine_session, question, collection=collection, instructions=instructions
        )
        reply = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": strip_markers(answer.text),
                        "refusal": None,
                    },
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _usage(answer),
            "system_fingerprint": None,
            **_extras(answer, session, collection),
        }
        return JSONResponse(reply, headers=headers)

    # Start the turn before answering 200, so bad input is still a plain 400.
    turn = engine.ask_stream(
        engine_session, question, collection=collection, instructions=instructions
    )
    try:
        first = await anext(turn)
    except BaseException:
        await turn.aclose()
        raise
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    events = _stream(
        pumped(first, turn), completion_id, created, body.model, include_usage, session, collection
    )
    return StreamingResponse(
        events, media_type="text/event-stream", headers={**SSE_HEADERS, **headers}
    )


async def _stream(
    items: AsyncGenerator[str | Answer, None],
    completion_id: str,
    created: int,
    model: str,
    include_usage: bool,
    session: str,
    collection: str,
) -> AsyncIterator[str]:
    """The turn as chat.completion.chunk events, then ``[DONE]``.

    Closing this generator (the client hung up) closes the turn: a barge-in.
    """
    head = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
    }
    usage: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        payload = {**head, "choices": [choice], **usage, **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    speech = MarkerFilter()
    yield chunk({"role": "assistant", "content": ""})
    async with aclosing(items) as stream:
        try:
            async for item in stream:
                if not isinstance(item, Answer):
                    if text := speech.feed(item):
                        yield chunk({"content": text})
                    continue
                if rest := speech.flush():
                    yield chunk({"content": rest})
                yield chunk({}, "stop", **_extras(item, session, collection))
                if include_usage:
                    last = {**head, "choices": [], "usage": _usage(item)}
                    yield f"data: {json.dumps(last)}\n\n"
                yield "data: [DONE]\n\n"
                return
        except ContextualAvatarError as exc:  # after the 200: an error event, as OpenAI sends
            status = library_status(exc)
            error = error_json(status, str(exc) if status < 500 else public_message(exc))
            yield f"data: {json.dumps(error, ensure_ascii=False)}\n\n"
