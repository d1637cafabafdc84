from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

import contextual_avatar.codecs as codecs
from contextual_avatar.codecs import CodecConfig, LadderRung


def test_defaults():
    cfg = CodecConfig()
    assert cfg.video_codec == "av1"
    assert (cfg.width, cfg.height, cfg.fps) == (640, 360, 30)
    assert cfg.opus_fec
    assert cfg.opus_dtx


@pytest.mark.parametrize(
    "kwargs",
    [
        {"video_codec": "hevc"},
        {"width": 641},
        {"video_bitrate": 0},
        {"video_bitrate": 10**12},
        {"audio_bitrate": 1000},
        {"svt_preset": 14},
        {"opus_frame_ms": 25},
        {"extra": True},
    ],
)
def test_invalid_config(kwargs):
    with pytest.raises(ValidationError):
        CodecConfig(**kwargs)


def test_config_is_frozen():
    with pytest.raises(ValidationError):
        CodecConfig().width = 320  # type: ignore[misc]


def test_odd_rung_rejected():
    with pytest.raises(ValidationError, match="even"):
        LadderRung(width=641, height=360, fps=30, min_bitrate=0)


def test_all_names_exported():
    public = {n for n in dir(codecs) if not n.startswith("_")} - {"annotations"}
    assert set(codecs.__all__) == public


def test_import_does_not_load_av():
    code = "import sys, contextual_avatar.codecs; print('av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
