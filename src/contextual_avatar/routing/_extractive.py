"""The offline answerer: quotes the context sentences that best answer the question.

It needs no key and no network, and it never invents: every word of an answer is a
sentence from a cited chunk. Sentences are ranked by a mix of embedding similarity to
the question (alone and with the previous turn, so "and for children?" keeps its topic)
and word overlap with it. A conversation reads its document forward, so a sentence
just after the one quoted last turn gets a small bonus.

It reads the best three chunks by default. Reading only the best one (``context_chunks=1``)
answers more CoQA turns (38% against 36%), but the conversation state takes names from the
answers, and those answers lowered the next turns' retrieval recall in interleaved meetings
(0.77 -> 0.71; ``benchmarks/cost_savings.py``, ``benchmarks/retrieval.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from contextual_avatar._text import split_sentences, terms
from contextual_avatar.routing._responder import Reply
from contextual_avatar.types import (
    KNOWLEDGE_DOC_ID,
    ScoredChunk,
    SourceRef,
    TokenUsage,
    Turn,
    merge_refs,
)

__all__ = ["ExtractiveResponder"]

EmbedFn = Callable[[Sequence[str]], npt.NDArray[np.float32]]
TokenCounter = Callable[[str], int]

NOT_FOUND = "I could not find that in the uploaded material."

# Sentence score = dense similarity + _LEXICAL x share of the question's terms held
# + _RETRIEVAL x the chunk's retrieval score (+ _FOLLOWS if it follows the last quote).
_LEXICAL = 1.0
_RETRIEVAL = 0.1
_FOLLOWS = 0.1
# "Just after the last quote": starts within this many characters of its end.
_FOLLOWS_WITHIN = 300
_REPEAT_PENALTY = 0.3


def _squash(text: str) -> str:
    """Collapse line breaks and runs of spaces (PDF text breaks lines mid-sentence)."""
    return " ".join(text.split())


def _terms(text: str) -> set[str]:
    """The retriever's terms, so "word overlap" means what BM25 and the cache mean by it."""
    return set(terms(text))


@dataclass(frozen=True, slots=True)
class _Sentence:
    chunk_index: int
    start: int
    end: int
    text: str


