"""The cost ledger: tokens and USD per turn, per session and in total, against a baseline.

Every turn is priced from litellm's offline price map (the offline ``"extractive"``
answerer costs 0), with prompt tokens read from the provider's prompt cache billed at
the cached-input price where the map has one, and tokens written to it at the
cache-write price (Anthropic bills 1.25x the input price to write; OpenAI nothing).
Which tokens a provider caches follows its own rule (:mod:`._provider_cache`).
Beside it the ledger prices the counterfactual **baseline**: the large model answering
the same turn with the full retrieval top-k in its prompt and no prompt-cache discount.
``saved_usd`` is the difference. The baseline assumes the large model would have
written an answer of the same length; it says what the turn would have cost, not
whether it would have been better.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from contextual_avatar.errors import ConfigError
from contextual_avatar.routing._config import EXTRACTIVE, LLMConfig
from contextual_avatar.routing._litellm import ModelPrices, model_prices
from contextual_avatar.types import Tier, TokenUsage

__all__ = [
    "CostLedger",
    "LedgerEntry",
    "LedgerTotals",
    "baseline_prompt_tokens",
    "configured_prices",
]

PriceFn = Callable[[str], ModelPrices]
#: Context window assumed for a config-priced model that does not state one.
DEFAULT_CONTEXT_WINDOW = 8192
#: Entries kept for inspection; totals count every turn regardless.
MAX_ENTRIES = 10_000


def _free(model: str) -> ModelPrices:
    return ModelPrices(model, input=0.0, output=0.0, cached_input=0.0, context_window=1 << 30)


def default_prices(model: str) -> ModelPrices:
    """Litellm's price for ``model``; the offline extractive answerer is free."""
    return _free(model) if model == EXTRACTIVE else model_prices(model)


def configured_prices(*tiers: LLMConfig) -> PriceFn:
    """Prices set on the tiers' configs first, then litellm's map.

    Why: a tier priced in the config (a local model at 0, a model litellm's map lacks) must
    be priceable before its first call, e.g. as the baseline while the other tier answers.
    """
    table = {
        tier.model: ModelPrices(
            tier.model,
            input=tier.input_usd_per_mtok / 1e6,
            output=tier.output_usd_per_mtok / 1e6,
            cached_input=(
                tier.input_usd_per_mtok
                if tier.cached_input_usd_per_mtok is None
                else tier.cached_input_usd_per_mtok
            )
            / 1e6,
            context_window=tier.context_window or DEFAULT_CONTEXT_WINDOW,
        )
        for tier in tiers
        if tier.input_usd_per_mtok is not None and tier.output_usd_per_mtok is not None
    }

    def prices(model: str) -> ModelPrices:
        return table.get(model) or default_prices(model)

    return prices


def baseline_prompt_tokens(
    *, prompt_tokens: int, context_tokens: int, top_k: int, chunk_tokens: int
) -> int:
    """Prompt tokens the baseline would have sent: this prompt with full top-k context.

    Args:
        prompt_tokens: This turn's prompt tokens.
        context_tokens: Of those, the context chunks' tokens.
        top_k: Chunks full retrieval puts in the baseline's prompt.
        chunk_tokens: Tokens per chunk (the chunker's size).

    Returns:
        The same instructions, turns and question, with ``top_k`` chunks of context
        (never less context than this turn had).
    """
    overhead = max(0, prompt_tokens - context_tokens)
    return overhead + max(context_tokens, top_k * chunk_tokens)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One priced turn.

    Parameters:
        session_id: The session.
        model: The model that answered.
        tier: The tier it was routed to.
        tokens: Prompt and completion tokens.
        cached_prompt_tokens: Prompt tokens billed at the cached-input price.
        cost_usd: What the turn cost.
        written_prompt_tokens: Prompt tokens billed at the cache-write price.
        baseline_model: The large model the baseline prices.
        baseline_tokens: The baseline's prompt and completion tokens.
        baseline_usd: What the baseline would have cost.
        interrupted: The listener barged in; only the tokens produced are counted.
    """

    session_id: str
    model: str
    tier: Tier
    tokens: TokenUsage
    cached_prompt_tokens: int
    cost_usd: float
    baseline_model: str
    baseline_tokens: TokenUsage
    baseline_usd: float
    interrupted: bool = False
    written_prompt_tokens: int = 0

    @property
    def saved_usd(self) -> float:
        """Baseline minus actual cost."""
        return self.baseline_usd - self.cost_usd


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """Sums over many turns.

    Parameters:
        turns: Turns recorded.
        small_turns: Turns routed to the small tier.
        interrupted_turns: Turns cut short by a barge-in.
        prompt_tokens: Prompt tokens sent.
        cached_prompt_tokens: Of those, billed at the cached price.
        written_prompt_tokens: Of those, billed at the cache-write price.
        completion_tokens: Completion tokens received.
        cost_usd: Total cost.
        baseline_prompt_tokens: Prompt tokens the baseline would have sent.
        baseline_usd: Total baseline cost.
    """

    turns: int = 0
    small_turns: int = 0
    interrupted_turns: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    written_prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    baseline_prompt_tokens: int = 0
    baseline_usd: float = 0.0

    @property
    def saved_usd(self) -> float:
        """Baseline minus actual cost."""
        return self.baseline_usd - self.cost_usd

    @property
    def saved_fraction(self) -> float:
        """Share of the baseline's cost saved (0 when the baseline is free)."""
        return self.saved_usd / self.baseline_usd if self.baseline_usd > 0 else 0.0

    def add(self, entry: LedgerEntry) -> LedgerTotals:
        """These totals plus one entry."""
        return LedgerTotals(
            turns=self.turns + 1,
            small_turns=self.small_turns + (entry.tier is Tier.SMALL),
            interrupted_turns=self.interrupted_turns + entry.interrupted,
            prompt_tokens=self.prompt_tokens + entry.tokens.prompt,
            cached_prompt_tokens=self.cached_prompt_tokens + entry.cached_prompt_tokens,
            written_prompt_tokens=self.written_prompt_tokens + entry.written_prompt_tokens,
            completion_tokens=self.completion_tokens + entry.tokens.completion,
            cost_usd=self.cost_usd + entry.cost_usd,
            baseline_prompt_tokens=self.baseline_prompt_tokens + entry.baseline_tokens.prompt,
            baseline_usd=self.baseline_usd + entry.baseline_usd,
        )


