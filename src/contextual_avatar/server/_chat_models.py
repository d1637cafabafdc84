"""The OpenAI chat completions protocol's shapes, as far as this server speaks it.

Requests are lenient where platforms add their own fields (Vapi and Tavus send call
metadata): unknown fields are accepted and ignored. Fields that would change what an
answer *is* and that the engine cannot honour (tools, images, several choices, JSON
output) are refused by :func:`refuse_unsupported` with a 400 that names them, never
dropped silently. Sampling hints (temperature, top_p, max_tokens, stop, seed, penalties)
are accepted and ignored: the configured tiers decide how to sample.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contextual_avatar.server._errors import ApiError

__all__ = [
    "ChatCompletion",
    "ChatMessage",
    "ChatRequest",
    "ModelList",
    "message_text",
    "refuse_unsupported",
]


class ContentPart(BaseModel):
    """One part of a message's content; only ``text`` parts are understood."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=64)
    text: str | None = None


class ChatMessage(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=256)


class StreamOptions(BaseModel):
    """Streaming options; ``include_usage`` adds a last chunk with token counts."""

    model_config = ConfigDict(extra="allow")

    include_usage: bool | None = None


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "model": "contextual-avatar",
                "messages": [{"role": "user", "content": "How much is an adult ticket?"}],
                "stream": True,
            }
        },
    )

    model: str = Field(max_length=200)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    n: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    function_call: Any = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    modalities: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


def _refuse(field: str, why: str) -> ApiError:
    return ApiError(400, f"{field}: {why}", code="unsupported_parameter", param=field)


def refuse_unsupported(request: ChatRequest) -> None:
    """Raise a 400 naming the first field the engine cannot honour.

    Raises:
        ApiError: Tools or function calls, image/audio/file content, ``n`` > 1,
            JSON output formats, log probabilities, or audio output.
    """
    if request.n is not None and request.n != 1:
        raise _refuse("n", f"n={request.n} is not supported: one choice per request")
    if request.tools or request.functions:
        raise _refuse(
            "tools", "tool and function calling is not supported; answers come from documents"
        )
    if request.tool_choice not in (None, "none") or request.function_call not in (None, "none"):
        raise _refuse("tool_choice", "tool and function calling is not supported")
    fmt = (request.response_format or {}).get("type", "text")
    if fmt != "text":
        raise _refuse("response_format", f"{fmt!r} is not supported: answers are text")
    if request.logprobs:
        raise _refuse("logprobs", "log probabilities are not supported")
    if request.modalities and set(request.modalities) != {"text"}:
        raise _refuse("modalities", "output other than text is not supported")
    for i, message in enumerate(request.messages):
        if message.role in ("tool", "function"):
            raise _refuse(f"messages[{i}].role", f"{message.role} messages are not supported")
        if isinstance(message.content, list):
            for part in message.content:
                if part.type != "text":
                    raise _refuse(
                        f"messages[{i}].content",
                        f"content of type {part.type!r} is not supported; send text",
                    )


def message_text(message: ChatMessage) -> str:
    """A message's text (text parts joined)."""
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(part.text or "" for part in message.content)


# Response shapes: for the OpenAPI document (responses are built as plain dicts).


class Usage(BaseModel):
    """Token counts of the turn, as the configured tier counted them."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Citation(BaseModel):
    """A source the answer rests on, with the quoted text (not part of the spoken text)."""

    label: str
    source: str
    page: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    speaker: str | None = None
    quote: str


class ReplyMessage(BaseModel):
    """The assistant's message."""

    role: Literal["assistant"]
    content: str
    refusal: None = None


class Choice(BaseModel):
    """The one choice."""

    index: int
    message: ReplyMessage
    finish_reason: Literal["stop"]
    logprobs: None = None


class ChatCompletion(BaseModel):
    """A chat completion; ``citations`` and ``contextual_avatar`` are this server's extras."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    citations: list[Citation]
    contextual_avatar: dict[str, Any]


class Model(BaseModel):
    """A knowledge base, as a model id."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"]
    data: list[Model]
