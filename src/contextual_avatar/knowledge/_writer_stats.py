"""The background writer's counters: what a host needs to see that no fact goes missing.

The writer bumps a mutable :class:`WriterCounters` from its tasks and from the ask path;
callers only ever get a frozen :class:`WriterStats` snapshot, so they cannot disturb it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WriterCounters", "WriterStats"]


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters of a :class:`~contextual_avatar.knowledge.BackgroundWriter` since it was created.

    Parameters:
        submitted: Facts handed to :meth:`BackgroundWriter.submit`.
        acknowledged: Facts appended to the outbox (durable).
        delivered: Facts confirmed by the store (replays of an earlier run included).
        spilled: Facts written to the outbox on the caller's thread: because the queue was
            full, or by :meth:`BackgroundWriter.spill`.
        failures: Failed store writes (each is retried).
        rejected: Facts the store refused as data (e.g. unencodable text); they are kept in
            the outbox's ``rejected`` table instead of blocking the facts behind them.
        queued: Facts in memory, not yet acknowledged.
        last_error: The most recent store error, or ``None``.
    """

    submitted: int
    acknowledged: int
    delivered: int
    spilled: int
    failures: int
    rejected: int
    queued: int
    last_error: str | None


@dataclass(slots=True)
class WriterCounters:
    """The running totals behind :class:`WriterStats` (``queued`` is measured, not counted)."""

    submitted: int = 0
    acknowledged: int = 0
    delivered: int = 0
    spilled: int = 0
    failures: int = 0
    rejected: int = 0
    last_error: str | None = None

    def snapshot(self, *, queued: int) -> WriterStats:
        """A frozen copy, with the number of facts still in memory."""
        return WriterStats(
            submitted=self.submitted,
            acknowledged=self.acknowledged,
            delivered=self.delivered,
            spilled=self.spilled,
            failures=self.failures,
            rejected=self.rejected,
            queued=queued,
            last_error=self.last_error,
        )
