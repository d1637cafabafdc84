"""A short call over a congested link, with real AV1 encoding and decoding."""

from __future__ import annotations

import pytest

from contextual_avatar.codecs import CodecConfig, ControllerConfig
from contextual_avatar.codecs.tools import CapacityTrace, TracePoint, simulate_call


@pytest.fixture(scope="module")
def step_report(face_frames):
    trace = CapacityTrace([TracePoint(0, 800_000), TracePoint(5, 200_000)])
    config = CodecConfig(controller=ControllerConfig(start_bitrate=400_000))
    return simulate_call(face_frames, trace, duration_s=9, source_fps=15, config=config, max_rung=3)


def test_call_adapts_to_a_step_drop(step_report):
    report = step_report
    assert report.codec == "av1"
    assert len(report.recovery_s) == 1
    assert report.recovery_s[0] is not None
    assert report.recovery_s[0] < 2.0
    after = [s for s in report.timeline if s.time_s >= 7.0]
    assert all(s.target_bps < 200_000 for s in after)
    assert report.frames_shown > 0.8 * 9 * 15 * 0.5
    assert report.mean_psnr > 25.0
    assert report.keyframes >= 2  # the start and at least one retarget
    assert any(e.what == "video_bitrate" for e in report.events)


def test_ladder_steps_down_when_bitrate_cannot_cope(step_report):
    rungs = {s.rung for s in step_report.timeline if s.time_s >= 7.0}
    assert rungs
    assert all(not r.startswith(("640", "960", "1280")) for r in rungs)


def test_simulation_is_deterministic(face_frames):
    trace = CapacityTrace.constant(300_000, loss=0.05)
    runs = [
        simulate_call(face_frames, trace, duration_s=3, source_fps=15, measure_quality=False)
        for _ in range(2)
    ]
    assert [d.target_bps for d in runs[0].decisions] == [d.target_bps for d in runs[1].decisions]
