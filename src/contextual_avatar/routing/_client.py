"""The LLM client: any litellm model as a streaming :class:`Responder`.

One :class:`LiteLLMResponder` drives one model (a tier). It packs the prompt to the
model's budget (:mod:`._prompt`), streams the answer with ``litellm.acompletion``, and
prices the call from litellm's offline price map, counting the cached-prefix discount.

Failures: a request that fails before its first token is retried (``retries`` times,
with a short backoff); after that a :class:`~contextual_avatar.errors.ModelError` is
raised, chained to litellm's exception, and :class:`Tiers` may fall back to the other
tier. A failure after tokens were streamed is not retried (the listener already heard
them). Barge-in: closing the stream or cancelling the task that reads it closes the
HTTP stream, which stops the server's generation.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from contextual_avatar.errors import ModelError
from contextual_avatar.routing._config import LLMConfig, RoutingConfig
from contextual_avatar.routing._litellm import (
    ModelPrices,
    import_litellm,
    is_openai_tokenized,
    model_prices,
    read_usage,
    register_prices,
    sampling_options,
    stream_options,
    token_counter,
)
from contextual_avatar.routing._prompt import (
    PackedPrompt,
    PromptPacker,
    parse_citations,
    with_cache_marks,
)
from contextual_avatar.routing._provider_cache import cache_rule
from contextual_avatar.routing._responder import Reply
from contextual_avatar.types import Fact, ScoredChunk, TokenUsage, Turn

__all__ = ["LiteLLMResponder"]

# Prompt tokens kept free when the tokenizer is only an estimate of the model's own.
ESTIMATE_MARGIN = 0.15
_PREFIX_MEMORY = 1024
_BACKOFF_S = 0.25


@dataclass(frozen=True, slots=True)
class _Ready:
    litellm: Any
    prices: ModelPrices
    packer: PromptPacker
    count: Any


class LiteLLMResponder:
    """Answers with a litellm model, streamed, cited, priced.

    Example::

        small = LiteLLMResponder(LLMConfig(model="gpt-4o-mini"))
        async for item in small.stream("Who is the guide?", context=chunks, history=[]):
            print(item)
    """

    def __init__(self, config: LLMConfig, *, routing: RoutingConfig | None = None) -> None:
        """Create the client (litellm itself is imported on first use).

        Args:
            config: The model, endpoint, key, window, answer length and prices.
            routing: Timeouts, retries, prompt settings (defaults if ``None``).
        """
        if config.is_extractive:
            raise ModelError("the extractive tier is not a litellm model")
        self.config = config
        self.routing = routing or RoutingConfig()
        self._ready_state: _Ready | None = None
        self._ready_lock = asyncio.Lock()
        self._prefixes: OrderedDict[str, None] = OrderedDict()

    @property
    def model(self) -> str:
        """The litellm model name."""
        return self.config.model

    def _setup(self) -> _Ready:
        cfg = self.config
        litellm = import_litellm()
        if cfg.input_usd_per_mtok is not None or cfg.output_usd_per_mtok is not None:
            register_prices(
                cfg.model,
                input_usd_per_mtok=cfg.input_usd_per_mtok or 0.0,
                output_usd_per_mtok=cfg.output_usd_per_mtok or 0.0,
                cached_input_usd_per_mtok=cfg.cached_input_usd_per_mtok,
                context_window=cfg.context_window or 8192,
            )
        prices = model_prices(cfg.model)
        window = cfg.context_window or prices.context_window
        count = token_counter(cfg.model)
        budget = window - cfg.max_output_tokens
        name = cfg.model.split("/", 1)[1] if cfg.model.startswith("openai/") else cfg.model
        if not is_openai_tokenized(name):
            budget = int(budget * (1 - ESTIMATE_MARGIN))
        if budget < 64:
            raise ModelError(
                f"{cfg.model}: context window {window} leaves no room for a prompt after "
                f"max_output_tokens={cfg.max_output_tokens}"
            )
        packer = PromptPacker(
            system_prompt=self.routing.system_prompt,
            count_tokens=count,
            budget_tokens=budget,
            history_turns=self.routing.history_turns,
            max_facts=self.routing.max_facts,
        )
        return _Ready(litellm, prices, packer, count)

    async def _ready(self) -> _Ready:
        if self._ready_state is None:
            async with self._ready_lock:
                if self._ready_state is None:
                    self._ready_state = await asyncio.to_thread(self._setup)
        return self._ready_state

    async def packer(self) -> PromptPacker:
        """The prompt packer for this model (imports litellm on first call)."""
        return (await self._ready()).packer

    async def prices(self) -> ModelPrices:
        """This model's prices from litellm's map."""
        return (await self._ready()).prices

    def _cached_tokens(self, prompt: PackedPrompt) -> int:
        """Prefix tokens a provider's prompt cache would bill at the cached price.

        Why an estimate: streamed responses rarely report cached tokens. A prefix seen
        recently and at least ``prompt_cache_min_tokens`` long is counted as cached.
        """
        seen = prompt.prefix_key in self._prefixes
        self._prefixes[prompt.prefix_key] = None
        self._prefixes.move_to_end(prompt.prefix_key)
        while len(self._prefixes) > _PREFIX_MEMORY:
            self._prefixes.popitem(last=False)
        if seen and prompt.prefix_tokens >= self.routing.prompt_cache_min_tokens:
            return prompt.prefix_tokens
        return 0

    async def respond(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        facts: Sequence[Fact] = (),
        instructions: str | None = None,
    ) -> Reply:
        """Answer without streaming (drains :meth:`stream`)."""
        reply: Reply | None = None
        stream = self.stream(
            question, context=context, history=history, facts=facts, instructions=instructions
        )
        async for item in stream:
            if isinstance(item, Reply):
                reply = item
        assert reply is not None
        return reply

    async def _open(self, ready: _Ready, prompt: PackedPrompt) -> tuple[Any, Any]:
        """Start a streamed request and wait for its first chunk, with retries."""
        cfg = self.config
        messages: list[Any] = list(prompt.messages)
        if cache_rule(cfg.model).needs_marks:  # Anthropic caches only up to marks
            messages = with_cache_marks(prompt.messages, prompt.cache_marks)
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "stream": True,
            **stream_options(),
            **sampling_options(cfg.model, cfg.reasoning_effort, self.routing.temperature),
            "max_tokens": cfg.max_output_tokens,
            "timeout": self.routing.timeout_s,
            "num_retries": 0,
        }
        if cfg.api_base is not None:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key is not None:
            kwargs["api_key"] = cfg.api_key.get_secret_value()
        elif cfg.api_base is not None:
            kwargs["api_key"] = "no-key"  # a local server accepts any key
        last: Exception | None = None
        for attempt in range(self.routing.retries + 1):
            if attempt:
                await asyncio.sleep(_BACKOFF_S * 2 ** (attempt - 1))
            response: Any = None
            try:
                async with asyncio.timeout(self.routing.first_token_timeout_s):
                    response = await ready.litellm.acompletion(**kwargs)
                    first = await anext(aiter(response))
                return response, first
            except (asyncio.CancelledError, StopAsyncIteration):
                if response is not None:
                    await response.aclose()
                raise
            except Exception as exc:
                last = exc
                if response is not None:
                    await response.aclose()
        raise ModelError(
            f"{cfg.model} failed after {self.routing.retries + 1} attempt(s): {last}"
        ) from last

    async def stream(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        facts: Sequence[Fact] = (),
        instructions: str | None = None,
    ) -> AsyncGenerator[str | Reply, None]:
        """Stream the answer: text deltas, then the :class:`Reply`.

        ``instructions`` (the host's, for this turn only) go into the system message
        after the configured ``system_prompt``; nothing keeps them past this call.

        Raises:
            ModelError: The model failed (before the first token after retries, or mid-stream).
        """
        ready = await self._ready()
        prompt = ready.packer.pack(
            question, context=context, history=history, facts=facts, instructions=instructions
        )
        try:
            response, first = await self._open(ready, prompt)
        except StopAsyncIteration:
            response, first = None, None
        parts: list[str] = []
        usage: Any = None
        deadline = time.monotonic() + self.routing.timeout_s
        try:
            chunk = first
            while chunk is not None:
                usage = getattr(chunk, "usage", None) or usage
                delta = _delta(chunk)
                if delta:
                    parts.append(delta)
                    yield delta
                try:
                    async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                        chunk = await anext(response)
                except StopAsyncIteration:
                    chunk = None
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except TimeoutError as exc:
            raise ModelError(f"{self.model} exceeded timeout_s={self.routing.timeout_s}") from exc
        except Exception as exc:
            raise ModelError(f"{self.model} failed mid-answer: {exc}") from exc
        finally:
            if response is not None:
                await response.aclose()
        text = "".join(parts).strip()
        yield self._reply(ready, prompt, text, usage)

    def _reply(self, ready: _Ready, prompt: PackedPrompt, text: str, usage: Any) -> Reply:
        # The provider's own counts when the stream carried them (stream_options), else ours.
        counts = read_usage(usage)
        prompt_tokens = counts.prompt or prompt.prompt_tokens
        completion = counts.completion or ready.count(text)
        cached = counts.cached if counts.cached is not None else self._cached_tokens(prompt)
        cached = min(cached, prompt_tokens)
        written = min(counts.written or 0, prompt_tokens - cached)
        return Reply(
            text=text,
            citations=parse_citations(text, prompt.sources),
            tokens=TokenUsage(prompt_tokens, completion),
            cost_usd=ready.prices.cost(prompt_tokens, completion, cached, written),
            model=self.model,
            cached_prompt_tokens=cached,
        )


def _delta(chunk: Any) -> str:
    choices = getattr(chunk, "choices", None) or []
    if not choices:
        return ""
    delta = getattr(choices[0], "delta", None)
    content = getattr(delta, "content", None) if delta is not None else None
    return content or ""
