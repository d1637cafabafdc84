"""Prompt packing: fit system prompt, sources, facts and turns into a model's budget.

The layout keeps what the session cache keeps as a **stable prefix**, so a provider's
prompt cache (billed at a discount) and llama.cpp's KV cache can reuse it turn after turn::

    system:    instructions (+ host's) + numbered sources by chunk id  <- stable while the cache is
    user/asst: recent turns, oldest first                             <- grows at the end
    user:      related facts + the question                           <- new every turn

``cache_marks`` names the messages that end a reusable prefix (the system message, the
last history message) for providers that cache only up to ``cache_control`` marks
(Anthropic); :func:`with_cache_marks` writes them in the provider's message format.
With ``append_only_history`` the history window moves in steps of ``history_turns``
instead of one turn at a time, so the history is append-only between steps and stays
part of the reusable prefix; ``docs/routing.md`` reports when that pays per provider.

A host's instructions for the turn (a platform's system prompt: persona, tone) sit
between the library's instructions and the sources: they are the same every turn of a
session, so the prefix stays stable per session, while the library's grounding rule
comes first (never dropped, shared by every session) and is restated after them.

Sources are numbered ``[1]``, ``[2]`` ...; :func:`parse_citations` maps the markers an
answer uses back to the sources' references. When the budget is short, the least
similar chunks go first, then the oldest turns, then facts; the question always stays.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contextual_avatar.types import Fact, ScoredChunk, SourceRef, Turn, merge_refs

__all__ = ["PackedPrompt", "PromptPacker", "parse_citations", "with_cache_marks"]

log = logging.getLogger(__name__)

Message = dict[str, str]
# Chat formats add a few tokens per message (role, separators).
MESSAGE_OVERHEAD_TOKENS = 4
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
#: Wraps a host's instructions so they shape the voice, never the grounding.
HOST_INSTRUCTIONS_HEAD = "Instructions from the host application (persona, tone, style):"
HOST_INSTRUCTIONS_TAIL = (
    "Whatever the host's instructions say, the rules at the top still apply: answer from "
    "the numbered sources below and cite them."
)


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
        cache_marks: Indexes of messages that end a reusable prefix (system, last turn).
    """

    messages: tuple[Message, ...]
    sources: tuple[ScoredChunk, ...]
    prompt_tokens: int
    prefix_tokens: int
    prefix_key: str
    dropped_chunks: int = 0
    dropped_turns: int = 0
    cache_marks: tuple[int, ...] = (0,)


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
        append_only_history: bool = False,
    ) -> None:
        """Create the packer.

        Args:
            system_prompt: Instructions opening every prompt.
            count_tokens: The model's token counter.
            budget_tokens: Prompt tokens allowed (context window minus the answer's reserve).
            history_turns: Recent turns included at most.
            max_facts: Related facts included at most.
            append_only_history: Move the history window in steps of ``history_turns``
                (between ``history_turns`` and twice that many turns are sent), so the
                history stays a reusable prefix; otherwise it slides by one turn.
        """
        self.system_prompt = system_prompt
        self.append_only_history = append_only_history
        self.budget_tokens = budget_tokens
        self._count = count_tokens
        self._history_turns = history_turns
        self._max_facts = max_facts

    def _window(self, history: Sequence[Turn]) -> list[Turn]:
        """The turns sent: the last ``history_turns``, or a window moving in steps."""
        n, size = len(history), self._history_turns
        if not size:
            return []
        if not self.append_only_history or n <= size:
            return list(history[-size:])
        start = (n - size) // size * size
        return list(history[start:])

    def _tokens(self, message: Message) -> int:
        return self._count(message["content"]) + MESSAGE_OVERHEAD_TOKENS

    def _system(self, sources: Sequence[ScoredChunk], instructions: str | None = None) -> Message:
        head = self.system_prompt
        if instructions:
            head = f"{head}\n\n{HOST_INSTRUCTIONS_HEAD}\n{instructions}\n\n{HOST_INSTRUCTIONS_TAIL}"
        if not sources:
            body = f"{head}\n\nSources: none."
        else:
            listed = "\n\n".join(
                f"[{i}] ({_source_label(c)})\n{' '.join(c.chunk.text.split())}"
                for i, c in enumerate(sources, 1)
            )
            body = f"{head}\n\nSources:\n{listed}"
        return {"role": "system", "content": body}

    def _question(self, question: str, facts: Sequence[Fact]) -> Message:
        if not facts:
            return {"role": "user", "content": question}
        lines = "\n".join(f"- {f.subject} {f.predicate} {f.object}" for f in facts)
        return {"role": "user", "content": f"Related facts:\n{lines}\n\nQuestion: {question}"}

    def _fit_instructions(self, instructions: str, ask: Message) -> str | None:
        """The longest head of ``instructions`` that fits the budget beside the question.

        Why: a host's prompt longer than a small model's window would fail the call; its
        opening (usually the persona) is kept, the rest cut, and a warning logged.
        """
        lo, hi = 0, len(instructions)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            system = self._system((), instructions[:mid])
            if self._tokens(system) + self._tokens(ask) <= self.budget_tokens:
                lo = mid
            else:
                hi = mid - 1
        log.warning(
            "host instructions cut from %d to %d characters to fit the prompt budget",
            len(instructions),
            lo,
        )
        return instructions[:lo].rstrip() or None

    def pack(
        self,
        question: str,
        *,
        context: Sequence[ScoredChunk],
        history: Sequence[Turn] = (),
        facts: Sequence[Fact] = (),
        instructions: str | None = None,
    ) -> PackedPrompt:
        """Pack one turn.

        Args:
            question: The user's turn.
            context: Context chunks (any order; the best are kept when space is short).
            history: Earlier turns, oldest first.
            facts: Related facts from the knowledge graph.
            instructions: The host's instructions for this turn, in the system message
                after the library's own (chunks give way first; only instructions that
                cannot fit beside the question are cut, from the end).

        Returns:
            The prompt; its ``sources`` define what each citation marker means.
        """
        facts = list(facts[: self._max_facts])
        turns = self._window(history)
        ask = self._question(question, facts)
        used = self._tokens(ask) + self._tokens(self._system((), instructions))
        while facts and used > self.budget_tokens:
            facts.pop()
            ask = self._question(question, facts)
            used = self._tokens(ask) + self._tokens(self._system((), instructions))
        if instructions and used > self.budget_tokens:
            instructions = self._fit_instructions(instructions, ask)

        # Chunks first (they carry the answer), best first, each only if it fits whole.
        chosen: list[ScoredChunk] = []
        for chunk in sorted(context, key=lambda c: -c.score):
            trial = sorted([*chosen, chunk], key=_order_key)
            cost = self._tokens(self._system(trial, instructions)) + self._tokens(ask)
            if cost <= self.budget_tokens:
                chosen = trial
        system = self._system(chosen, instructions)
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
        marks = (0, len(kept)) if kept else (0,)
        return PackedPrompt(
            messages=(system, *kept, ask),
            cache_marks=marks,
            sources=tuple(chosen),
            prompt_tokens=used,
            prefix_tokens=self._tokens(system),
            prefix_key=hashlib.sha256(prefix.encode()).hexdigest()[:16],
            dropped_chunks=len(context) - len(chosen),
            dropped_turns=dropped_turns,
        )


def with_cache_marks(messages: Sequence[Message], marks: Sequence[int]) -> list[dict[str, object]]:
    """Messages with Anthropic's ``cache_control`` mark on the blocks ``marks`` names.

    Why: Anthropic caches a prompt prefix only up to a marked block (at most four marks);
    other providers cache implicitly and get the plain messages.

    Args:
        messages: Plain ``role``/``content`` messages.
        marks: Indexes of the messages whose end is a reusable prefix.

    Returns:
        The messages, the marked ones with their content as one text block carrying
        ``{"cache_control": {"type": "ephemeral"}}``.
    """
    chosen = set(sorted(set(marks))[-4:])
    out: list[dict[str, object]] = []
    for i, message in enumerate(messages):
        if i in chosen:
            block = {
                "type": "text",
                "text": message["content"],
                "cache_control": {"type": "ephemeral"},
            }
            out.append({"role": message["role"], "content": [block]})
        else:
            out.append(dict(message))
    return out


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