class ExtractiveResponder:
    """Answers by quoting the best one or two context sentences, with their citations."""

    def __init__(
        self,
        embed: EmbedFn,
        *,
        count_tokens: TokenCounter,
        max_sentences: int = 2,
        context_chunks: int = 3,
    ) -> None:
        """Create the answerer.

        Args:
            embed: Embeds texts into unit vectors (the engine's embedder).
            count_tokens: Counts tokens, for the turn's accounting.
            max_sentences: Sentences quoted at most.
            context_chunks: Best chunks searched for sentences.
        """
        self._embed = embed
        self._count = count_tokens
        self._max_sentences = max_sentences
        self._context_chunks = context_chunks
        self._sentence_vectors: LRUCache[str, npt.NDArray[np.float32]] = LRUCache(maxsize=4096)

    @property
    def model(self) -> str:
        """Always ``"extractive"``."""
        return "extractive"

    async def respond(
        self, question: str, *, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> Reply:
        """Quote the sentences that answer ``question`` best (runs in a worker thread)."""
        return await asyncio.to_thread(self._respond, question, context, history)

    def _respond(
        self, question: str, context: Sequence[ScoredChunk], history: Sequence[Turn]
    ) -> Reply:
        # Quote documents only: shared-knowledge facts are for models that paraphrase.
        docs = [c for c in context if c.chunk.doc_id != KNOWLEDGE_DOC_ID]
        chunks = docs[: self._context_chunks]
        prompt_tokens = self._count(question) + sum(self._count(c.chunk.text) for c in chunks)
        sentences = [
            _Sentence(i, a, b, sc.chunk.text[a:b])
            for i, sc in enumerate(chunks)
            for a, b in split_sentences(sc.chunk.text)
        ]
        if not sentences:
            return Reply(NOT_FOUND, (), TokenUsage(prompt_tokens, 0), 0.0, self.model)
        previous = history[-1].question if history else ""
        scores = self._score(question, previous, sentences, chunks)
        if history:
            scores += self._continuity(history[-1].answer, sentences, chunks)
        best = int(np.argmax(scores))
        chosen = [best]
        if self._max_sentences > 1:
            # Add a neighbouring sentence that scores nearly as well (a two-part answer).
            for i in (best - 1, best + 1):
                same = (
                    0 <= i < len(sentences)
                    and sentences[i].chunk_index == sentences[best].chunk_index
                )
                if same and scores[i] >= 0.85 * scores[best] and len(chosen) < self._max_sentences:
                    chosen.append(i)
        chosen.sort()
        text = " ".join(_squash(sentences[i].text) for i in chosen)
        refs: list[SourceRef] = []
        for i in chosen:
            s = sentences[i]
            refs.extend(chunks[s.chunk_index].chunk.refs_between(s.start, s.end))
        usage = TokenUsage(prompt_tokens, self._count(text))
        return Reply(text, merge_refs(refs), usage, 0.0, self.model)

    @staticmethod
    def _continuity(
        said: str, sentences: Sequence[_Sentence], chunks: Sequence[ScoredChunk]
    ) -> npt.NDArray[np.float32]:
        """Penalise repeating the last answer; favour the sentences just after it."""
        quoted = [_squash(s.text) in said for s in sentences]
        ends = {
            (chunks[s.chunk_index].chunk.doc_id, chunks[s.chunk_index].chunk.offset + s.end)
            for s, q in zip(sentences, quoted, strict=True)
            if q
        }
        adjust = np.zeros(len(sentences), dtype=np.float32)
        for i, (s, q) in enumerate(zip(sentences, quoted, strict=True)):
            chunk = chunks[s.chunk_index].chunk
            start = chunk.offset + s.start
            if q:
                adjust[i] -= _REPEAT_PENALTY
            elif any(
                doc == chunk.doc_id and 0 <= start - end <= _FOLLOWS_WITHIN for doc, end in ends
            ):
                adjust[i] += _FOLLOWS
        return adjust

    def _score(
        self,
        question: str,
        previous: str,
        sentences: Sequence[_Sentence],
        chunks: Sequence[ScoredChunk],
    ) -> npt.NDArray[np.float32]:
        queries = self._embed([question, f"{previous} {question}".strip()])
        vectors = self._vectors(sentences, chunks)
        # The question itself dominates: a follow-up asks for something new about the
        # previous topic, so the conversation only tilts the dense score.
        dense = 0.75 * (vectors @ queries[0]) + 0.25 * (vectors @ queries[1])
        asked = _terms(question)
        lexical = np.array(
            [len(asked & _terms(s.text)) / (len(asked) or 1) for s in sentences],
            dtype=np.float32,
        )
        retrieval = np.array([chunks[s.chunk_index].score for s in sentences], dtype=np.float32)
        combined: npt.NDArray[np.float32] = (
            dense + _LEXICAL * lexical + _RETRIEVAL * retrieval
        ).astype(np.float32)
        return combined

    def _vectors(
        self, sentences: Sequence[_Sentence], chunks: Sequence[ScoredChunk]
    ) -> npt.NDArray[np.float32]:
        keys = [f"{chunks[s.chunk_index].chunk.id}@{s.start}" for s in sentences]
        # Read hits into a local map first: inserting the misses may evict them.
        found = {k: v for k in keys if (v := self._sentence_vectors.get(k)) is not None}
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = self._embed([sentences[i].text for i in missing])
            for row, i in enumerate(missing):
                found[keys[i]] = self._sentence_vectors[keys[i]] = fresh[row]
        return np.stack([found[k] for k in keys])
