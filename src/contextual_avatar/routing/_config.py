"""Settings for answering: the offline answerer, the two model tiers and the router."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = [
    "DEFAULT_LARGE_TIER",
    "DEFAULT_SMALL_TIER",
    "DEFAULT_SYSTEM_PROMPT",
    "EXTRACTIVE",
    "AnswerConfig",
    "LLMConfig",
    "RoutingConfig",
]

#: Model name of the offline extractive answerer (no key, no network).
EXTRACTIVE = "extractive"

DEFAULT_MAX_OUTPUT_TOKENS = 256
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_FIRST_TOKEN_TIMEOUT_S = 20.0
DEFAULT_RETRIES = 1
DEFAULT_ROUTE_THRESHOLD = 0.30
DEFAULT_HISTORY_TURNS = 4
DEFAULT_MAX_FACTS = 5
# OpenAI's prompt cache applies to prompts of 1,024 tokens and more; others are similar.
DEFAULT_PROMPT_CACHE_MIN_TOKENS = 1024

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful avatar in a live conversation. Answer the question in one or two "
    "short sentences using only the numbered sources below. After each fact, cite its "
    "source number in square brackets, like [1]. If the sources do not contain the answer, "
    "say that you could not find it."
)


class AnswerConfig(BaseModel):
    """The offline extractive answerer used when no LLM is configured.

    Parameters:
        max_sentences: Sentences quoted in an answer.
        context_chunks: Best chunks whose sentences compete for the answer (50: all of a
            usual context); a lower chunk's sentence must hold clearly more evidence to win.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_sentences: int = Field(default=2, ge=1, le=10)
    context_chunks: int = Field(default=50, ge=1, le=50)


class LLMConfig(BaseModel):
    """One model tier: a litellm model, or the offline ``"extractive"`` answerer.

    Parameters:
        model: A litellm model name (``"gpt-4o-mini"``, ``"openai/smollm2"`` for an
            OpenAI-compatible server), or ``"extractive"``.
        api_base: Base URL of an OpenAI-compatible server (e.g. ``http://127.0.0.1:8000/v1``).
        api_key: Key for the provider; ``None`` lets litellm read its usual variables.
        context_window: Prompt plus answer tokens the model accepts; ``None`` asks
            litellm's model info.
        max_output_tokens: Tokens the answer may use (reserved out of the window).
        input_usd_per_mtok: Price per million prompt tokens, registered with litellm for a
            model its price map lacks (0 for a local model).
        output_usd_per_mtok: Price per million completion tokens, as above.
        cached_input_usd_per_mtok: Price per million prompt tokens read from the
            provider's prompt cache, as above.
        reasoning_effort: How hard a reasoning model thinks before answering.
            ``"lowest"`` (default): the lowest effort litellm's map says the model
            accepts, sent only to models that reason unless told not to (OpenAI's gpt-5:
            ``"minimal"``); a spoken turn wants its first token fast, and reasoning is
            billed as output. ``None`` sends nothing (the provider's default, ``"medium"``
            for gpt-5); a level is sent to any reasoning model.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(default=EXTRACTIVE, min_length=1)
    api_base: str | None = None
    api_key: SecretStr | None = None
    context_window: int | None = Field(default=None, ge=256)
    max_output_tokens: int = Field(default=DEFAULT_MAX_OUTPUT_TOKENS, ge=1, le=32_768)
    input_usd_per_mtok: float | None = Field(default=None, ge=0)
    output_usd_per_mtok: float | None = Field(default=None, ge=0)
    cached_input_usd_per_mtok: float | None = Field(default=None, ge=0)
    reasoning_effort: Literal["lowest", "none", "minimal", "low", "medium", "high"] | None = (
        "lowest"
    )

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("api_base must be an http:// or https:// URL")
        return value

    @property
    def is_extractive(self) -> bool:
        """True for the offline answerer."""
        return self.model == EXTRACTIVE


DEFAULT_SMALL_TIER = LLMConfig()
DEFAULT_LARGE_TIER = LLMConfig()


class RoutingConfig(BaseModel):
    """The two model tiers, the router between them, and the LLM call's limits.

    Parameters:
        small: The cheap tier, used when retrieval evidence is strong.
        large: The strong tier, used when it is weak; also the cost baseline.
        threshold: Router evidence at or above which the small tier answers.
        margin_weight: Weight of the top-1/top-2 score margin in the evidence (>= 0).
        cache_hit_bonus: Evidence added when the session cache answered (>= 0).
        timeout_s: Whole-call timeout of one LLM request.
        first_token_timeout_s: Time allowed until the first streamed token.
        retries: Extra attempts on a failed call before the first token arrives.
        fallback: Answer with the other tier when the routed one fails.
        temperature: Sampling temperature for LLM tiers.
        history_turns: Recent turns packed into the prompt at most.
        max_facts: Related facts packed into the prompt at most.
        system_prompt: Instructions that open every prompt (the stable prefix).
        prompt_cache_min_tokens: Shortest repeated prefix a provider's prompt cache bills
            at the cached-input price; the ledger counts the discount from there.
        baseline_top_k: Chunks the counterfactual baseline sends every turn;
            ``None`` uses the retrieval ``top_k``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    small: LLMConfig = DEFAULT_SMALL_TIER
    large: LLMConfig = DEFAULT_LARGE_TIER
    threshold: float = Field(default=DEFAULT_ROUTE_THRESHOLD, ge=-1.0, le=3.0)
    margin_weight: float = Field(default=0.0, ge=0.0, le=10.0)
    cache_hit_bonus: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=600)
    first_token_timeout_s: float = Field(default=DEFAULT_FIRST_TOKEN_TIMEOUT_S, gt=0, le=600)
    retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=5)
    fallback: bool = True
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    history_turns: int = Field(default=DEFAULT_HISTORY_TURNS, ge=0, le=50)
    max_facts: int = Field(default=DEFAULT_MAX_FACTS, ge=0, le=50)
    system_prompt: str = Field(default=DEFAULT_SYSTEM_PROMPT, min_length=1)
    prompt_cache_min_tokens: int = Field(default=DEFAULT_PROMPT_CACHE_MIN_TOKENS, ge=0)
    baseline_top_k: int | None = Field(default=None, ge=1, le=100)
