"""Prompt packing: fit system prompt, sources, facts and turns into a model's budget.

The layout keeps what the session cache keeps as a **stable prefix**, so a provider's
prompt cache (billed at a discount) and llama.cpp's KV cache can reuse it turn after turn::

    system:    instructions + numbered sources, in chunk-id order   <- stable while the cache is
    user/asst: recent turns, oldest first                           <- grows at the end
    user:      related facts + the question                         <- new every turn

Sources are numbered ``[1]``, ``[2]`` ...; :func:`parse_citations` maps the markers an
answer uses back to the sources' references. When the budget is short, the least
similar chunks go first, then the oldest turns, then facts; the question always stays.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contextual_avatar.types import Fact, ScoredChunk, SourceRef, Turn, merge_refs

__all__ = ["PackedPrompt", "PromptPacker", "parse_citations"]

Message = dict[str, str]
# Chat formats add a few tokens per message (role, separators).
MESSAGE_OVERHEAD_TOKENS = 4
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


@dataclass(frozen=True, slots=True)
class PackedPrompt:
    """A prompt ready for the model.

    Parameters:
        messages: Chat messages (``role``/``content``), in order.
        sources: The chunks behind markers ``[1]``, ``[2]``, ... in marker order.
        prompt_tokens: Estimated prompt tokens (message overheads included).
        prefix_tokens: Tokens of the stable prefix (the system message with sources).
        prefix_key: A hash of the stable prefix: equal keys mean a reusable prefix.
        dropped_chunks: Context chunks left out for lack of budget.
        dropped_turns: History turns left out for lack of budget.
    """

    messages: tuple[Message, ...]
    sources: tuple[ScoredChunk, ...]
    prompt_tokens: int
    prefix_tokens: int
    prefix_key: str
    dropped_chunks: int = 0
    dropped_turns: int = 0


def _source_label(chunk: ScoredChunk) -> str:
    refs = chunk.chunk.refs
    return "; ".join(str(r) for r in refs) if refs else chunk.chunk.doc_id[:12]


def _order_key(chunk: ScoredChunk) -> tuple[str, int]:
    return (chunk.chunk.doc_id, chunk.chunk.ordinal)


class PromptPacker:
    """Builds :class:`PackedPrompt` s within a token budget."""

    def __init__(
        self,
        *,
        system_prompt: str,
        count_tokens: Callable[[str], int],
        budget_tokens: int,
        history_turns: int = 4,
        max_facts: int = 5,
    ) -> None:
        """Create the packer.

        Args:
            system_prompt: Instructions opening every prompt.
            count_tokens: The model's token counter.
            budget_tokens: Prompt tokens allowed (context window minus the answer's reserve).
            history_turns: Recent turns included at most.
            max_facts: Related facts included at most.
        """
        self.system_prompt = system_prompt
        self.budget_tokens = budget_tokens
        self._count = count_tokens
        self._history_turns = history_turns
        self._max_facts = max_facts

    def _tokens(self, message: Message) -> int:
        return self._count(message["content"]) + MESSAGE_OVERHEAD_TOKENS

    def _system(self, sources: Sequence[ScoredChunk]) -> Message:
        if not sources:
            body = f"{self.system_prompt}\n\nSources: none."
        else:
            listed = "\n\n".join(
                f"[{i}] ({_source_label(c)})\n{' '.join(c.chunk.text.split())}"
                for i, c in enumerate(sources, 1)
            )
            body = f"{self.system_prompt}\n\nSources:\n{listed}"
        return {"role": "system", "content": body}

    def _question(self, question: str, facts: Sequence[Fact]) -> Message:
        if not facts:
            return {"role": "user", "content": question}
        lines = "\n".join(f"- {f.subject} {f.predicate} {f.object}" for f in facts)
        return {"role": "user", "content": f"Related facts:\n{lines}\n\nQuestion: {question}"}

    def pack(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn] = (),
        facts: Sequence[Fact] = (),
    ) -> PackedPrompt:
        """Pack one turn.

        Args:
            question: The user's turn.
            context: Context chunks (any order; the best are kept when space is short).
            history: Earlier turns, oldest first.
            facts: Related facts from the knowledge graph.

        Returns:
            The prompt; its ``sources`` define what each citation marker means.
        """
        facts = list(facts[: self._max_facts])
        turns = list(history[-self._history_turns :]) if self._history_turns else []
        ask = self._question(question, facts)
        used = self._tokens(ask) + self._tokens(self._system(()))
        while facts and used > self.budget_tokens:
            facts.pop()
            ask = self._question(question, facts)
            used = self._tokens(ask) + self._tokens(self._system(()))

        # Chunks first (they carry the answer), best first, each only if it fits whole.
        chosen: list[ScoredChunk] = []
        for chunk in sorted(context, key=lambda c: -c.score):
            trial = sorted([*chosen, chunk], key=_order_key)
            cost = self._tokens(self._system(trial)) + self._tokens(ask)
            if cost <= self.budget_tokens:
                chosen = trial
        system = self._system(chosen)
        used = self._tokens(system) + self._tokens(ask)

        # Then the most recent turns that still fit.
        kept: list[Message] = []
        dropped_turns = 0
        for turn in reversed(turns):
            pair = [
                {"role": "user", "content": turn.question},
                {"role": "assistant", "content": turn.answer},
            ]
            cost = sum(self._tokens(m) for m in pair)
            if used + cost > self.budget_tokens:
                dropped_turns = len(turns) - len(kept) // 2
                break
            kept[:0] = pair
            used += cost
        prefix = system["content"]
        return PackedPrompt(
            messages=(system, *kept, ask),
            sources=tuple(chosen),
            prompt_tokens=used,
            prefix_tokens=self._tokens(system),
            prefix_key=hashlib.sha256(prefix.encode()).hexdigest()[:16],
            dropped_chunks=len(context) - len(chosen),
            dropped_turns=dropped_turns,
        )


def parse_citations(text: str, sources: Sequence[ScoredChunk]) -> tuple[SourceRef, ...]:
    """References for the ``[n]`` markers in ``text`` (unknown numbers are ignored).

    Args:
        text: The model's answer.
        sources: The prompt's sources, marker ``[1]`` first.

    Returns:
        Merged references in order of first citation.
    """
    refs: list[SourceRef] = []
    for match in _MARKER.finditer(text):
        for number in match.group(1).split(","):
            index = int(number) - 1
            if 0 <= index < len(sources):
                refs.extend(sources[index].chunk.refs)
    return merge_refs(refs)


def cited_sources(text: str, sources: Sequence[ScoredChunk]) -> tuple[int, ...]:
    """1-based source numbers cited in ``text``, in order of first citation."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        for number in match.group(1).split(","):
            if 1 <= int(number) <= len(sources):
                seen.setdefault(int(number), None)
    return tuple(seen)
