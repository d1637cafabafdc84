"""Providers' prompt-cache rules, and a model of what each would bill as cached.

Why: a prompt prefix the provider has seen is billed at a discount, but each provider
has its own rule. OpenAI caches automatically from 1,024 tokens in 128-token steps and
charges nothing extra to write; Anthropic caches only up to ``cache_control`` marks, from
a per-model minimum, and bills the written tokens at 1.25x; Gemini caches implicitly from
its own minimum. Prices come from litellm's map (``cache_read_input_token_cost``,
``cache_creation_input_token_cost``, ``prompt_cache_min_tokens``); what the map does not
state is filled from the providers' documentation and named in :attr:`CacheRule.source`.

:class:`PromptCacheModel` replays a sequence of prompts (one scope: a session) and says,
per prompt, how many tokens a provider would read from its cache and how many it would
write, so a benchmark or the ledger can price a turn when the provider reports nothing.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contextual_avatar.routing._litellm import import_litellm

__all__ = ["CacheCharge", "CacheRule", "PromptCacheModel", "cache_rule", "prefix_keys"]

#: Minimums and steps from the providers' documentation, used where litellm's map is silent.
#: OpenAI: "prompts of 1,024 tokens or longer ... cache hits in increments of 128 tokens".
#: Anthropic: 1,024 for Sonnet and Opus, 2,048 for Haiku 3 / 3.5, 4,096 for Haiku 4.5
#: (the map states the last). Gemini 2.5 Flash implicit caching: 1,024 (the map states
#: 2,048 for 2.5 Pro).
_DOCUMENTED = {
    "openai": (1024, 128, False),
    "azure": (1024, 128, False),
    "anthropic": (1024, 1, True),
    "bedrock": (1024, 1, True),
    "gemini": (1024, 1, False),
    "vertex_ai-language-models": (1024, 1, False),
}
#: Anthropic looks for an earlier cache entry at most this many blocks before a mark.
ANTHROPIC_LOOKBACK_BLOCKS = 20


@dataclass(frozen=True, slots=True)
class CacheRule:
    """How one model's provider caches prompt prefixes.

    Parameters:
        model: The litellm model name.
        provider: litellm's provider name (``"openai"``, ``"anthropic"``, ...).
        min_tokens: Shortest prefix the provider caches.
        step_tokens: Cached lengths are ``min_tokens + k * step_tokens``.
        needs_marks: The provider caches only up to ``cache_control`` marks (Anthropic).
        read_discount: Cached-read price as a share of the input price (1.0: no cache).
        write_premium: Cache-write price as a share of the input price (1.0: free to write).
        source: Where ``min_tokens`` and ``step_tokens`` came from.
    """

    model: str
    provider: str
    min_tokens: int
    step_tokens: int
    needs_marks: bool
    read_discount: float
    write_premium: float
    source: str

    @property
    def caches(self) -> bool:
        """True when cached tokens are cheaper than fresh ones."""
        return self.read_discount < 1.0

    def billable(self, tokens: int) -> int:
        """The cached length the provider bills for a reusable prefix of ``tokens``."""
        if tokens < self.min_tokens:
            return 0
        step = max(1, self.step_tokens)
        return self.min_tokens + (tokens - self.min_tokens) // step * step


@functools.cache
def cache_rule(model: str) -> CacheRule:
    """The prompt-cache rule of ``model`` from litellm's map and the providers' documents.

    A model the map does not know, or one without a cached price, gets a rule that
    never discounts (``read_discount=1``).
    """
    litellm = import_litellm()
    try:
        info = litellm.get_model_info(model)
    except Exception:
        return CacheRule(model, "unknown", 1 << 30, 1, False, 1.0, 1.0, "not in litellm's map")
    provider = str(info.get("litellm_provider") or "unknown")
    price = float(info.get("input_cost_per_token") or 0.0)
    read = info.get("cache_read_input_token_cost")
    write = info.get("cache_creation_input_token_cost")
    documented = _DOCUMENTED.get(provider)
    mapped_min = info.get("prompt_cache_min_tokens")
    if mapped_min:
        minimum = int(mapped_min)
        source = "min from litellm's map"
    elif documented:
        minimum = documented[0]
        source = f"min from {provider}'s documentation (not in litellm's map)"
    else:
        minimum = 1024
        source = "min assumed 1024 (neither map nor documentation known)"
    step, marks = (documented[1], documented[2]) if documented else (1, False)
    if documented:
        source += f"; step {step} and marks={marks} from {provider}'s documentation"
    if price <= 0 or read is None:
        return CacheRule(model, provider, minimum, step, marks, 1.0, 1.0, source)
    return CacheRule(
        model,
        provider,
        minimum,
        step,
        marks,
        read_discount=float(read) / price,
        write_premium=float(write) / price if write is not None else 1.0,
        source=source,
    )


def prefix_keys(
    blocks: Sequence[tuple[str, str]], count: Callable[[str], int]
) -> list[tuple[int, str]]:
    """(tokens so far, hash of the prefix) at the end of every block of a prompt.

    Args:
        blocks: ``(role, content)`` per message, in order.
        count: ``count(text) -> int``; each message also costs 4 tokens of framing.

    Returns:
        One entry per block: cumulative tokens and a key equal only for equal prefixes.
    """
    out: list[tuple[int, str]] = []
    digest = hashlib.sha256()
    total = 0
    for role, content in blocks:
        total += count(content) + 4
        digest.update(f"\x00{role}\x00{content}".encode())
        out.append((total, digest.copy().hexdigest()[:24]))
    return out


@dataclass(frozen=True, slots=True)
class CacheCharge:
    """Tokens of one prompt billed as cache reads and as cache writes."""

    read: int = 0
    write: int = 0


class PromptCacheModel:
    """What a provider would bill as cached for each prompt of one scope (a session).

    Prompts are described by their block boundaries (:func:`prefix_keys`). A model
    that caches implicitly (OpenAI, Gemini) stores every prompt of at least the minimum
    and reads the longest stored prefix, in the provider's steps; one that needs marks
    (Anthropic) stores prefixes only at marked blocks and bills their new tokens as
    writes. Block granularity slightly under-counts a hit that ends mid-message.
    """

    def __init__(self, rule: CacheRule) -> None:
        """Start an empty cache for ``rule``'s provider."""
        self.rule = rule
        self._stored: set[str] = set()

    def charge(
        self, boundaries: Sequence[tuple[int, str]], marks: Sequence[int] = ()
    ) -> CacheCharge:
        """Bill one prompt and remember what it leaves in the cache.

        Args:
            boundaries: ``(tokens so far, prefix key)`` per block (:func:`prefix_keys`).
            marks: Indexes of blocks ending with a ``cache_control`` mark.

        Returns:
            Tokens read from the cache and tokens written to it.
        """
        rule = self.rule
        if not rule.caches or not boundaries:
            return CacheCharge()
        if not rule.needs_marks:
            hit = max((t for t, k in boundaries if k in self._stored), default=0)
            if boundaries[-1][0] >= rule.min_tokens:
                self._stored.update(k for _, k in boundaries)
            return CacheCharge(read=rule.billable(hit))
        if not marks:
            return CacheCharge()
        lookable = {
            i
            for m in marks
            for i in range(max(0, m - ANTHROPIC_LOOKBACK_BLOCKS), m + 1)
            if i < len(boundaries)
        }
        read = max(
            (boundaries[i][0] for i in lookable if boundaries[i][1] in self._stored),
            default=0,
        )
        read = rule.billable(read)
        written = [m for m in marks if m < len(boundaries) and boundaries[m][0] >= rule.min_tokens]
        write = 0
        if written:
            end, key = boundaries[max(written)]
            if key not in self._stored:
                write = max(0, end - read)
            self._stored.update(boundaries[m][1] for m in written)
        return CacheCharge(read=read, write=write)
