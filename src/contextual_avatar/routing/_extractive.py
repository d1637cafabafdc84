"""The offline answerer: quotes the context sentences that best answer the question.

It needs no key and no network, and it never invents: every word of an answer is a
sentence from a cited chunk. It is for trying the library, tests and demos; an LLM tier
writes fluent answers.

Every sentence of every context chunk competes, scored by the evidence the retriever
used and the sentence's own:

* the chunk's rank in the context (the retriever's fused dense + BM25 order, read with
  the conversation): a sentence in a lower chunk must hold clearly more evidence to win;
* embedding similarity to the question, and to the question with the previous one (so
  "and for children?" keeps its topic);
* the question's terms the sentence holds, weighted by how rare each is in the context
  (IDF over the context's sentences: "glob" counts more than "file"), and, weighted
  less, the previous question's terms the last answer did not hold (a follow-up's
  topic is often only there);
* an answer-type cue: "how many", "when", "what year" ask for a number or a date;
* continuity: the sentence just after last turn's quote gets a bonus, a repeat a penalty.

Sentence vectors are kept per chunk text (:class:`SentenceVectors`), so a chunk met again
(the session cache serves the same chunks turn after turn) costs no embedding.
Weights were tuned on one half of the CoQA dev stories and checked on the other
(``benchmarks/answer_quality.py``): the rank prior, the previous question's terms and the
answer type raised the share of answers holding the gold answer; the chunks' cosine
scores did not (they are close together, and the rank already orders them).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contextual_avatar._text import terms
from contextual_avatar.routing._responder import Reply
from contextual_avatar.routing._sentence_vectors import SentenceVectors
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

# Sentence score = _DENSE x similarity + _LEXICAL x IDF-weighted share of the question's
# terms held + _PREVIOUS x the same for the previous question's unanswered terms - _RANK x
# ln(1 + the chunk's rank) + _TYPE if it has what the question type asks for.
_DENSE = 1.0
_LEXICAL = 1.0
_PREVIOUS = 0.3
_RANK = 1.5
_TYPE = 0.3
_FOLLOWS = 0.1
# "Just after the last quote": starts within this many characters of its end.
_FOLLOWS_WITHIN = 300
_REPEAT_PENALTY = 0.3
# A neighbour in the same chunk joins the answer when it scores this share of the best.
_PAIR = 0.85

_NUMERIC_Q = re.compile(
    r"^\s*(how (many|much|old|long|far|big|tall|often)|when\b|what (year|time|age|date|day)|"
    r"which year|in what year)",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|half|dozen|january|february|march|april|"
    r"may|june|july|august|september|october|november|december|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|century|year|years)\b",
    re.IGNORECASE,
)


def _squash(text: str) -> str:
    """Collapse line breaks and runs of spaces (PDF text breaks lines mid-sentence)."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class _Sentence:
    chunk_index: int
    start: int
    end: int
    text: str
    terms: frozenset[str]


class ExtractiveResponder:
    """Answers by quoting the best one or two context sentences, with their citations."""

    def __init__(
        self,
        embed: EmbedFn,
        *,
        count_tokens: TokenCounter,
        max_sentences: int = 2,
        context_chunks: int = 50,
        cache_chunks: int = 2048,
        vectors: SentenceVectors | None = None,
        count_context: TokenCounter | None = None,
    ) -> None:
        """Create the answerer.

        Args:
            embed: Embeds texts into unit vectors (the engine's embedder).
            count_tokens: Counts tokens, for the turn's accounting.
            max_sentences: Sentences quoted at most.
            context_chunks: Best chunks whose sentences compete (all of a usual context).
            cache_chunks: Chunks whose sentence vectors are kept between turns.
            vectors: Where sentence vectors come from (default: an in-memory cache only).
            count_context: Counts the context chunks' tokens (default ``count_tokens``;
                the engine passes a memoised counter, for document text only).
        """
        self._embed = embed
        self._count = count_tokens
        self._count_context = count_context or count_tokens
        self._max_sentences = max_sentences
        self._context_chunks = context_chunks
        self._vectors = vectors or SentenceVectors(embed, max_chunks=cache_chunks)

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
        prompt_tokens = self._count(question) + sum(
            self._count_context(c.chunk.text) for c in chunks
        )
        per_chunk = self._vectors.of([sc.chunk.text for sc in chunks])
        sentences = [
            _Sentence(i, a, b, text := sc.chunk.text[a:b], frozenset(terms(text)))
            for i, (sc, (spans, _)) in enumerate(zip(chunks, per_chunk, strict=True))
            for a, b in spans
        ]
        if not sentences:
            return Reply(NOT_FOUND, (), TokenUsage(prompt_tokens, 0), 0.0, self.model)
        vectors = np.concatenate([v for _, v in per_chunk if len(v)])
        previous = history[-1].question if history else ""
        said = history[-1].answer if history else ""
        scores = self._score(question, previous, said, sentences, vectors, chunks)
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
                ok = same and scores[i] >= _PAIR * scores[best]
                if ok and len(chosen) < self._max_sentences:
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
        said: str,
        sentences: Sequence[_Sentence],
        vectors: npt.NDArray[np.float32],
        chunks: Sequence[ScoredChunk],
    ) -> npt.NDArray[np.float32]:
        queries = self._embed([question, f"{previous} {question}".strip()])
        # The question itself dominates: a follow-up asks for something new about the
        # previous topic, so the conversation only tilts the dense score.
        dense = 0.75 * (vectors @ queries[0]) + 0.25 * (vectors @ queries[1])
        idf = _idf(sentences)
        asked = set(terms(question))
        # What the conversation still asks about: the previous question's terms that
        # neither this question nor the last answer holds (those were answered already;
        # favouring them pulled "and for children?" back to the adults' sentence).
        before = set(terms(previous)) - asked - set(terms(said))
        lexical = np.array([_held(asked, s.terms, idf) for s in sentences], dtype=np.float32)
        earlier = np.array([_held(before, s.terms, idf) for s in sentences], dtype=np.float32)
        rank = np.array([math.log1p(s.chunk_index) for s in sentences], dtype=np.float32)
        typed = np.zeros(len(sentences), dtype=np.float32)
        if _NUMERIC_Q.search(question):
            typed += np.array([bool(_NUMBER.search(s.text)) for s in sentences], dtype=np.float32)
        combined: npt.NDArray[np.float32] = (
            _DENSE * dense + _LEXICAL * lexical + _PREVIOUS * earlier - _RANK * rank + _TYPE * typed
        ).astype(np.float32)
        return combined


def _idf(sentences: Sequence[_Sentence]) -> dict[str, float]:
    """Inverse sentence frequency of each term over the context (rare terms count more)."""
    df = Counter(t for s in sentences for t in s.terms)
    n = len(sentences)
    return {t: math.log(1 + n / c) for t, c in df.items()}


def _held(wanted: set[str], have: frozenset[str], idf: dict[str, float]) -> float:
    """IDF-weighted share of ``wanted`` terms in ``have``.

    A term absent from the context weighs as if it appeared once: asking for what no
    sentence holds lowers every sentence's share alike.
    """
    if not wanted:
        return 0.0
    weight = {t: idf.get(t, math.log(2 + len(idf))) for t in wanted}
    return sum(w for t, w in weight.items() if t in have) / sum(weight.values())
