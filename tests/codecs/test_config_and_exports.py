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
    for name in codecs.__all__:
        assert getattr(codecs, name) is not None


def test_tooling_is_not_exported_by_the_runtime_package():
    import contextual_avatar.codecs.tools as tools

    assert not set(tools.__all__) & set(codecs.__all__)
    assert {"simulate_call", "NetworkSimulator", "yuv_psnr", "find_clip"} <= set(tools.__all__)
    for name in tools.__all__:
        assert getattr(tools, name) is not None


def test_import_does_not_load_av():
    code = "import sys, contextual_avatar.codecs; print('av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_config_loads_no_encoder_and_no_tooling():
    code = (
        "import sys, contextual_avatar.codecs._config, contextual_avatar.codecs as c; "
        "c.CodecConfig; c.BitrateController; "
        "print(sorted(m for m in sys.modules if m == 'av' or m.startswith('av.') "
        "or m.startswith(('contextual_avatar.codecs._video', 'contextual_avatar.codecs._audio', "
        "'contextual_avatar.codecs._adaptive', 'contextual_avatar.codecs.tools'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
