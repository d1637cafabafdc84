"""Runs real Pipecat pipelines (PipelineWorker + WorkerRunner) and records what comes out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from pipecat.frames.frames import (
    EndFrame,
    Frame,
    LLMFullResponseEndFrame,
    LLMTextFrame,
    StartFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from contextual_avatar.integrations.pipecat import CitationsFrame


class Recorder(FrameProcessor):
    """The pipeline's end: keeps every downstream frame, and says when text and ends arrive.

    Direct mode (as Pipecat's own test sink): no queue an interruption could drop
    frames from, so the record is exactly what was pushed.
    """

    def __init__(self) -> None:
        super().__init__(enable_direct_mode=True)
        self.frames: list[Frame] = []
        self.first_text = asyncio.Event()
        self.ends = 0
        self.ended = asyncio.Event()
        self.cited = asyncio.Event()
        self.errors: list[Frame] = []  # ErrorFrames that reached the pipeline's start

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction is FrameDirection.DOWNSTREAM and not isinstance(frame, StartFrame):
            self.frames.append(frame)
            if isinstance(frame, LLMTextFrame):
                self.first_text.set()
            elif isinstance(frame, CitationsFrame):
                self.cited.set()
            elif isinstance(frame, LLMFullResponseEndFrame):
                self.ends += 1
                self.ended.set()
        await self.push_frame(frame, direction)

    def of(self, kind: type[Frame]) -> list[Frame]:
        return [f for f in self.frames if isinstance(f, kind)]

    def spoken(self) -> list[str]:
        """The text of each response, in order (what a TTS would have been given)."""
        replies: list[str] = []
        current: list[str] | None = None
        for frame in self.frames:
            name = type(frame).__name__
            if name == "LLMFullResponseStartFrame":
                current = []
            elif isinstance(frame, LLMTextFrame) and current is not None:
                current.append(frame.text)
            elif isinstance(frame, LLMFullResponseEndFrame) and current is not None:
                replies.append("".join(current))
                current = None
        return replies


Script = Callable[[PipelineWorker, Recorder], Awaitable[None]]


async def run_pipeline(
    processors: Sequence[FrameProcessor], script: Script, *, timeout_s: float = 120
) -> Recorder:
    """Run ``processors`` + a :class:`Recorder` as a real pipeline; ``script`` drives it."""
    recorder = Recorder()
    worker = PipelineWorker(
        Pipeline([*processors, recorder]), cancel_on_idle_timeout=False, enable_rtvi=False
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker: PipelineWorker, _frame: Frame) -> None:
        started.set()

    @worker.event_handler("on_pipeline_error")
    async def _error(_worker: PipelineWorker, frame: Frame) -> None:
        recorder.errors.append(frame)

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(started.wait(), timeout_s)
        await asyncio.wait_for(script(worker, recorder), timeout_s)
        await worker.queue_frame(EndFrame())
        await asyncio.wait_for(running, timeout_s)
    finally:
        if not running.done():
            await worker.cancel()
            await running
    return recorder


def conversation(*turns: str, system: str = "You are the museum's guide.") -> LLMContext:
    """A context as Pipecat's aggregators leave it: user and assistant turns alternating."""
    messages: list = [{"role": "system", "content": system}]
    for number, text in enumerate(turns):
        messages.append({"role": "user" if number % 2 == 0 else "assistant", "content": text})
    return LLMContext(messages=messages)


async def wait_for(event: asyncio.Event, timeout_s: float = 30) -> None:
    await asyncio.wait_for(event.wait(), timeout_s)
