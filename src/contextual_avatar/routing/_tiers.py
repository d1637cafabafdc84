"""Two responders, small and large, with fallback from one to the other on failure.

A host can supply either tier's responder (its own model client) and keep the other
from the config; fallback between them works the same either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from contextual_avatar.errors import ModelError
from contextual_avatar.routing._client import LiteLLMResponder
from contextual_avatar.routing._config import LLMConfig, RoutingConfig
from contextual_avatar.routing._responder import Reply, Responder, stream_reply
from contextual_avatar.types import RouteDecision, ScoredChunk, Tier, Turn

__all__ = ["Tiers", "build_tiers"]


class Tiers:
    """The small and the large responder; a failed tier falls back to the other.

    Fallback happens only before the first text delta: once words were streamed to the
    listener, switching models would repeat or contradict them, so the error surfaces.
    """

    def __init__(self, small: Responder, large: Responder, *, fallback: bool = True) -> None:
        """Create the pair.

        Args:
            small: The cheap tier.
            large: The strong tier.
            fallback: Try the other tier when the routed one fails before answering.
        """
        self.small = small
        self.large = large
        self.fallback = fallback

    def responder(self, tier: Tier) -> Responder:
        """The responder for ``tier``."""
        return self.small if tier is Tier.SMALL else self.large

    def resolve(self, decision: RouteDecision) -> RouteDecision:
        """``decision`` with its model named: the routed tier's responder when left ``None``.

        Why: a custom router only picks a tier; the name the answer reports comes from
        whoever actually answers it.
        """
        if decision.model is not None:
            return decision
        return dataclasses.replace(decision, model=self.responder(decision.tier).model)

    async def stream(
        self,
        tier: Tier,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
        instructions: str | None = None,
    ) -> AsyncGenerator[str | Reply, None]:
        """Stream the answer from ``tier``'s responder (text deltas, then the Reply).

        ``instructions`` (the host's, for this turn) go to whichever responder answers,
        if it takes them (see :class:`~contextual_avatar.routing.Responder`).

        Raises:
            ModelError: The tier failed after streaming began, or both tiers failed.
        """
        primary = self.responder(tier)
        other = self.large if tier is Tier.SMALL else self.small
        started = False
        try:
            async with aclosing(
                stream_reply(
                    primary, question, context=context, history=history, instructions=instructions
                )
            ) as stream:
                async for item in stream:
                    started = True
                    yield item
            return
        except ModelError:
            if started or not self.fallback or other is primary:
                raise
        async with aclosing(
            stream_reply(
                other, question, context=context, history=history, instructions=instructions
            )
        ) as stream:
            async for item in stream:
                if isinstance(item, Reply):
                    item = dataclasses.replace(item, fallback_from=primary.model)
                yield item


def build_tiers(
    config: RoutingConfig,
    *,
    extractive: Responder,
    small: Responder | None = None,
    large: Responder | None = None,
) -> Tiers:
    """The tiers a :class:`RoutingConfig` describes, with any tier a host supplies.

    Args:
        config: Tier models, endpoints, limits and the fallback setting.
        extractive: The offline answerer, used by any built tier whose model is
            ``"extractive"``.
        small: A host's responder for the small tier, replacing ``config.small``.
        large: A host's responder for the large tier, replacing ``config.large``.

    Returns:
        The pair, with the config's fallback setting whoever answers.
    """

    def build(tier: LLMConfig) -> Responder:
        return extractive if tier.is_extractive else LiteLLMResponder(tier, routing=config)

    return Tiers(
        small if small is not None else build(config.small),
        large if large is not None else build(config.large),
        fallback=config.fallback,
    )
