"""Grouping timed words into segments: properties that citations rely on."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar.ingest._transcribe import TimedText, group_words


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
