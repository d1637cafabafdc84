"""The blocking face of the engine: :class:`ContextEngine`, for ordinary (non-async) code.

It runs an :class:`~contextual_avatar.engine.AsyncContextEngine` on a private event-loop
thread; each method is one line that waits for the core's coroutine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from contextual_avatar._exit import close_at_exit
from contextual_avatar._sync import LoopThread, iterate
from contextual_avatar.config import EngineConfig
from contextual_avatar.engine import AsyncContextEngine
from contextual_avatar.knowledge import WriterStats
from contextual_avatar.parts import Parts
from contextual_avatar.pipeline import DEFAULT_COLLECTION, ProgressFn
from contextual_avatar.retrieval import DocRecord
from contextual_avatar.routing import CostLedger
from contextual_avatar.types import Answer, IngestReport, Turn

__all__ = ["ContextEngine"]


class ContextEngine:
    """The blocking face of :class:`AsyncContextEngine`: same methods, no ``await``.

    It runs the async core on a private event loop thread. Use it from ordinary code;
    from async code use :class:`AsyncContextEngine` directly. An engine that is never
    closed is closed when it is garbage-collected or when the interpreter exits, so the
    facts of its last turns are written (or kept in the outbox) and nothing is printed.
    """

    def __init__(self, config: EngineConfig | None = None, *, parts: Parts | None = None) -> None:
        """Open the engine; see :class:`AsyncContextEngine` for the arguments."""
        self._loop = LoopThread()
        try:
            self._core = AsyncContextEngine(config, parts=parts)
        except BaseException:
            self._loop.close()
            raise
        self._close = close_at_exit(
            self, self._loop, self._core.aclose, self._core._built.knowledge.spill
        )

    @property
    def config(self) -> EngineConfig:
        """The engine's settings."""
        return self._core.config

    @property
    def parts(self) -> Parts:
        """See :attr:`AsyncContextEngine.parts`."""
        return self._core.parts

    @property
    def documents(self) -> list[DocRecord]:
        """Documents in the index, in ingest order."""
        return self._core.documents

    @property
    def ledger(self) -> CostLedger:
        """Tokens and USD per turn, per session and in total, against the baseline."""
        return self._core.ledger

    @property
    def knowledge_stats(self) -> WriterStats | None:
        """See :attr:`AsyncContextEngine.knowledge_stats`."""
        return self._core.knowledge_stats

    def ingest(
        self,
        path: str | Path,
        *,
        collection: str = DEFAULT_COLLECTION,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """See :meth:`AsyncContextEngine.ingest`."""
        return self._loop.run(self._core.ingest(path, collection=collection, progress=progress))

    def list_collections(self) -> list[str]:
        """See :meth:`AsyncContextEngine.list_collections`."""
        return self._loop.run(self._core.list_collections())

    def list_documents(self, collection: str = DEFAULT_COLLECTION) -> list[DocRecord]:
        """See :meth:`AsyncContextEngine.list_documents`."""
        return self._loop.run(self._core.list_documents(collection))

    def remove(self, name: str, *, collection: str = DEFAULT_COLLECTION) -> list[DocRecord]:
        """See :meth:`AsyncContextEngine.remove`."""
        return self._loop.run(self._core.remove(name, collection=collection))

    def drop_collection(self, collection: str) -> int:
        """See :meth:`AsyncContextEngine.drop_collection`."""
        return self._loop.run(self._core.drop_collection(collection))

    def ask(
        self,
        session_id: str,
        question: str,
        *,
        collection: str = DEFAULT_COLLECTION,
        instructions: str | None = None,
    ) -> Answer:
        """See :meth:`AsyncContextEngine.ask`."""
        return self._loop.run(
            self._core.ask(session_id, question, collection=collection, instructions=instructions)
        )

    def ask_stream(
        self,
        session_id: str,
        question: str,
        *,
        collection: str = DEFAULT_COLLECTION,
        instructions: str | None = None,
    ) -> Iterator[str | Answer]:
        """See :meth:`AsyncContextEngine.ask_stream`; closing the iterator early is a barge-in."""
        turn = self._core.ask_stream(
            session_id, question, collection=collection, instructions=instructions
        )
        return iterate(self._loop, turn)

    def forget(self, session_id: str) -> None:
        """See :meth:`AsyncContextEngine.forget`."""
        self._loop.run(self._core.forget(session_id))

    def remember(self, session_id: str, turns: Sequence[Turn]) -> int:
        """See :meth:`AsyncContextEngine.remember`."""
        return self._loop.run(self._core.remember(session_id, turns))

    def flush(self) -> None:
        """See :meth:`AsyncContextEngine.flush`."""
        self._loop.run(self._core.flush())

    def close(self) -> None:
        """Release the parts and stop the loop thread (idempotent)."""
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
