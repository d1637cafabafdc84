"""Contract suites for a host's router and responders: subclass, give one fixture, run pytest.

The engine relies on more than the method signatures: a router must be pure and
monotone, a responder's stream must end in exactly one Reply and stop promptly on a
barge-in. These classes state that as tests, so a host's own implementation is checked
the same way as the built-in ones::

    class TestMyRouter(SimilarityRouterContract):
        @pytest.fixture
        def router(self) -> SimilarityRouter:
            return MyRouter()

The tests are plain (synchronous) methods that run their async parts in
:func:`asyncio.run`, so no pytest async plugin is needed; a ``responder`` fixture must
therefore not bind itself to another event loop. Needs ``pytest`` and ``hypothesis``.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contextual_avatar.routing._responder import (
    Reply,
    Responder,
    StreamingResponder,
    stream_reply,
    takes_instructions,
)
from contextual_avatar.routing._router import SimilarityRouter
from contextual_avatar.types import (
    Chunk,
    RouteDecision,
    ScoredChunk,
    SourceRef,
    Span,
    Tier,
    Turn,
    merge_refs,
)

__all__ = ["ResponderContract", "SimilarityRouterContract", "contract_context"]

_T = TypeVar("_T")

_TEXTS = (
    "Welcome to the harbour tour. The tour lasts ninety minutes.",
    "Our guide today is named Margaret. She has worked here for twelve years.",
    "The lighthouse was built in 1874 and restored in 1990.",
    "Tickets cost 9 euros for adults. A family ticket costs 22 euros.",
)

# Hypothesis draws many contexts per test; a fixture built once per test is reused
# across them, which is right for a pure router. Every subclass runs the same method
# (a different executor); sharing its example database between them is harmless, since
# the examples are inputs only.
_PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)
_scores = st.lists(st.floats(min_value=-1.0, max_value=1.0, allow_nan=False), max_size=8)


def contract_context(scores: Sequence[float]) -> list[ScoredChunk]:
    """Context chunks with these similarity scores (fixed texts, paged and timed refs).

    Why: the router properties vary only the scores, so any change in the decision
    comes from the evidence, not from different text.
    """
    out: list[ScoredChunk] = []
    for i, score in enumerate(scores):
        text = _TEXTS[i % len(_TEXTS)]
        spans: tuple[Span, ...]
        if i % 2:
            # A transcript chunk: two subtitle cues, each a time range.
            cut = text.index(".") + 1
            t0 = 10.0 * i
            spans = (
                Span(0, cut, SourceRef("talk.vtt", start_s=t0, end_s=t0 + 4, speaker="Ana")),
                Span(cut, len(text), SourceRef("talk.vtt", start_s=t0 + 4, end_s=t0 + 9)),
            )
            doc = "talk"
        else:
            spans = (Span(0, len(text), SourceRef("guide.pdf", page=i + 1)),)
            doc = "guide"
        out.append(ScoredChunk(Chunk(f"{doc}:{i}", doc, i, text, spans, offset=100 * i), score))
    return out


def _raise_best(scores: Sequence[float], bump: float) -> list[float]:
    raised = list(scores)
    best = max(range(len(raised)), key=raised.__getitem__)
    raised[best] = min(1.0, raised[best] + bump)
    return raised


def _not_worse(before: RouteDecision, after: RouteDecision) -> bool:
    return not (before.tier is Tier.SMALL and after.tier is Tier.LARGE)


class SimilarityRouterContract:
    """What the engine relies on from a :class:`~contextual_avatar.routing.SimilarityRouter`.

    Subclass it in a ``Test*`` class and define a ``router`` fixture.
    """

    #: The question every check routes.
    question: ClassVar[str] = "How much does a family ticket cost?"
    #: Median milliseconds a warm ``route`` call may take (it runs on the event loop).
    max_route_ms: ClassVar[float] = 50.0

    def test_is_a_similarity_router(self, router: SimilarityRouter) -> None:
        """The object has the protocol's ``route`` method."""
        assert isinstance(router, SimilarityRouter)

    def test_routes_an_empty_context(self, router: SimilarityRouter) -> None:
        """A turn with nothing retrieved still gets a tier."""
        for hit in (False, True):
            decision = router.route(self.question, [], cache_hit=hit)
            assert isinstance(decision, RouteDecision)
            assert isinstance(decision.tier, Tier)

    def test_routes_a_context(self, router: SimilarityRouter) -> None:
        """A decision has a tier, and a model name only if it is a string."""
        decision = router.route(self.question, contract_context([0.8, 0.4, 0.1]))
        assert isinstance(decision, RouteDecision)
        assert isinstance(decision.tier, Tier)
        assert decision.model is None or isinstance(decision.model, str)
        assert isinstance(decision.reason, str)

    def test_is_fast(self, router: SimilarityRouter) -> None:
        """A warm call does not stall the event loop it runs on."""
        context = contract_context([0.7, 0.5, 0.2])
        router.route(self.question, context)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            router.route(self.question, context)
            times.append((time.perf_counter() - start) * 1000)
        assert statistics.median(times) <= self.max_route_ms

    @_PROPERTY
    @given(scores=_scores, hit=st.booleans())
    def test_is_deterministic(
        self, router: SimilarityRouter, scores: list[float], hit: bool
    ) -> None:
        """The same turn gets the same tier and model every time."""
        first = router.route(self.question, contract_context(scores), cache_hit=hit)
        again = router.route(self.question, contract_context(scores), cache_hit=hit)
        assert (first.tier, first.model) == (again.tier, again.model)

    @_PROPERTY
    @given(scores=_scores)
    def test_a_cache_hit_never_routes_large(
        self, router: SimilarityRouter, scores: list[float]
    ) -> None:
        """A cache hit is more evidence: it never moves a turn from small to large."""
        context = contract_context(scores)
        assert _not_worse(
            router.route(self.question, context, cache_hit=False),
            router.route(self.question, context, cache_hit=True),
        )

    @_PROPERTY
    @given(
        scores=_scores.filter(bool),
        bump=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
        hit=st.booleans(),
    )
    def test_a_higher_top_score_never_routes_large(
        self, router: SimilarityRouter, scores: list[float], bump: float, hit: bool
    ) -> None:
        """Raising the best chunk's score never moves a turn from small to large."""
        before = router.route(self.question, contract_context(scores), cache_hit=hit)
        raised = contract_context(_raise_best(scores, bump))
        assert _not_worse(before, router.route(self.question, raised, cache_hit=hit))


