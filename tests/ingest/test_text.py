from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.errors import IngestError
from contextual_avatar.ingest import clean_text, count_tokens, load_text


def test_utf8_with_bom(tmp_path: Path):
    p = tmp_path / "bom.txt"
    p.write_bytes("\ufeffHéllo wörld".encode())
    assert load_text(p)[0].text == "Héllo wörld"


def test_utf16_with_bom(tmp_path: Path):
    p = tmp_path / "wide.txt"
    p.write_bytes("Grüße aus Köln".encode("utf-16"))
    assert load_text(p)[0].text == "Grüße aus Köln"


def test_windows_1252_fallback_keeps_the_text(tmp_path: Path):
    p = tmp_path / "legacy.txt"
    p.write_bytes("Café – naïve".encode("cp1252"))
    assert load_text(p)[0].text == "Café – naïve"


def test_binary_file_is_refused(tmp_path: Path):
    p = tmp_path / "blob.txt"
    p.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(IngestError, match="binary"):
        load_text(p)


def test_whitespace_only_file_is_refused(tmp_path: Path):
    p = tmp_path / "blank.md"
    p.write_text("  \n\n\t \n")
    with pytest.raises(IngestError, match="no text"):
        load_text(p)


def test_segment_cites_the_file_by_name(tmp_path: Path):
    p = tmp_path / "notes.md"
    p.write_text("# Notes\n\nSome text.")
    [seg] = load_text(p)
    assert seg.ref.source == "notes.md" and seg.ref.page is None


def test_clean_text_drops_nul_and_keeps_rtl_and_zero_width():
    text = "a\x00b \u200fשלום\u200b c\r\nd"
    assert clean_text(text) == "ab \u200fשלום\u200b c\nd"


@given(st.text())
def test_clean_text_output_is_always_tokenizable(text: str):
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogates left
    assert "\x00" not in cleaned
    count_tokens(cleaned)
