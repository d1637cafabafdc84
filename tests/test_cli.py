from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from contextual_avatar.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_ingest_then_ask_prints_answer_and_citation(tmp_path: Path, guide_pdf: Path):
    data = str(tmp_path / "d")
    out = runner.invoke(app, ["ingest", str(guide_pdf), "--data-dir", data])
    assert out.exit_code == 0, out.output
    assert "guide.pdf" in out.output and "chunks" in out.output
    out = runner.invoke(
        app, ["ask", "How much does an adult ticket cost?", "--data-dir", data, "-v"]
    )
    assert out.exit_code == 0, out.output
    assert "9 euros" in out.output and "source: guide.pdf p. 2" in out.output
    assert "cache miss" in out.output


def test_bad_file_is_one_clear_line_and_exit_1(tmp_path: Path):
    out = runner.invoke(
        app, ["ingest", str(tmp_path / "nope.pdf"), "--data-dir", str(tmp_path / "d")]
    )
    assert out.exit_code == 1
    assert "no such file" in out.output and "Traceback" not in out.output


def test_ask_on_empty_index_explains(tmp_path: Path):
    out = runner.invoke(app, ["ask", "hello?", "--data-dir", str(tmp_path / "d")])
    assert out.exit_code == 1 and "ingest" in out.output


def test_chat_keeps_follow_ups_in_context(tmp_path: Path, guide_pdf: Path):
    data = str(tmp_path / "d")
    runner.invoke(app, ["ingest", str(guide_pdf), "--data-dir", data])
    out = runner.invoke(
        app,
        ["chat", "--data-dir", data, "-v"],
        input="How much does an adult ticket cost?\nAnd for children?\n",
    )
    assert out.exit_code == 0, out.output
    assert "5 euros" in out.output and "cache hit" in out.output


def test_convert_whisper_writes_a_loadable_checkpoint(tmp_path: Path):
    from contextual_avatar.ingest._whisper_convert import bundled_ctranslate2_model

    dst = tmp_path / "tiny.pt"
    out = runner.invoke(app, ["convert-whisper", str(bundled_ctranslate2_model()), str(dst)])
    assert out.exit_code == 0, out.output
    import whisper

    model = whisper.load_model(str(dst), device="cpu")
    assert model.dims.n_vocab > 50_000


def test_convert_whisper_rejects_a_non_model(tmp_path: Path):
    out = runner.invoke(app, ["convert-whisper", str(tmp_path), str(tmp_path / "x.pt")])
    assert out.exit_code == 1 and "model.bin" in out.output
