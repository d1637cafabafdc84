"""Conversation state: what a session has been talking about, derived from its turns.

The state is a pure function of the session's recent :class:`~contextual_avatar.types.Turn` s,
which live in the same store as the chunk cache (memory or Redis). Each turn records the
chunks its context held, best first, so the documents and sections a conversation is on
can be read back without storing anything else:

- ``doc_focus``: for each document, the strongest recent evidence that the conversation is
  about it, ``max(decay**age / (rank + 1))`` over recent turns' context chunks, scaled so
  the strongest is 1. A maximum rather than a sum keeps every thread of a meeting that
  interleaves several topics in focus, instead of letting the latest one drown the rest;
  the decay lets a topic change through.
- ``chunk_focus``: the same for chunks, so their neighbours can be searched and favoured
  (a conversation walks a document forward).
- ``questions`` and ``entities``: recent questions and the names used in recent turns,
  for expanding a follow-up such as "who was he thankful to?".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from contextual_avatar._text import chunk_id, chunk_range, entities
from contextual_avatar.types import Turn

__all__ = ["ConversationState"]

DEFAULT_STATE_TURNS = 8
DEFAULT_FOCUS_DECAY = 0.95
DEFAULT_FOCUS_DEPTH = 5
MAX_ENTITIES = 8


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What a session is about, for query expansion and as a retrieval prior.

    Parameters:
        questions: Recent questions, oldest first.
        entities: Names used in the last two turns, most recent first.
        doc_focus: Document id to focus weight in ``(0, 1]``.
        chunk_focus: Chunk id (single chunks, merged ids expanded) to focus weight.
        last_chunks: The previous turn's context chunk ids, best first.
    """

    questions: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    doc_focus: Mapping[str, float] = field(default_factory=dict)
    chunk_focus: Mapping[str, float] = field(default_factory=dict)
    last_chunks: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True at the start of a session."""
        return not self.questions

    @classmethod
    def from_history(
        cls,
        history: Sequence[Turn],
        *,
        turns: int = DEFAULT_STATE_TURNS,
        decay: float = DEFAULT_FOCUS_DECAY,
        depth: int = DEFAULT_FOCUS_DEPTH,
    ) -> ConversationState:
        """Derive the state from a session's turns (oldest first).

        Args:
            history: The session's recent turns.
            turns: How many of the latest turns count.
            decay: Weight kept per turn of age (1: no forgetting within ``turns``).
            depth: Context chunks per turn that count (by rank).
        """
        recent = list(history[-turns:]) if turns > 0 else []
        if not recent:
            return cls()
        docs: dict[str, float] = {}
        chunks: dict[str, float] = {}
        for age, turn in enumerate(reversed(recent)):
            weight = decay**age
            for rank, cid in enumerate(_expand(turn.chunk_ids)[:depth]):
                w = weight / (rank + 1)
                try:
                    doc_id, _, _ = chunk_range(cid)
                except ValueError:
                    continue
                docs[doc_id] = max(docs.get(doc_id, 0.0), w)
                chunks[cid] = max(chunks.get(cid, 0.0), w)
        top = max(docs.values(), default=0.0)
        names: dict[str, None] = {}
        for turn in reversed(recent[-2:]):
            for name in entities(f"{turn.question} {turn.answer}"):
                names.setdefault(name, None)
        return cls(
            questions=tuple(t.question for t in recent),
            entities=tuple(list(names)[:MAX_ENTITIES]),
            doc_focus={d: w / top for d, w in docs.items()} if top > 0 else {},
            chunk_focus=chunks,
            last_chunks=_expand(recent[-1].chunk_ids),
        )


def _expand(chunk_ids: Sequence[str]) -> tuple[str, ...]:
    """Merged ids (``doc:3-5``) as their single chunks, order kept, no repeats."""
    out: dict[str, None] = {}
    for cid in chunk_ids:
        try:
            doc_id, first, last = chunk_range(cid)
        except ValueError:
            out.setdefault(cid, None)
            continue
        for ordinal in range(first, last + 1):
            out.setdefault(chunk_id(doc_id, ordinal), None)
    return tuple(out)
