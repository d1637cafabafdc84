"""Stage *assemble*: the context the model sees, fitted to the token budget."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.retrieval import assemble_context

__all__ = ["Assemble"]


class Assemble:
    """Merges neighbouring chunks, drops near-duplicates and fits the budget.

    Cache hits and index results go through the same step, so both read alike.
    """

    name = "assemble"

    def __init__(self, *, budget_tokens: int, count_tokens: Callable[[str], int]) -> None:
        """Fit context into ``budget_tokens`` as counted by ``count_tokens``."""
        self._budget = budget_tokens
        self._count = count_tokens

    async def __call__(self, turn: TurnState) -> None:
        """Rewrite ``context``."""
        # Off the loop: token counting and de-duplication cost milliseconds of CPU.
        turn.context = await asyncio.to_thread(
            assemble_context, turn.context, budget_tokens=self._budget, count_tokens=self._count
        )
