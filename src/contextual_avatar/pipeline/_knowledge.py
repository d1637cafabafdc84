"""The engine's line to shared knowledge: read related facts, write new ones behind.

Reading is bounded (a slow or unreachable graph costs a turn its facts, never its
answer); writing goes through a :class:`~contextual_avatar.knowledge.BackgroundWriter`
started on first use (it needs the running loop), so the hot path never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from contextual_avatar.cache import session_tag
from contextual_avatar.errors import StoreUnavailable
from contextual_avatar.knowledge import (
    BackgroundWriter,
    KnowledgeConfig,
    KnowledgeGraphSink,
    WriterClosedError,
    pack_facts,
)
from contextual_avatar.types import Fact

__all__ = ["SharedKnowledge"]

log = logging.getLogger(__name__)


class SharedKnowledge:
    """Related facts for a turn, and a background writer for what turns teach."""

    def __init__(
        self,
        sink: KnowledgeGraphSink | None,
        config: KnowledgeConfig,
        *,
        outbox_dir: Path,
        count_tokens: Callable[[str], int],
    ) -> None:
        """Read from and write to ``sink`` (``None``: sharing is off).

        Args:
            sink: The knowledge graph.
            config: Limits, timeouts and writer settings.
            outbox_dir: Where facts wait while the graph is unreachable.
            count_tokens: Counts a fact line's tokens, for the context budget.
        """
        self.sink = sink
        self._config = config
        self._outbox_dir = outbox_dir
        self._count = count_tokens
        self.writer: BackgroundWriter | None = None

    async def related(self, session_id: str, question: str) -> list[Fact]:
        """Facts other conversations taught that bear on the question, within budget."""
        if self.sink is None:
            return []
        cfg = self._config
        try:
            facts = await asyncio.wait_for(
                self.sink.related(question, cfg.related_limit, exclude_session=session_id),
                timeout=cfg.related_timeout_s,
            )
        except (TimeoutError, StoreUnavailable) as exc:
            log.debug("session %s: related facts skipped (%s)", session_tag(session_id), exc)
            return []
        return pack_facts(facts, budget_tokens=cfg.context_tokens, count_tokens=self._count)

    def _started(self) -> BackgroundWriter | None:
        """The writer, started on first use (it needs the running loop); ``None`` if off.

        Starting replays what an earlier run left in the outbox.
        """
        if self.sink is not None and self.writer is None:
            self.writer = BackgroundWriter.from_config(
                self.sink, self._config, outbox_dir=self._outbox_dir
            )
            self.writer.start()
        return self.writer

    def submit(self, facts: Sequence[Fact]) -> None:
        """Queue facts for the graph; never waits, never fails the turn.

        A turn that ends while the engine closes cannot queue any more: its facts are
        dropped with a warning rather than its answer lost.
        """
        writer = self._started()
        if writer is None:
            return
        try:
            writer.submit(list(facts))
        except WriterClosedError:
            log.warning("knowledge writer closed: %d facts of a late turn not kept", len(facts))

    async def flush(self) -> None:
        """Wait until every fact so far (an earlier run's outbox included) is in the graph."""
        writer = self._started()
        if writer is not None:
            await writer.flush()

    def spill(self) -> int:
        """Move facts not yet durable to the outbox, without the loop (for exit hooks)."""
        return self.writer.spill() if self.writer is not None else 0

    async def aclose(self, *, close_sink: bool) -> None:
        """Deliver what is pending (the rest stays in the outbox), then close.

        Args:
            close_sink: Close the sink too (the engine closes only sinks it opened).
        """
        if self.writer is not None:
            await self.writer.aclose(timeout_s=self._config.close_timeout_s)
        if close_sink and self.sink is not None:
            await self.sink.close()
