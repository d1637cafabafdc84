"""Price recorded LLM calls the same way for every arm, per model and provider rule.

Every arm ends up as sessions of recorded calls (the messages really sent, the call's
kind, its completion). Each call is billed with the model's own tokenizer (tiktoken:
``o200k_base`` for the OpenAI models; Anthropic publishes no tokenizer, so Claude is
counted with ``cl100k_base`` as a stated proxy), 4 framing tokens per message, and the
provider's prompt-cache rule (:mod:`contextual_avatar.routing._provider_cache`): OpenAI
reads the longest prefix it stored, from 1,024 tokens in 128-token steps, no write
premium; Anthropic reads and writes only at ``cache_control`` marks, from the model's
minimum, writes billed at the map's write price. The cache scope is one session (one
conversation), and its turns are assumed to fall within the providers' 5-minute TTL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contextual_avatar.routing._litellm import import_litellm, model_prices
from contextual_avatar.routing._provider_cache import PromptCacheModel, cache_rule, prefix_keys

#: The priced models (litellm names) and, for the routing arm, their small tier.
MODELS = ("gpt-4o", "gpt-4.1", "gpt-5-mini", "claude-sonnet-4-5")
SMALL_OF = {
    "gpt-4o": "gpt-4o-mini",
    "gpt-4.1": "gpt-4.1-mini",
    "gpt-5-mini": "gpt-5-nano",
    "claude-sonnet-4-5": "claude-haiku-4-5",
}

#: Reasoning tokens in the offline prices. gpt-5 models bill reasoning as output tokens
#: (litellm's map has no separate price); the library asks them for the lowest effort.
REASONING_NOTE = (
    "0 in every arm. The library asks gpt-5 models for reasoning_effort='minimal' "
    "(LLMConfig.reasoning_effort='lowest'); the frameworks' defaults send none, so "
    "OpenAI reasons at 'medium' and bills those tokens as output: unknown offline, "
    "so 0 is a lower bound of the frameworks' gpt-5-mini cost"
)


@dataclass
class Call:
    """One recorded LLM call.

    Parameters:
        messages: ``(role, content)`` per message, as sent.
        kind: ``"answer"`` or ``"condense"``.
        completion: The text the stand-in returned (billed as completion tokens).
        marks: Messages that end a ``cache_control`` block (the library's layout).
        small: The router sent this call to the small tier.
    """

    messages: tuple[tuple[str, str], ...]
    kind: str
    completion: str
    marks: tuple[int, ...] = ()
    small: bool = False


@dataclass
class ArmRecord:
    """Sessions of calls, and per turn whether the gold span was in the context sent."""

    name: str
    sessions: dict[str, list[Call]] = field(default_factory=dict)
    recall: list[bool] = field(default_factory=list)
    turns: int = 0


@functools.cache
def counter(model: str) -> Callable[[str], int]:
    """Token counter for ``model``: its own tiktoken encoding, cl100k for Claude (proxy)."""
    import_litellm()  # points tiktoken at the BPE files inside litellm's wheel
    import tiktoken

    try:
        enc = tiktoken.encoding_for_model(model)
    except KeyError:
        enc = tiktoken.get_encoding("cl100k_base")
    memo: dict[str, int] = {}

    def count(text: str) -> int:
        n = memo.get(text)
        if n is None:
            n = memo[text] = len(enc.encode(text, disallowed_special=()))
        return n

    return count


def tokenizer_note(model: str) -> str:
    """Which tokenizer counted ``model``."""
    import tiktoken

    try:
        return tiktoken.encoding_name_for_model(model)
    except KeyError:
        return "cl100k_base (proxy: the provider publishes no tokenizer)"


def price(arm: ArmRecord, model: str, *, small_model: str | None = None) -> dict[str, Any]:
    """USD per 1,000 turns and token figures of ``arm`` billed as ``model``.

    Args:
        arm: The recorded calls.
        model: The litellm model every call is billed as (the large tier).
        small_model: Calls marked ``small`` are billed as this model instead.
    """
    usd = prompt = cached = written = completion = calls = 0.0
    for session_calls in arm.sessions.values():
        caches: dict[str, PromptCacheModel] = {}
        for call in session_calls:
            name = small_model if (call.small and small_model) else model
            count = counter(name)
            rule = cache_rule(name)
            cache = caches.setdefault(name, PromptCacheModel(rule))
            keys = prefix_keys(call.messages, count)
            charge = cache.charge(keys, call.marks if rule.needs_marks else ())
            p, c = keys[-1][0], count(call.completion)
            usd += model_prices(name).cost(p, c, charge.read, charge.write)
            prompt += p
            cached += charge.read
            written += charge.write
            completion += c
            calls += 1
    n = max(1, arm.turns)
    return {
        "usd_per_1000_turns": 1000 * usd / n,
        "llm_calls_per_turn": calls / n,
        "prompt_tokens_per_turn": prompt / n,
        "completion_tokens_per_turn": completion / n,
        "cached_share_of_prompt": cached / max(1.0, prompt),
        "cache_write_share_of_prompt": written / max(1.0, prompt),
    }


def rules_table(models: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each priced model's prices and cache rule, for the report."""
    out = {}
    for m in models:
        r, p = cache_rule(m), model_prices(m)
        out[m] = {
            "input_usd_per_mtok": p.input * 1e6,
            "cached_input_usd_per_mtok": p.cached_input * 1e6,
            "cache_write_usd_per_mtok": p.cache_write * 1e6,
            "output_usd_per_mtok": p.output * 1e6,
            "provider": r.provider,
            "min_tokens": r.min_tokens,
            "step_tokens": r.step_tokens,
            "needs_marks": r.needs_marks,
            "rule_source": r.source,
            "tokenizer": tokenizer_note(m),
        }
    return out
