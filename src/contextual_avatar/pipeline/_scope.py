"""A turn's scope: the collection it answers from and the session bound to it.

A session is bound to the collection of its first turn (see
:class:`~contextual_avatar.cache.SessionBindings`); a later turn naming another is refused
before anything is read from or written to the session's cache. The store keeps the
session's chunks under a collection-scoped id
(:func:`~contextual_avatar.cache.scoped_session`), so even a host store that ignored the
binding could not serve one collection's chunks to another.
"""

from __future__ import annotations

import asyncio

from contextual_avatar.cache import ChunkStore, History, SessionBindings, scoped_session
from contextual_avatar.errors import InputError
from contextual_avatar.retrieval import DEFAULT_COLLECTION, Collections, Corpus

__all__ = ["Scope"]


class Scope:
    """Resolves a turn's collection and enforces the session's binding."""

    def __init__(self, collections: Collections, bindings: SessionBindings) -> None:
        """Answer from ``collections``; bind sessions in ``bindings``."""
        self.collections = collections
        self.bindings = bindings

    async def enter(self, session_id: str, collection: str) -> Corpus:
        """The collection's corpus, once the session is bound to it.

        Raises:
            InputError: The collection does not exist, or the session is bound to another.
        """
        corpus = self.collections.loaded(collection)
        if corpus is None or (collection != DEFAULT_COLLECTION and not corpus.published):
            corpus = await asyncio.to_thread(self.collections.open, collection)
        bound = await self.bindings.bind(session_id, collection)
        if bound != collection:
            raise InputError(
                f"this session answers from collection {bound!r}, not {collection!r}: a "
                "session keeps the collection of its first turn (use a new session id, or "
                "forget this one first)"
            )
        return corpus

    async def forget(self, session_id: str, store: ChunkStore, history: History) -> None:
        """Drop the session's cache (in its collection), history and binding."""
        bound = await self.bindings.bound(session_id) or DEFAULT_COLLECTION
        await store.clear(scoped_session(bound, session_id))
        if bound != DEFAULT_COLLECTION:  # chunks cached before the session was bound
            await store.clear(session_id)
        await history.clear(session_id)
        await self.bindings.clear(session_id)
