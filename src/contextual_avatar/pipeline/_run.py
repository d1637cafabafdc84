"""The turn pipeline: named stages run in order, each timed, with one barge-in path.

::

    understand -> recall -> assemble -> route -> (enrich joins) -> answer -> record
    enrich runs beside the first four, from the start of the turn

Every stage is a small object with a ``name`` and ``async __call__(turn)`` that reads
and writes a :class:`~contextual_avatar.pipeline.TurnState`; the answer stage streams.
Enrich's task belongs to the turn: if a stage fails, it is cancelled, not orphaned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from typing import Protocol

from contextual_avatar.cache import session_tag
from contextual_avatar.pipeline._answer import Respond
from contextual_avatar.pipeline._checks import (
    DEFAULT_COLLECTION,
    check_collection,
    check_instructions,
    check_question,
    check_session,
)
from contextual_avatar.pipeline._enrich import Enrich
from contextual_avatar.pipeline._record import Record
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.pipeline._tasks import TurnTasks
from contextual_avatar.types import Answer

__all__ = ["Stage", "TurnPipeline"]

log = logging.getLogger(__name__)


class Stage(Protocol):
    """One step of a turn: reads and writes the turn's state."""

    name: str

    async def __call__(self, turn: TurnState) -> None:
        """Do this stage's work on ``turn``."""
        ...


async def timed(stage: Stage, turn: TurnState) -> None:
    """Run ``stage`` and record its wall time in ``turn.timings[stage.name]``."""
    started = time.perf_counter()
    await stage(turn)
    turn.timings[stage.name] = (time.perf_counter() - started) * 1000


class TurnPipeline:
    """Runs a turn through its stages and streams the answer."""

    def __init__(
        self,
        *,
        understand: Stage,
        recall: Stage,
        enrich: Enrich,
        assemble: Stage,
        route: Stage,
        answer: Respond,
        record: Record,
    ) -> None:
        """Run these stages, in the order of the module docstring."""
        self.understand = understand
        self.recall = recall
        self.enrich = enrich
        self.assemble = assemble
        self.route = route
        self.answer = answer
        self.record = record

    async def run(
        self,
        session_id: str,
        question: str,
        *,
        collection: str = DEFAULT_COLLECTION,
        instructions: str | None = None,
    ) -> AsyncGenerator[str | Answer, None]:
        """Answer one turn: text deltas as the model writes them, then the Answer.

        Closing the stream early (or cancelling its reader) is a barge-in: the model
        stops and the partial answer is recorded as interrupted. ``instructions`` (a
        host's system prompt) reach the answering model for this turn only.

        Raises:
            InputError: Empty or oversized session id or question, a bad collection name,
                or instructions that are not text or are too long.
            ModelError: The model tiers failed.
        """
        turn = TurnState(
            check_session(session_id),
            check_question(question),
            check_collection(collection),
            instructions=check_instructions(instructions),
        )
        started = time.perf_counter()
        async with TurnTasks() as tasks:
            related = tasks.start(timed(self.enrich, turn))
            for stage in (self.understand, self.recall, self.assemble, self.route):
                await timed(stage, turn)
            await related
        self.enrich.attach(turn)
        try:
            async for delta in self.answer.stream(turn):
                yield delta
        except (asyncio.CancelledError, GeneratorExit):
            await self.record.interrupted(turn)
            raise
        await timed(self.record, turn)
        turn.timings["total"] = (time.perf_counter() - started) * 1000
        if turn.cache is not None:
            log.debug(
                "session %s: %s, %.1f ms",
                session_tag(turn.session_id),
                turn.cache.reason,
                turn.timings["total"],
            )
        yield turn.answer()
