"""The engine inside a real Pipecat pipeline: spoken questions in, cited spoken answers out.

Run:  .venv/bin/python examples/voice_pipeline.py [--speed 1.0]

Everything runs offline on real audio. A caller's questions are recorded with espeak-ng;
the pipeline is

    user audio -> WhisperSTT -> CitedAnswerProcessor -> EspeakTTS -> OpusSender
                  (whisper     (contextual_avatar.     (espeak-ng  (Opus packets from
                   tiny.en)     integrations.pipecat:   speech)     contextual_avatar.codecs,
                                text frames; citations              played out in real time)
                                to a callback, unspoken)

and the latency of each stage is printed per turn. In the second turn the caller barges in
while the answer is being spoken: Pipecat's InterruptionFrame cancels the answer (the
engine's stream if it is still being written, which the engine records as interrupted, and
the speech not yet played), and the caller's new question is answered. ``--speed`` plays
audio faster than real time (for tests).
Needs the whisper, codecs and examples extras and espeak-ng (scripts/system-deps.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from contextual_avatar import AsyncContextEngine, EngineConfig
from contextual_avatar.codecs import OpusEncoder
from contextual_avatar.ingest import TranscriptionConfig, load_media
from contextual_avatar.integrations import CitedTurn
from contextual_avatar.integrations.pipecat import CitedAnswerProcessor

#: This example's own data folder (CONTEXTUAL_AVATAR_DATA_DIR overrides it), so it does not
#: share the per-user index with other applications.
DATA_DIR = Path(__file__).parent / ".data" / "voice_pipeline"

GUIDE = Path(__file__).parent / "data" / "guide.pdf"
SESSION = "caller-1"
QUESTIONS = [
    "How much does an adult ticket cost?",
    "What are the highlights of the museum?",
    "And when do the guided tours start?",  # spoken over the second answer: a barge-in
]
MIC_RATE = 16_000
CALLER_VOICE = ["-v", "en-us+f2", "-s", "150"]
AVATAR_VOICE = ["-v", "en-us", "-s", "165"]
INTERRUPT_AFTER_S = 1.5  # of the second answer played before the caller barges in
CHUNK_MS = 20
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def espeak(
    text: str, *, voice: list[str] = AVATAR_VOICE, rate: int | None = None
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng: int16 mono samples, resampled to ``rate``."""
    wav = subprocess.run(
        ["espeak-ng", *voice, "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        source_rate = w.getframerate()
    if rate is None or rate == source_rate:
        return samples, source_rate
    positions = np.arange(0, len(samples), source_rate / rate)
    resampled = np.interp(positions, np.arange(len(samples)), samples.astype(np.float32))
    return resampled.astype(np.int16), rate


@dataclass
class Turn:
    """What one turn measured (seconds on the loop's clock)."""

    question: str = ""
    heard: str = ""
    answer: str = ""
    citations: list[str] = field(default_factory=list)
    route: str = ""
    speech_end: float = 0.0
    transcribed: float = 0.0
    first_delta: float = 0.0
    answered: float = 0.0
    first_audio: float = 0.0
    first_packet: float = 0.0
    audio_s: float = 0.0
    played_s: float = 0.0
    packets: int = 0
    opus_bytes: int = 0
    encode_ms: float = 0.0
    interrupted: bool = False
    stream_cancelled: bool = False


class Call:
    """Shared state of the demo call: the turns and their events."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.first_packet = asyncio.Event()
        self.spoken = asyncio.Event()
        self.interruption_seen = asyncio.Event()
        self.played_enough = asyncio.Event()

    @property
    def turn(self) -> Turn:
        return self.turns[-1]

    def answered(self, cited: CitedTurn) -> None:
        """The answer processor's callback: the finished answer and its sources (not spoken)."""
        turn = self.turn
        turn.answered = time.perf_counter()
        turn.answer = cited.answer.text
        turn.citations = [str(c) for c in cited.citations]
        turn.route = f"{cited.answer.route.tier.value} tier ({cited.answer.route.model})"

    def next_turn(self, question: str) -> None:
        self.turns.append(Turn(question=question))
        self.first_packet.clear()
        self.spoken.clear()
        self.played_enough.clear()


class WhisperSTT(FrameProcessor):
    """Transcribes each user utterance with the engine's whisper ingest path."""

    def __init__(self, call: Call, config: TranscriptionConfig) -> None:
        super().__init__()
        self._call = call
        self._config = config
        self._audio: list[bytes] = []
        self._workdir = Path(tempfile.mkdtemp(prefix="voice-stt-"))

    def _transcribe(self, pcm: bytes) -> str:
        path = self._workdir / f"utterance-{len(self._call.turns)}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(MIC_RATE)
            w.writeframes(pcm)
        return " ".join(s.text for s in load_media(path, config=self._config)).strip()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, UserStartedSpeakingFrame):
            self._audio = []
        elif isinstance(frame, InputAudioRawFrame):
            self._audio.append(frame.audio)
            return  # consumed: the rest of the pipeline never sees raw mic audio
        elif isinstance(frame, UserStoppedSpeakingFrame):
            turn = self._call.turn
            turn.speech_end = time.perf_counter()
            text = await asyncio.to_thread(self._transcribe, b"".join(self._audio))
            turn.transcribed = time.perf_counter()
            turn.heard = text
            await self.push_frame(frame, direction)
            await self.push_frame(TranscriptionFrame(text, SESSION, time.strftime("%H:%M:%S")))
            return
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        shutil.rmtree(self._workdir, ignore_errors=True)


class EspeakTTS(FrameProcessor):
    """Speaks streamed text sentence by sentence with espeak-ng."""

    def __init__(self, call: Call, *, rate: int) -> None:
        super().__init__()
        self._call = call
        self._rate = rate
        self._text = ""

    async def _speak(self, text: str) -> None:
        samples, rate = await asyncio.to_thread(espeak, text, rate=self._rate)
        turn = self._call.turn
        turn.first_audio = turn.first_audio or time.perf_counter()
        turn.audio_s += len(samples) / rate
        step = rate * CHUNK_MS // 1000
        for start in range(0, len(samples), step):
            chunk = samples[start : start + step].tobytes()
            await self.push_frame(TTSAudioRawFrame(chunk, rate, 1))

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            self._text = ""
            await self.push_frame(frame, direction)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._text = ""
            await self.push_frame(TTSStartedFrame())
        elif isinstance(frame, LLMTextFrame):
            turn = self._call.turn
            turn.first_delta = turn.first_delta or time.perf_counter()
            self._text += frame.text
            *sentences, self._text = SENTENCE_END.split(self._text)
            for sentence in sentences:
                await self._speak(sentence)
        elif isinstance(frame, LLMFullResponseEndFrame):
            if self._text.strip():
                await self._speak(self._text.strip())
            self._text = ""
            await self.push_frame(TTSStoppedFrame())
        else:
            await self.push_frame(frame, direction)


class OpusSender(FrameProcessor):
    """The call's output: encodes speech to Opus and plays it out in real time.

    Pacing at the audio's own rate is what a transport does; it is also why an
    interruption finds speech not yet played, which Pipecat then drops.
    """

    def __init__(self, call: Call, *, rate: int, speed: float) -> None:
        super().__init__()
        self._call = call
        self._encoder = OpusEncoder(bitrate=24_000, input_rate=rate)
        self._speed = speed
        self._clock: float | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        turn = self._call.turn if self._call.turns else None
        if isinstance(frame, TTSAudioRawFrame) and turn is not None:
            samples = np.frombuffer(frame.audio, dtype=np.int16)
            started = time.perf_counter()
            packets = self._encoder.encode(samples)
            turn.encode_ms += (time.perf_counter() - started) * 1000
            turn.packets += len(packets)
            turn.opus_bytes += sum(p.size for p in packets)
            if packets and not turn.first_packet:
                turn.first_packet = time.perf_counter()
                self._call.first_packet.set()
            duration = len(samples) / frame.sample_rate
            now = time.perf_counter()
            self._clock = max(self._clock or now, now) + duration / self._speed
            await asyncio.sleep(self._clock - now)  # play out in (scaled) real time
            turn.played_s += duration
            if turn.played_s >= INTERRUPT_AFTER_S:
                self._call.played_enough.set()
            return
        if isinstance(frame, InterruptionFrame):
            self._clock = None  # whatever was queued to play has been dropped by Pipecat
            self._call.interruption_seen.set()
        elif isinstance(frame, TTSStoppedFrame):
            self._call.spoken.set()
        await self.push_frame(frame, direction)

    async def cleanup(self) -> None:
        await super().cleanup()
        self._encoder.close()


def user_speaks(text: str) -> list[Frame]:
    """The frames a transport would produce for the caller saying ``text``."""
    samples, _ = espeak(text, voice=CALLER_VOICE, rate=MIC_RATE)
    step = MIC_RATE * CHUNK_MS // 1000
    audio: list[Frame] = [
        InputAudioRawFrame(samples[i : i + step].tobytes(), MIC_RATE, 1)
        for i in range(0, len(samples), step)
    ]
    return [UserStartedSpeakingFrame(), *audio, UserStoppedSpeakingFrame()]


def report(turn: Turn, number: int) -> None:
    ms = lambda a, b: f"{(b - a) * 1000:7.0f} ms" if a and b else "      - ms"  # noqa: E731
    print(f"\nturn {number}: caller said: {turn.question!r}")
    print(f"  heard (whisper):   {turn.heard!r}")
    print(f"  answer ({turn.route}): {turn.answer!r}")
    for ref in turn.citations:
        print(f"    source: {ref}")
    print("  latency per stage:")
    print(f"    stt (end of speech -> transcript)    {ms(turn.speech_end, turn.transcribed)}")
    print(f"    engine (transcript -> first text)     {ms(turn.transcribed, turn.first_delta)}")
    print(f"    engine (transcript -> cited answer)   {ms(turn.transcribed, turn.answered)}")
    print(f"    tts (first text -> first audio)       {ms(turn.first_delta, turn.first_audio)}")
    print(f"    opus (first audio -> first packet)    {ms(turn.first_audio, turn.first_packet)}")
    print(f"    end to end (speech end -> packet)     {ms(turn.speech_end, turn.first_packet)}")
    kbps = turn.opus_bytes * 8 / turn.played_s / 1000 if turn.played_s else 0.0
    print(
        f"  opus: {turn.packets} packets, {turn.opus_bytes} bytes, {kbps:.1f} kb/s, "
        f"encode {turn.encode_ms:.1f} ms for {turn.played_s:.1f} s of speech played"
    )
    if turn.interrupted:
        print(
            f"  INTERRUPTED by the caller: {turn.played_s:.1f} s of {turn.audio_s:.1f} s "
            "synthesised speech played, the rest dropped; the engine's answer stream was "
            + ("cancelled mid-answer" if turn.stream_cancelled else "already complete")
        )


async def run(speed: float) -> list[Turn]:
    config = EngineConfig.from_env(
        default_data_dir=Path(__file__).parent / ".data" / "voice_pipeline"
    )
    call = Call()
    tts_rate = 22_050
    stt_config = config.transcription.model_copy(update={"cache_transcripts": False})
    async with AsyncContextEngine(config) as engine:
        report_ = await engine.ingest(GUIDE)
        print(f"{GUIDE.name}: {'already indexed' if report_.unchanged else 'indexed'}")
        # Load whisper and the embedder before the call, as a service would at start-up.
        await engine.forget(SESSION)
        warm = Path(tempfile.mkdtemp(prefix="voice-warm-")) / "hello.wav"
        samples, _ = espeak("Hello.", voice=CALLER_VOICE, rate=MIC_RATE)
        with wave.open(str(warm), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(MIC_RATE)
            w.writeframes(samples.tobytes())
        await asyncio.to_thread(load_media, warm, config=stt_config)
        shutil.rmtree(warm.parent, ignore_errors=True)
        await engine.ask("warm-up", "opening hours")
        await engine.forget("warm-up")

        pipeline = Pipeline(
            [
                WhisperSTT(call, stt_config),
                CitedAnswerProcessor(engine, session_id=SESSION, on_citations=call.answered),
                EspeakTTS(call, rate=tts_rate),
                OpusSender(call, rate=tts_rate, speed=speed),
            ]
        )
        task = PipelineWorker(pipeline, idle_timeout_secs=None, enable_rtvi=False)
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(task)
        running = asyncio.create_task(runner.run())

        # Turn 1: a question, answered in full.
        call.next_turn(QUESTIONS[0])
        await task.queue_frames(user_speaks(QUESTIONS[0]))
        await call.spoken.wait()

        # Turn 2: the caller interrupts once the answer starts playing.
        call.next_turn(QUESTIONS[1])
        await task.queue_frames(user_speaks(QUESTIONS[1]))
        await call.played_enough.wait()
        call.turn.interrupted = True
        # The caller starts speaking: a transport's VAD sends an InterruptionFrame, which
        # cancels every processor's work in flight and drops the queued speech.
        await task.queue_frame(InterruptionFrame())
        await call.interruption_seen.wait()
        # No finished answer reached the callback: the engine's stream was cut mid-answer.
        call.turn.stream_cancelled = not call.turn.answered
        call.next_turn(QUESTIONS[2])
        await task.queue_frames(user_speaks(QUESTIONS[2]))
        await call.spoken.wait()

        await task.queue_frame(EndFrame())
        await running
    for number, turn in enumerate(call.turns, start=1):
        report(turn, number)
    return call.turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=1.0, help="playback speed (1 = real time)")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: run scripts/system-deps.sh")
    asyncio.run(run(args.speed))


if __name__ == "__main__":
    main()
