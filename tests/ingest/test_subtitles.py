from __future__ import annotations

from pathlib import Path

import pytest

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest import load_subtitles
from contextual_avatar.ingest._subtitles import parse_timestamp

SRT = """1
00:00:01,000 --> 00:00:04,500
Welcome to the harbour tour.

2
00:01:12,250 --> 00:01:31,000
The lighthouse was built in <i>1874</i>.
"""

VTT = """WEBVTT

NOTE a comment block

intro
00:00.000 --> 00:03.200
<v Alice>Hello and welcome.

00:03.200 --> 00:07.900
<v.loud Bob>Thanks, Alice.
"""


def test_srt_cues_keep_their_times(tmp_path: Path):
    p = tmp_path / "tour.srt"
    p.write_text(SRT)
    segs = load_subtitles(p)
    assert [s.text for s in segs] == [
        "Welcome to the harbour tour.",
        "The lighthouse was built in 1874.",
    ]
    assert (segs[1].ref.start_s, segs[1].ref.end_s) == (72.25, 91.0)
    assert str(segs[1].ref) == "tour.srt 01:12-01:31"


def test_vtt_voices_become_speakers(tmp_path: Path):
    p = tmp_path / "call.vtt"
    p.write_text(VTT)
    segs = load_subtitles(p)
    assert [(s.ref.speaker, s.text) for s in segs] == [
        ("Alice", "Hello and welcome."),
        ("Bob", "Thanks, Alice."),
    ]
    assert segs[1].ref.start_s == pytest.approx(3.2)


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [
        ("00:00:01,000", 1.0),
        ("01:02:03.5", 3723.5),
        ("02:03.250", 123.25),
        ("100:00:00.000", 360000.0),
    ],
)
def test_parse_timestamp(stamp: str, seconds: float):
    assert parse_timestamp(stamp) == pytest.approx(seconds)


def test_file_without_cues_is_refused(tmp_path: Path):
    p = tmp_path / "fake.srt"
    p.write_text("just some words\nwith no timing at all\n")
    with pytest.raises(IngestError, match="no timed cue"):
        load_subtitles(p)


def test_cue_ending_before_it_starts_is_refused(tmp_path: Path):
    p = tmp_path / "backwards.srt"
    p.write_text("1\n00:00:05,000 --> 00:00:01,000\nOops\n")
    with pytest.raises(IngestError, match="ends before it starts"):
        load_subtitles(p)