class CostLedger:
    """Prices turns and keeps per-session and overall totals (thread-safe).

    Args are keyword-only; ``prices`` is the seam for another price source.
    """

    def __init__(self, *, baseline_model: str, prices: PriceFn | None = None) -> None:
        """Create the ledger.

        Args:
            baseline_model: The large model the counterfactual baseline is priced at.
            prices: Model name to prices; defaults to litellm's map (extractive is free).
        """
        self.baseline_model = baseline_model
        self._prices = prices or default_prices
        self._lock = threading.Lock()
        self._sessions: dict[str, LedgerTotals] = {}
        self._total = LedgerTotals()
        self._entries: deque[LedgerEntry] = deque(maxlen=MAX_ENTRIES)

    def prices(self, model: str) -> ModelPrices:
        """Prices of ``model`` (imports litellm on first use for a litellm model)."""
        return self._prices(model)

    def record(
        self,
        session_id: str,
        *,
        model: str,
        tier: Tier,
        tokens: TokenUsage,
        cached_prompt_tokens: int = 0,
        written_prompt_tokens: int = 0,
        baseline_prompt_tokens: int,
        interrupted: bool = False,
        reported_usd: float | None = None,
    ) -> LedgerEntry:
        """Price one turn and add it to the totals.

        A model the price source does not know (a host's own responder) is priced at
        ``reported_usd``, what its reply said it cost, when given; a baseline model it does
        not know is priced like the turn, so no saving is claimed. The answer has already
        been spoken by then: pricing must not fail the turn.

        Args:
            session_id: The session.
            model: The model that answered.
            tier: The tier it was routed to.
            tokens: Prompt and completion tokens of the turn.
            cached_prompt_tokens: Prompt tokens read from the provider's prompt cache.
            written_prompt_tokens: Prompt tokens written to it (billed at the write price).
            baseline_prompt_tokens: Prompt tokens the baseline would have sent.
            interrupted: The turn was cut short by a barge-in.
            reported_usd: The reply's own cost, used when ``model`` has no price.

        Returns:
            The priced entry.

        Raises:
            ConfigError: ``model`` has no price and no ``reported_usd`` was given.
        """
        cached = min(max(cached_prompt_tokens, 0), tokens.prompt)
        written = min(max(written_prompt_tokens, 0), tokens.prompt - cached)
        try:
            cost = self._prices(model).cost(tokens.prompt, tokens.completion, cached, written)
        except ConfigError:
            if reported_usd is None:
                raise
            cost = reported_usd
        base_tokens = TokenUsage(baseline_prompt_tokens, tokens.completion)
        try:
            base = self._prices(self.baseline_model).cost(
                base_tokens.prompt, base_tokens.completion
            )
        except ConfigError:
            base = cost
        entry = LedgerEntry(
            session_id=session_id,
            model=model,
            tier=tier,
            tokens=tokens,
            cached_prompt_tokens=cached,
            written_prompt_tokens=written,
            cost_usd=cost,
            baseline_model=self.baseline_model,
            baseline_tokens=base_tokens,
            baseline_usd=base,
            interrupted=interrupted,
        )
        with self._lock:
            self._entries.append(entry)
            self._sessions[session_id] = self._sessions.get(session_id, LedgerTotals()).add(entry)
            self._total = self._total.add(entry)
        return entry

    def totals(self, session_id: str | None = None) -> LedgerTotals:
        """Totals for one session, or for every session when ``session_id`` is ``None``."""
        with self._lock:
            if session_id is None:
                return self._total
            return self._sessions.get(session_id, LedgerTotals())

    def entries(self, session_id: str | None = None) -> list[LedgerEntry]:
        """The most recent entries (up to ``MAX_ENTRIES``), oldest first, for one session or all."""
        with self._lock:
            return [e for e in self._entries if session_id is None or e.session_id == session_id]

    def forget(self, session_id: str) -> None:
        """Drop a session's per-session totals and entries (overall totals stay)."""
        with self._lock:
            self._sessions.pop(session_id, None)
            kept = [e for e in self._entries if e.session_id != session_id]
            self._entries = deque(kept, maxlen=MAX_ENTRIES)
