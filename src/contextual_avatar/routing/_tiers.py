"""Two responders, small and large, with fallback from one to the other on failure."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from contextual_avatar.errors import ModelError
from contextual_avatar.routing._client import LiteLLMResponder
from contextual_avatar.routing._config import LLMConfig, RoutingConfig
from contextual_avatar.routing._responder import Reply, Responder, stream_reply
from contextual_avatar.types import ScoredChunk, Tier, Turn

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

    async def stream(
        self,
        tier: Tier,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn],
    ) -> AsyncGenerator[str | Reply, None]:
        """Stream the answer from ``tier``'s responder (text deltas, then the Reply).

        Raises:
            ModelError: The tier failed after streaming began, or both tiers failed.
        """
        primary = self.responder(tier)
        other = self.large if tier is Tier.SMALL else self.small
        started = False
        try:
            async with aclosing(
                stream_reply(primary, question, context=context, history=history)
            ) as stream:
                async for item in stream:
                    started = True
                    yield item
            return
        except ModelError:
            if started or not self.fallback or other is primary:
                raise
        async with aclosing(
            stream_reply(other, question, context=context, history=history)
        ) as stream:
            async for item in stream:
                if isinstance(item, Reply):
                    item = dataclasses.replace(item, fallback_from=primary.model)
                yield item


def build_tiers(
    config: RoutingConfig, *, extractive: Responder, override: Responder | None = None
) -> Tiers:
    """The tiers a :class:`RoutingConfig` describes.

    Args:
        config: Tier models, endpoints and limits.
        extractive: The offline answerer, used by any tier whose model is ``"extractive"``.
        override: A responder that answers for both tiers (a host's own model).

    Returns:
        The pair, with the config's fallback setting.
    """
    if override is not None:
        return Tiers(override, override, fallback=False)

    def build(tier: LLMConfig) -> Responder:
        return extractive if tier.is_extractive else LiteLLMResponder(tier, routing=config)

    return Tiers(build(config.small), build(config.large), fallback=config.fallback)
