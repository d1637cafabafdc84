"""NIST .stm transcripts: times and speakers kept, scoring-only lines and markup dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest._stm import STM_SUFFIXES, load_stm, parse_stm
from contextual_avatar.types import SourceRef

SAMPLE = """\
;; CATEGORY "0" "" ""
;; LABEL "O" "Overall" "Overall results"
call_0142 1 Alice 0.00 4.25 <o,f0,female> hello everyone our guide today is named margaret
call_0142 1 inter_segment_gap 4.25 5.10 <o,,unknown> ignore_time_segment_in_scoring
call_0142 1 Bob 5.10 9.80 <o,f0,male> thanks alice (%HESITATION) where do we meet <unk>
call_0142 1 Bob 9.80 10.40 <o,f0,male> ignore_time_segment_in_scoring
call_0142 1 Alice 10.40 14.02 at the north entrance {breath} at nine
"""


def test_segments_keep_times_and_speakers(tmp_path: Path) -> None:
    path = tmp_path / "call.stm"
    path.write_text(SAMPLE, encoding="utf-8")
    segments = load_stm(path)
    assert [s.text for s in segments] == [
        "hello everyone our guide today is named margaret",
        "thanks alice where do we meet",
        "at the north entrance at nine",
    ]
    assert [s.ref for s in segments] == [
        SourceRef(source="call.stm", start_s=0.0, end_s=4.25, speaker="Alice"),
        SourceRef(source="call.stm", start_s=5.10, end_s=9.80, speaker="Bob"),
        SourceRef(source="call.stm", start_s=10.40, end_s=14.02, speaker="Alice"),
    ]
    assert str(segments[1].ref) == "call.stm 00:05-00:09 (Bob)"


def test_lines_without_label_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "t.stm"
    path.write_bytes("\ufefftalk 1 S1 1.5 3.0 plain words here\n".encode())
    [segment] = load_stm(path)
    assert segment.text == "plain words here"
    assert segment.ref.speaker == "S1"


def test_suffix_is_routed() -> None:
    assert ".stm" in STM_SUFFIXES


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("talk 1 A 1.0\n", "line 1 is not an STM line"),
        (";; header\ntalk 1 A one 2.0 words\n", "line 2: begin/end times"),
        ("talk 1 A 3.0 2.0 words\n", "invalid time range"),
        ("talk 1 A -1 2.0 words\n", "invalid time range"),
        (
            "talk 1 inter_segment_gap 0 1 x\ntalk 1 A 1 2 ignore_time_segment_in_scoring\n",
            "no transcribed speech",
        ),
    ],
)
def test_malformed_files(text: str, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.stm"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError, match=reason) as info:
        load_stm(path)
    assert info.value.path == path


def test_missing_empty_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="does not exist"):
        load_stm(tmp_path / "none.stm")
    empty = tmp_path / "empty.stm"
    empty.write_text("  \n")
    with pytest.raises(IngestError, match="empty"):
        load_stm(empty)
    binary = tmp_path / "bin.stm"
    binary.write_bytes(b"talk 1 A 0 1 \xff\xfe\x00 hi\n")
    with pytest.raises(IngestError, match="UTF-8"):
        load_stm(binary)


def test_parse_uses_the_given_source_name() -> None:
    [segment] = parse_stm("w 1 A 0 1 hi there\n", source="meeting.stm")
    assert segment.ref.source == "meeting.stm"
