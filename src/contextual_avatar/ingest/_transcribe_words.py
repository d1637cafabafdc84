"""Timed words from whisper, tidied against the audio and grouped into citable segments.

Pure numpy on the 16 kHz samples: find loud speech no word covers (for a second pass),
pull word edges in to where there is sound, and cut the words into sentence-sized
:class:`~contextual_avatar.types.Segment` s whose times come from their first and last
word. Kept apart from the model so it is testable (and importable) without whisper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contextual_avatar.ingest._media import SAMPLE_RATE
from contextual_avatar.types import Segment, SourceRef

__all__ = ["TimedText", "find_untranscribed", "group_words", "refine_word_times"]

_SENTENCE_END = (".", "?", "!", "…")
# Word-edge refinement (see refine_word_times).
_REFINE_RELATIVE_DB = -35.0
_REFINE_FLOOR_DB = -55.0
_REFINE_MARGIN_S = 0.02
# Second-pass detection of speech whisper skipped (see find_untranscribed).
_MISSED_LEVEL_DB = -30.0
_MISSED_MIN_S = 0.5


@dataclass(frozen=True, slots=True)
class TimedText:
    """A word (or, without word timestamps, a whisper segment) with its time span.

    Parameters:
        text: The text as whisper wrote it, leading space included.
        start_s: Start in seconds from the beginning of the recording.
        end_s: End in seconds.
    """

    text: str
    start_s: float
    end_s: float


def _frame_levels(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """RMS level of each 10 ms frame."""
    hop = SAMPLE_RATE // 100
    n_frames = samples.size // hop
    frames = samples[: n_frames * hop].reshape(n_frames, hop)
    level: npt.NDArray[np.float64] = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return level


def find_untranscribed(
    words: Sequence[TimedText],
    samples: npt.NDArray[np.float32],
    *,
    level_db: float = _MISSED_LEVEL_DB,
    min_voiced_s: float = _MISSED_MIN_S,
) -> list[tuple[float, float]]:
    """Loud stretches of audio that no word covers, as ``(start_s, end_s)`` clips.

    Why: whisper sometimes ends a 30 s window after one sentence and jumps past the rest
    of it, silently dropping speech that follows a pause. Clear sound (within
    ``level_db`` of the recording's peak) for at least ``min_voiced_s`` with no word
    near it is sent through whisper again on its own.
    """
    level = _frame_levels(samples)
    if level.size == 0 or float(level.max()) <= 0:
        return []
    voiced = level >= float(level.max()) * 10 ** (level_db / 20)
    covered = np.zeros_like(voiced)
    for w in words:
        covered[max(0, int(w.start_s * 100) - 30) : int(np.ceil(w.end_s * 100)) + 30] = True
    missing = voiced & ~covered
    regions: list[tuple[float, float]] = []
    idx = np.flatnonzero(missing)
    if idx.size == 0:
        return regions
    # runs of missing frames, joined across short (< 0.5 s) dips
    breaks = np.flatnonzero(np.diff(idx) > 50)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    total_s = samples.size / SAMPLE_RATE
    for a, b in zip(starts, ends, strict=True):
        if int(missing[a : b + 1].sum()) >= min_voiced_s * 100:
            regions.append((max(0.0, a / 100 - 0.3), min(total_s, (b + 1) / 100 + 0.3)))
    return regions


def refine_word_times(
    words: Sequence[TimedText],
    samples: npt.NDArray[np.float32],
    *,
    relative_db: float = _REFINE_RELATIVE_DB,
    floor_db: float = _REFINE_FLOOR_DB,
) -> list[TimedText]:
    """Pull each word's edges in to where there is sound.

    Why: whisper's alignment often stretches a word over neighbouring silence (the first
    word of a window tends to start at the window's start, the last word of a sentence to
    run on into the pause), so citations would start early and end late, and pauses
    would hide. Within each word's span, its start moves to the first 10 ms frame whose
    level is within ``relative_db`` of the loudest frame nearby (and above ``floor_db``
    under the recording's peak); its end to the last such frame. A word with no such
    frame, or audio too noisy to tell, keeps whisper's times.

    Args:
        words: Timed words from whisper.
        samples: The 16 kHz audio they were transcribed from.
        relative_db: Level under the local peak (within 1 s) that still counts as sound.
        floor_db: Level under the whole recording's peak below which nothing is sound.

    Returns:
        Words with the same text and tightened times.
    """
    level = _frame_levels(samples)
    n_frames = level.size
    if n_frames == 0 or not words:
        return list(words)
    peak = float(level.max())
    if peak <= 0:
        return list(words)
    floor = peak * 10 ** (floor_db / 20)
    out: list[TimedText] = []
    for word in words:
        i0 = max(0, int(word.start_s * 100))
        i1 = min(n_frames, int(np.ceil(word.end_s * 100)))
        if i1 <= i0:
            out.append(word)
            continue
        nearby = level[max(0, i0 - 100) : min(n_frames, i1 + 100)]
        threshold = max(float(nearby.max()) * 10 ** (relative_db / 20), floor)
        voiced = np.flatnonzero(level[i0:i1] >= threshold)
        if voiced.size == 0:
            out.append(word)
            continue
        start = max(word.start_s, (i0 + int(voiced[0])) / 100 - _REFINE_MARGIN_S)
        end = min(word.end_s, (i0 + int(voiced[-1]) + 1) / 100 + _REFINE_MARGIN_S)
        out.append(TimedText(word.text, round(start, 3), round(max(end, start), 3)))
    return out


def group_words(
    words: Sequence[TimedText],
    *,
    source: str,
    silence_split_s: float,
    max_segment_s: float,
    speaker: str | None = None,
) -> list[Segment]:
    """Group timed words into sentence-sized segments.

    A segment closes after a word ending a sentence, before a word that follows a pause
    longer than ``silence_split_s``, and before a word that would stretch it past
    ``max_segment_s``. Each segment's time range runs from its first word's start to its
    last word's end.

    Args:
        words: Timed words (or whisper segments) in order.
        source: The display name the citations show.
        silence_split_s: Pause that ends a segment.
        max_segment_s: Longest segment before a forced cut at a word boundary.
        speaker: Speaker for every segment, when known.

    Returns:
        Segments in time order; every word lands in exactly one.
    """
    segments: list[Segment] = []
    current: list[TimedText] = []

    def flush() -> None:
        if not current:
            return
        text = "".join(w.text for w in current).strip()
        start = current[0].start_s
        end = max(current[-1].end_s, start)
        segments.append(
            Segment(
                text=text, ref=SourceRef(source=source, start_s=start, end_s=end, speaker=speaker)
            )
        )
        current.clear()

    for word in words:
        if current and (
            word.start_s - current[-1].end_s > silence_split_s
            or word.end_s - current[0].start_s > max_segment_s
        ):
            flush()
        current.append(word)
        if word.text.rstrip().endswith(_SENTENCE_END):
            flush()
    flush()
    return segments
