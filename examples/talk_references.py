"""Answer questions from a recorded talk, citing where in the recording it was said.

Run:  .venv/bin/python examples/talk_references.py [talk.mp4]

Without an argument it makes a short talk first: espeak-ng speaks a few sentences and
PyAV muxes them with a plain video track into talk.mp4 (H.264 + AAC). The engine decodes
it, transcribes it offline with the bundled whisper tiny.en, and every answer cites a
time range such as ``talk.mp4 00:03-00:05``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from contextual_avatar import ContextEngine, EngineConfig

#: This example's own data folder (CONTEXTUAL_AVATAR_DATA_DIR overrides it), so it does not
#: share the per-user index with other applications.
DATA_DIR = Path(__file__).parent / ".data" / "talk_references"

SENTENCES = [
    "Welcome to the city museum.",
    "Our guide today is named Margaret.",
    "The tour starts at nine in the morning and lasts two hours.",
    "Tickets cost twelve euros, and children under ten go free.",
]
QUESTIONS = [
    "What is the name of the guide?",
    "How long does the tour last?",
    "How much are the tickets?",
]
RATE = 16_000


def speak(text: str) -> np.ndarray:
    """espeak-ng speech as 16 kHz mono float32."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(
            ["espeak-ng", "-v", "en-us+f2", "-s", "150", "-w", tmp.name, text], check=True
        )
        with av.open(tmp.name) as wav:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            parts = [
                f.to_ndarray().reshape(-1)
                for fr in wav.decode(audio=0)
                for f in resampler.resample(fr)
            ]
    return np.concatenate(parts)


def make_talk(path: Path) -> Path:
    """Write an MP4 with a gradient video and the sentences spoken one second apart."""
    pause = np.zeros(RATE, dtype=np.float32)
    audio = np.concatenate([x for s in SENTENCES for x in (pause, speak(s))] + [pause])
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        sound = out.add_stream("aac", rate=44_100)
        sound.layout = "mono"
        for i in range(int(audio.size / RATE * 10)):
            img = np.full((180, 320, 3), (40 + i) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for start in range(0, pcm.size, 1024):
            frame = av.AudioFrame.from_ndarray(
                pcm[None, start : start + 1024], format="s16", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return path


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="talk-"))
    if len(sys.argv) > 1:
        talk = Path(sys.argv[1])
    else:
        if shutil.which("espeak-ng") is None:
            sys.exit("espeak-ng is not installed: pass a recording, or run scripts/system-deps.sh")
        talk = make_talk(workdir / "talk.mp4")
    with ContextEngine(EngineConfig.from_env(default_data_dir=DATA_DIR)) as engine:
        report = engine.ingest(
            talk, progress=lambda stage, done, total: print(f"  {stage}: {done:.0f}/{total:.0f}")
        )
        print(f"ingested {talk.name}: {report.segments} segments, {report.chunks} chunks")
        for question in QUESTIONS:
            answer = engine.ask("visitor", question)
            print(f"Q: {question}")
            print(f"A: {answer.text}")
            for ref in answer.citations[:2]:
                print(f"   source: {ref}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