def _run(make: Callable[[], Awaitable[_T]]) -> _T:
    async def main() -> _T:
        return await make()

    return asyncio.run(main())


def _squash(text: str) -> str:
    return " ".join(text.split())


def _covered(ref: SourceRef, allowed: Sequence[SourceRef]) -> bool:
    """Whether ``ref`` is one of ``allowed``, or a time range inside one of them."""
    for a in allowed:
        if (a.source, a.page, a.speaker) != (ref.source, ref.page, ref.speaker):
            continue
        if ref.start_s is None:
            if a.start_s is None:
                return True
            continue
        if a.start_s is None:
            continue
        a_end = a.end_s if a.end_s is not None else a.start_s
        r_end = ref.end_s if ref.end_s is not None else ref.start_s
        if a.start_s - 1e-6 <= ref.start_s and r_end <= a_end + 1e-6:
            return True
    return False


class ResponderContract:
    """What the engine relies on from a :class:`~contextual_avatar.routing.Responder`.

    Subclass it in a ``Test*`` class and define a ``responder`` fixture. Override
    ``question``, ``context`` or ``history`` to ask about your own material.
    """

    question: ClassVar[str] = "Who is the guide, and how long is the tour?"
    context: ClassVar[Sequence[ScoredChunk]] = tuple(contract_context([0.72, 0.55, 0.41, 0.3]))
    history: ClassVar[Sequence[Turn]] = (
        Turn("What is this tour?", "Welcome to the harbour tour.", ("guide:0",)),
    )
    #: Seconds a close or a cancellation may take to finish.
    stop_timeout_s: ClassVar[float] = 10.0
    #: Host instructions (a platform's system prompt) that try to pull in a citation.
    instructions: ClassVar[str] = (
        "You are Margaret, a cheerful harbour guide. Always end with 'see source [9], page 99'."
    )

    def _check_reply(self, reply: object, context: Sequence[ScoredChunk]) -> Reply:
        assert isinstance(reply, Reply)
        assert isinstance(reply.text, str)
        assert isinstance(reply.model, str)
        assert reply.tokens.prompt >= 0
        assert reply.tokens.completion >= 0
        assert reply.cached_prompt_tokens >= 0
        assert math.isfinite(reply.cost_usd)
        assert reply.cost_usd >= 0
        allowed = merge_refs([s.ref for c in context for s in c.chunk.spans])
        stray = [r for r in reply.citations if not _covered(r, allowed)]
        assert not stray, f"citations not in the context: {stray}"
        return reply

    def test_is_a_responder(self, responder: Responder) -> None:
        """The object has the protocol's ``model`` and ``respond``."""
        assert isinstance(responder, Responder)
        assert isinstance(responder.model, str)
        assert responder.model

    def test_respond_cites_only_the_context(self, responder: Responder) -> None:
        """A reply cites references from its context (or nothing) and counts sanely."""
        reply = _run(
            lambda: responder.respond(self.question, context=self.context, history=self.history)
        )
        self._check_reply(reply, self.context)

    def test_respond_without_context_cites_nothing(self, responder: Responder) -> None:
        """Nothing retrieved: still a Reply, and no citations to invent."""
        reply = _run(lambda: responder.respond(self.question, context=(), history=()))
        assert not self._check_reply(reply, ()).citations

    def test_stream_is_deltas_then_one_reply(self, responder: Responder) -> None:
        """Text deltas, then exactly one Reply, last; the deltas spell its text."""

        async def collect() -> list[str | Reply]:
            stream = stream_reply(
                responder, self.question, context=self.context, history=self.history
            )
            async with aclosing(stream):
                return [item async for item in stream]

        *deltas, last = _run(collect)
        assert all(isinstance(d, str) for d in deltas)
        reply = self._check_reply(last, self.context)
        assert _squash("".join(str(d) for d in deltas)) == _squash(reply.text)

    def test_instructions_are_taken_by_both_faces_or_neither(self, responder: Responder) -> None:
        """A responder that takes host instructions takes them when streaming too.

        Why: the engine streams; instructions a ``stream`` left out would be silently lost.
        """
        if isinstance(responder, StreamingResponder):
            assert takes_instructions(responder, "respond") == takes_instructions(
                responder, "stream"
            ), "declare `instructions` on both respond and stream, or on neither"

    def test_host_instructions_keep_the_contract(self, responder: Responder) -> None:
        """With host instructions: deltas, then one Reply citing only the context."""

        async def collect() -> list[str | Reply]:
            stream = stream_reply(
                responder,
                self.question,
                context=self.context,
                history=self.history,
                instructions=self.instructions,
            )
            async with aclosing(stream):
                return [item async for item in stream]

        *deltas, last = _run(collect)
        assert all(isinstance(d, str) for d in deltas)
        reply = self._check_reply(last, self.context)
        assert _squash("".join(str(d) for d in deltas)) == _squash(reply.text)
        if takes_instructions(responder, "respond"):
            direct = _run(
                lambda: responder.respond(  # type: ignore[call-arg]
                    self.question,
                    context=self.context,
                    history=self.history,
                    instructions=self.instructions,
                )
            )
            self._check_reply(direct, self.context)

    def test_closing_the_stream_stops_it(self, responder: Responder) -> None:
        """``aclose`` after the first delta (a barge-in) returns promptly, without error."""

        async def barge_in() -> None:
            stream = stream_reply(
                responder, self.question, context=self.context, history=self.history
            )
            first = await anext(stream)
            async with asyncio.timeout(self.stop_timeout_s):
                await stream.aclose()
            assert isinstance(first, str | Reply)
            with pytest.raises(StopAsyncIteration):
                await anext(stream)

        _run(barge_in)

    def test_cancelling_the_listener_mid_stream_propagates(self, responder: Responder) -> None:
        """Cancelling the task reading the stream ends it promptly with CancelledError."""
        _run(lambda: self._cancel_after_first_delta(responder, yield_between_items=True))

    def test_cancelling_while_awaiting_a_delta_propagates(self, responder: Responder) -> None:
        """A cancel landing inside the responder's own await is not swallowed."""
        _run(lambda: self._cancel_after_first_delta(responder, yield_between_items=False))

    async def _cancel_after_first_delta(
        self, responder: Responder, *, yield_between_items: bool
    ) -> None:
        first = asyncio.Event()

        async def listen() -> None:
            stream = stream_reply(
                responder, self.question, context=self.context, history=self.history
            )
            async with aclosing(stream):
                async for _ in stream:
                    first.set()
                    if yield_between_items:
                        await asyncio.sleep(0)  # e.g. handing the delta to TTS

        task = asyncio.create_task(listen())
        await first.wait()
        cancelled = task.cancel()
        done, _ = await asyncio.wait({task}, timeout=self.stop_timeout_s)
        assert done, f"the stream did not stop within {self.stop_timeout_s} s"
        if not cancelled:
            # The whole answer arrived without the stream ever waiting: nothing to cancel.
            task.result()
            return
        assert task.cancelled(), f"CancelledError was swallowed: {task.exception()!r}"
