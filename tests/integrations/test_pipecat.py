"""The Pipecat processors in real Pipecat pipelines, with a real engine on the sample guide."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.frames.frames import (
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    TranscriptionFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair

from contextual_avatar import AsyncContextEngine, SourceRef
from contextual_avatar.integrations import CitedTurn, strip_citations
from contextual_avatar.integrations._spoken import MARKER
from contextual_avatar.integrations._turn import CONTEXT_HEADER
from contextual_avatar.integrations.pipecat import (
    CitationsFrame,
    CitedAnswerProcessor,
    CitedContextProcessor,
    last_user_text,
)

from .expect import children_price
from .pipecat_harness import Recorder, conversation, run_pipeline, wait_for

PAGE_2 = SourceRef("guide.pdf", page=2)
ADULT = "How much does an adult ticket cost?"


async def test_cited_answers_stream_as_llm_text_and_citations_travel_apart(
    engine: AsyncContextEngine,
):
    seen: list[CitedTurn] = []

    async def script(worker, recorder: Recorder) -> None:
        await worker.queue_frame(LLMContextFrame(conversation(ADULT)))
        await wait_for(recorder.ended)
        recorder.ended.clear()
        follow_up = conversation(ADULT, "Tickets cost 9 euros for adults.", "And for children?")
        await worker.queue_frame(LLMContextFrame(follow_up))
        await wait_for(recorder.ended)

    processor = CitedAnswerProcessor(engine, session_id="call-1", on_citations=seen.append)
    recorder = await run_pipeline([processor], script)

    first, second = recorder.spoken()
    assert "9 euros" in first
    assert children_price(second)  # the follow-up is understood from the session's history
    frames = recorder.of(CitationsFrame)
    assert [f.turn.spoken for f in frames] == [first, second]
    assert all(PAGE_2 in f.citations for f in frames)
    assert [t.question for t in seen] == [ADULT, "And for children?"]
    assert seen[1].answer.cache_hit  # answered from the session's cache
    for text in (first, second):
        assert "[" not in text and "guide.pdf" not in text  # nothing cited is spoken
    # The context frames were answered, not passed on to a TTS.
    assert not recorder.of(LLMContextFrame)


async def test_transcriptions_are_answered_in_a_pipeline_without_aggregators(
    engine: AsyncContextEngine,
):
    async def script(worker, recorder: Recorder) -> None:
        await worker.queue_frame(TranscriptionFrame("When do the guided tours start?", "u", "t"))
        await wait_for(recorder.ended)

    recorder = await run_pipeline([CitedAnswerProcessor(engine, session_id="call-2")], script)
    (reply,) = recorder.spoken()
    assert "11:00" in reply
    # The transcription goes on for transcript observers, ahead of the answer.
    kinds = [type(f).__name__ for f in recorder.frames]
    assert kinds.index("TranscriptionFrame") < kinds.index("LLMFullResponseStartFrame")


async def test_an_engine_error_ends_the_response_and_reaches_the_pipeline_as_an_error(
    engine: AsyncContextEngine,
):
    async def script(worker, recorder: Recorder) -> None:
        await worker.queue_frame(LLMContextFrame(conversation("tickets? " * 2000)))  # too long
        await wait_for(recorder.ended)
        recorder.ended.clear()
        await worker.queue_frame(LLMContextFrame(conversation(ADULT)))
        await wait_for(recorder.ended)

    recorder = await run_pipeline([CitedAnswerProcessor(engine, session_id="call-6")], script)
    refused, answered = recorder.spoken()
    assert refused == ""  # the response still ended, so a TTS or aggregator is not left waiting
    assert "9 euros" in answered  # and the pipeline answers the next turn
    (error,) = recorder.errors
    assert "contextual-avatar:" in error.error and "question" in error.error
    assert len(recorder.of(CitationsFrame)) == 1


async def test_cited_context_reaches_the_llm_through_pipecats_own_aggregator(
    engine: AsyncContextEngine,
):
    """user aggregator -> CitedContextProcessor -> (the LLM would be here)."""
    shared = LLMContext(messages=[{"role": "system", "content": "You are the museum's guide."}])
    pair = LLMContextAggregatorPair(shared)
    turns: list[CitedTurn] = []

    async def script(worker, recorder: Recorder) -> None:
        for question in (ADULT, "And for children?"):
            recorder.cited.clear()
            await worker.queue_frame(
                LLMMessagesAppendFrame([{"role": "user", "content": question}], run_llm=True)
            )
            await wait_for(recorder.cited)
            turns.append(recorder.of(CitationsFrame)[-1].turn)

    recorder = await run_pipeline(
        [pair.user(), CitedContextProcessor(engine, session_id="call-3")], script
    )
    grounded = [f.context.get_messages() for f in recorder.of(LLMContextFrame)]
    assert len(grounded) == 2
    for messages, question in zip(grounded, (ADULT, "And for children?"), strict=True):
        assert messages[0]["content"] == "You are the museum's guide."  # the host's prompt kept
        assert messages[-1] == {"role": "user", "content": question}
        assert messages[-2]["role"] == "system"
        assert messages[-2]["content"].startswith(CONTEXT_HEADER)
        assert "guide.pdf p. 2" in messages[-2]["content"]
    assert "Tickets cost 9 euros for adults." in grounded[0][-2]["content"]
    # The shared context is Pipecat's to keep: no source message was left in it.
    assert not any(CONTEXT_HEADER in str(m.get("content")) for m in shared.get_messages())
    assert [t.question for t in turns] == [ADULT, "And for children?"]
    assert PAGE_2 in turns[0].sources
    assert turns[0].spoken == ""  # the host's LLM answers, not the engine


async def test_a_context_without_a_user_turn_passes_unchanged(engine: AsyncContextEngine):
    context = LLMContext(messages=[{"role": "system", "content": "Greet the visitor."}])
    assert last_user_text(context) == ""

    async def script(worker, recorder: Recorder) -> None:
        await worker.queue_frame(LLMContextFrame(context))

    recorder = await run_pipeline([CitedContextProcessor(engine, session_id="call-4")], script)
    (frame,) = recorder.of(LLMContextFrame)
    assert frame.context is context
    assert not recorder.of(CitationsFrame)


async def test_two_calls_at_once_never_see_each_others_turns(engine: AsyncContextEngine):
    """Many callers: two pipelines on one engine, interleaved, each with its own session."""
    plans = {
        "caller-a": [ADULT, "And for children?"],
        "caller-b": ["How do I get there by tram?", "Is there a car park?"],
    }

    async def call(session: str) -> Recorder:
        async def script(worker, recorder: Recorder) -> None:
            said: list[str] = []
            for question in plans[session]:
                recorder.ended.clear()
                await worker.queue_frame(LLMContextFrame(conversation(*said, question)))
                await wait_for(recorder.ended)
                said += [question, recorder.spoken()[-1]]

        return await run_pipeline([CitedAnswerProcessor(engine, session_id=session)], script)

    a, b = await asyncio.gather(call("caller-a"), call("caller-b"))
    assert "9 euros" in a.spoken()[0] and children_price(a.spoken()[1])
    assert "tram line 4" in b.spoken()[0] and "Dock Street" in b.spoken()[1]
    for recorder, other in ((a, b), (b, a)):
        mine = recorder.of(CitationsFrame)
        assert {f.turn.session_id for f in mine} == {mine[0].turn.session_id}
        theirs = {f.turn.question for f in other.of(CitationsFrame)}
        assert not theirs & {f.turn.question for f in mine}
        for text in recorder.spoken():
            assert text not in other.spoken()
    for session, questions in plans.items():
        history = await engine.parts.history.recent(session)
        assert [t.question for t in history] == questions


@pytest.mark.slow
async def test_barge_in_cancels_the_answer_in_flight_and_the_engine_records_it(
    make_async_engine, local_routing
):
    """A real model streams the answer; an InterruptionFrame cuts it after the first words."""
    engine = await make_async_engine(routing=local_routing)
    turns: list[CitedTurn] = []

    async def script(worker, recorder: Recorder) -> None:
        await worker.queue_frame(LLMContextFrame(conversation("Tell me about the museum.")))
        await wait_for(recorder.first_text, 120)
        await worker.queue_frame(InterruptionFrame())  # the user started speaking
        await asyncio.sleep(0.5)  # anything still coming from the cut answer would land here
        recorder.ended.clear()
        await worker.queue_frame(LLMContextFrame(conversation(ADULT)))
        await wait_for(recorder.ended, 120)

    processor = CitedAnswerProcessor(engine, session_id="call-5", on_citations=turns.append)
    recorder = await run_pipeline([processor], script)

    assert len(recorder.of(LLMFullResponseStartFrame)) == 2
    assert recorder.ends == 1  # the cut answer never ended: it was cancelled
    assert [t.question for t in turns] == [ADULT]
    cut, answered = await engine.parts.history.recent("call-5")
    assert cut.question == "Tell me about the museum."
    assert cut.answer.endswith("[interrupted]")
    assert engine.ledger.totals("call-5").interrupted_turns == 1
    assert answered.question == ADULT
    # What was spoken of the finished answer is its text without citation markers.
    (spoken,) = recorder.spoken()
    assert spoken.strip() == strip_citations(turns[0].answer.text).strip()
    assert not MARKER.search(spoken)
