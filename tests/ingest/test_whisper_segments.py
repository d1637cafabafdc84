"""Grouping timed words into segments: properties that citations rely on."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar.ingest._transcribe_words import (
    TimedText,
    find_untranscribed,
    group_words,
    refine_word_times,
)


@st.composite
def timed_words(draw: st.DrawFn) -> list[TimedText]:
    n = draw(st.integers(min_value=0, max_value=60))
    t = draw(st.floats(min_value=0, max_value=5))
    words = []
    for i in range(n):
        t += draw(st.sampled_from([0.0, 0.05, 0.3, 1.9, 2.1, 6.0]))
        length = draw(st.floats(min_value=0.0, max_value=1.5))
        end_mark = draw(st.sampled_from(["", "", "", ",", ".", "?", "!"]))
        words.append(TimedText(f" w{i}{end_mark}", round(t, 3), round(t + length, 3)))
        t += length
    return words


@settings(max_examples=200, deadline=None)
@given(
    timed_words(), st.floats(min_value=0.5, max_value=3.0), st.floats(min_value=1.0, max_value=20.0)
)
def test_grouping_invariants(words: list[TimedText], gap: float, longest: float) -> None:
    segments = group_words(words, source="talk.mp4", silence_split_s=gap, max_segment_s=longest)
    # every word lands in exactly one segment, in order
    assert " ".join(s.text for s in segments).split() == [w.text.strip() for w in words]
    position = 0
    for segment in segments:
        count = len(segment.text.split())
        members = words[position : position + count]
        position += count
        ref = segment.ref
        assert ref.source == "talk.mp4"
        assert ref.start_s == members[0].start_s
        assert ref.end_s == max(members[-1].end_s, members[0].start_s)
        # no segment spans a pause longer than the split threshold
        for before, after in itertools.pairwise(members):
            assert after.start_s - before.end_s <= gap
            # a sentence end always closes its segment
            assert not before.text.rstrip().endswith((".", "?", "!"))
        # only a single word may exceed the length limit
        if len(members) > 1:
            assert members[-1].end_s - members[0].start_s <= longest
    assert position == len(words)


def test_sentences_and_pauses_split() -> None:
    words = [
        TimedText(" Our", 0.5, 0.7),
        TimedText(" guide", 0.7, 1.0),
        TimedText(" is", 1.0, 1.1),
        TimedText(" Margaret.", 1.1, 1.6),
        TimedText(" She", 1.9, 2.0),
        TimedText(" waits", 2.0, 2.4),
        TimedText(" here", 5.0, 5.3),
        TimedText(" today.", 5.3, 5.8),
    ]
    segments = group_words(words, source="a.wav", silence_split_s=2.0, max_segment_s=30)
    assert [(s.text, s.ref.start_s, s.ref.end_s) for s in segments] == [
        ("Our guide is Margaret.", 0.5, 1.6),
        ("She waits", 1.9, 2.4),
        ("here today.", 5.0, 5.8),
    ]
    assert str(segments[2].ref) == "a.wav 00:05-00:05"


def _bursts(*spans: tuple[float, float], total: float = 10.0) -> np.ndarray:
    """A quiet noise floor with loud tone bursts at the given (start, end) seconds."""
    rng = np.random.default_rng(3)
    t = np.arange(int(total * 16_000)) / 16_000
    audio = (rng.standard_normal(t.size) * 1e-4).astype(np.float32)
    for start, end in spans:
        on = (t >= start) & (t < end)
        audio[on] += (0.5 * np.sin(2 * np.pi * 220 * t[on])).astype(np.float32)
    return audio


def test_refinement_pulls_word_edges_onto_the_sound() -> None:
    audio = _bursts((1.0, 1.5), (4.0, 4.8))
    words = [
        TimedText(" stretched", 0.0, 2.9),  # whisper ran it over the pauses
        TimedText(" late", 3.5, 5.0),
        TimedText(" silent", 7.0, 8.0),  # nothing there: keep whisper's times
    ]
    refined = refine_word_times(words, audio)
    assert [w.text for w in refined] == [w.text for w in words]
    assert abs(refined[0].start_s - 1.0) <= 0.03
    assert abs(refined[0].end_s - 1.5) <= 0.03
    assert abs(refined[1].start_s - 4.0) <= 0.03
    assert abs(refined[1].end_s - 4.8) <= 0.03
    assert refined[2] == words[2]
    for before, after in zip(words, refined, strict=True):
        assert before.start_s <= after.start_s <= after.end_s <= before.end_s


def test_speech_no_word_covers_is_found_again() -> None:
    audio = _bursts((1.0, 2.0), (5.0, 6.5), (8.0, 8.2))
    words = [TimedText(" hello", 1.0, 2.0)]
    # the 1.5 s burst is missed; the 0.2 s click is too short to matter
    [(start, end)] = find_untranscribed(words, audio)
    assert 4.6 <= start <= 5.0
    assert 6.5 <= end <= 6.9
    assert find_untranscribed([*words, TimedText(" world", 5.0, 6.5)], audio) == []
