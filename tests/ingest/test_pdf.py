from __future__ import annotations

from pathlib import Path

import pytest

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest import load_pdf
from contextual_avatar.testing import make_pdf


def test_one_segment_per_page_numbered_from_one(tmp_path: Path):
    pdf = make_pdf(tmp_path / "two.pdf", ["First page text.", "Second page says nine euros."])
    segments = load_pdf(pdf)
    assert [s.ref.page for s in segments] == [1, 2]
    assert "nine euros" in segments[1].text
    assert all(s.ref.source == "two.pdf" for s in segments)


def test_pages_without_text_are_skipped_but_numbering_is_kept(tmp_path: Path):
    pdf = make_pdf(tmp_path / "gap.pdf", ["Intro.", "", "Third page."])
    assert [s.ref.page for s in load_pdf(pdf)] == [1, 3]


def test_no_text_layer_is_refused(tmp_path: Path):
    pdf = make_pdf(tmp_path / "scan.pdf", ["", ""])
    with pytest.raises(IngestError, match="text layer") as info:
        load_pdf(pdf)
    assert info.value.path == pdf


def test_encrypted_pdf_is_refused(tmp_path: Path):
    pdf = make_pdf(tmp_path / "secret.pdf", ["Top secret."], password="hunter2!")
    with pytest.raises(IngestError, match="encrypted") as info:
        load_pdf(pdf)
    assert "secret.pdf" in str(info.value)


def test_encrypted_with_empty_user_password_is_read(tmp_path: Path):
    pdf = make_pdf(tmp_path / "print-protected.pdf", ["Readable text."], password="")
    assert load_pdf(pdf)[0].text == "Readable text."


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("garbage.pdf", b"this is not a pdf at all, just text pretending" * 10),
        ("header-only.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    ],
)
def test_corrupt_pdf_is_refused(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IngestError) as info:
        load_pdf(path)
    assert name in str(info.value)


def test_truncated_pdf_is_refused_or_read_partially(tmp_path: Path):
    full = make_pdf(tmp_path / "full.pdf", ["Page one text.", "Page two text."]).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(full[: len(full) // 3])
    with pytest.raises(IngestError, match=r"cut\.pdf"):
        load_pdf(cut)
