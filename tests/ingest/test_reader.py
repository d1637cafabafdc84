from __future__ import annotations

from pathlib import Path

import pytest

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest import check_file, kind_of


def test_missing_file(tmp_path: Path):
    with pytest.raises(IngestError, match="no such file"):
        check_file(tmp_path / "nope.pdf", max_bytes=100)


def test_directory(tmp_path: Path):
    with pytest.raises(IngestError, match="directory"):
        check_file(tmp_path, max_bytes=100)


def test_empty_file(tmp_path: Path):
    p = tmp_path / "empty.pdf"
    p.touch()
    with pytest.raises(IngestError, match="empty"):
        check_file(p, max_bytes=100)


def test_too_large(tmp_path: Path):
    p = tmp_path / "big.txt"
    p.write_bytes(b"x" * 101)
    with pytest.raises(IngestError, match="over the 100-byte limit"):
        check_file(p, max_bytes=100)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.PDF", "pdf"), ("b.md", "text"), ("c.txt", "text"), ("d.srt", "subtitles"),
     ("e.vtt", "subtitles"), ("f.stm", "subtitles"), ("g.mp4", "media"), ("h.flac", "media")],
)  # fmt: skip
def test_kind_by_suffix(name: str, kind: str):
    assert kind_of(Path(name)) == kind


def test_unknown_suffix_lists_what_is_supported():
    with pytest.raises(IngestError, match=r"unknown file type '\.docx'.*\.pdf"):
        kind_of(Path("report.docx"))
