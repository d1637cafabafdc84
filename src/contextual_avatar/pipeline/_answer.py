"""Stage *answer*: the routed tier writes the answer, streamed delta by delta."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.routing import Reply, Tiers

__all__ = ["Respond"]


class Respond:
    """Streams from the routed tier (falling back to the other before the first word)."""

    name = "answer"

    def __init__(self, tiers: Tiers) -> None:
        """Answer with ``tiers``."""
        self._tiers = tiers

    async def stream(self, turn: TurnState) -> AsyncGenerator[str, None]:
        """Yield text deltas; fill ``deltas``, ``reply`` and the answer timings.

        Closing the stream early stops the model: the caller records the barge-in.
        """
        if turn.route is None:
            raise RuntimeError("the answer stage needs a route")
        started = time.perf_counter()
        stream = self._tiers.stream(
            turn.route.tier,
            turn.question,
            context=turn.context,
            history=turn.history,
            instructions=turn.instructions,
        )
        async with aclosing(stream) as items:
            async for item in items:
                if isinstance(item, Reply):
                    turn.reply = item
                    continue
                if not turn.deltas:
                    turn.timings["first_token"] = (time.perf_counter() - started) * 1000
                turn.deltas.append(item)
                yield item
        if turn.reply is None:
            raise RuntimeError("the responder ended without a Reply")
        turn.timings["answer"] = (time.perf_counter() - started) * 1000
