"""SVT-AV1's temporal hierarchy on and off, and the sender switching it on a full link."""

from __future__ import annotations

import dataclasses
import random
import statistics

import pytest

from contextual_avatar.codecs import (
    AdaptiveSender,
    BitrateController,
    CodecConfig,
    ControllerConfig,
    VideoEncoder,
)
from contextual_avatar.codecs.tools import (
    CapacityTrace,
    NetworkSimulator,
    TracePoint,
    find_clip,
    read_clip,
    simulate_call,
)

av = pytest.importorskip("av")


@pytest.fixture(scope="module")
def camera_40() -> list[av.VideoFrame]:
    """40 frames of the camera clip at 320x180 (ten 4-frame groups)."""
    return read_clip(find_clip("vtest.avi"), width=320, height=180, max_frames=40)


def frame_sizes(frames: list[av.VideoFrame], *, layers: bool) -> list[int]:
    with VideoEncoder("av1", width=320, height=180, bitrate=150_000, temporal_layers=layers) as enc:
        packets = [p for f in frames for p in enc.encode(f)] + enc.flush()
    assert not any(p.is_keyframe for p in packets[1:])
    return [p.size for p in packets[1:]]  # inter frames only


def test_flat_prediction_evens_out_frame_sizes(camera_40):
    layered = frame_sizes(camera_40, layers=True)
    flat = frame_sizes(camera_40, layers=False)

    def spread(sizes: list[int]) -> float:
        return max(sizes) / statistics.median(sizes)

    # The hierarchy's base-layer frames stand far above the median; flat frames do not.
    assert spread(layered) > 2.0
    assert spread(flat) < spread(layered)


def test_set_temporal_layers_reopens_with_a_keyframe(face_frames):
    enc = VideoEncoder("av1", width=320, height=180, bitrate=200_000)
    assert enc.temporal_layers
    enc.encode(face_frames[0])
    enc.encode(face_frames[1])
    enc.set_temporal_layers(False)
    assert not enc.temporal_layers
    assert enc.reopens == 1
    packets = enc.encode(face_frames[2]) + enc.flush()
    assert any(p.is_keyframe for p in packets)
    enc.set_temporal_layers(False)  # no change: no reopen
    assert enc.reopens == 1
    enc.close()


def test_vp9_ignores_the_switch(face_frames):
    enc = VideoEncoder("vp9", width=320, height=180, bitrate=200_000)
    enc.encode(face_frames[0])
    enc.set_temporal_layers(False)
    assert enc.reopens == 0
    enc.close()


def test_controller_marks_the_link_limited_after_an_overuse():
    # Before the drop the link is wider than max_bitrate: never the limit.
    trace = CapacityTrace([TracePoint(0, 5_000_000), TracePoint(6, 400_000)])
    controller = BitrateController(ControllerConfig(start_bitrate=1_500_000))
    link = NetworkSimulator(trace, base_delay_s=0.03, rng=random.Random(1))
    t, next_feedback, decisions = 0.0, 0.0, []
    while t < 9.0:
        if t >= next_feedback:
            reports = link.feedback(t)
            if reports:
                decisions.append(controller.on_feedback(reports, t))
            next_feedback += 0.05
        if not controller.window_full:
            link.send(1200, t)
            controller.on_packet_sent(1200, t)
        t += 1200 * 8 / controller.decision.target_bps
    assert not any(d.link_limited for d in decisions if d.time_s < 6.0)
    assert all(d.link_limited for d in decisions if d.time_s > 7.0)


def test_call_goes_flat_on_the_congested_link_and_back(face_frames):
    trace = CapacityTrace(
        [TracePoint(0, 800_000), TracePoint(4, 200_000), TracePoint(7, 3_000_000)]
    )
    config = CodecConfig(controller=ControllerConfig(start_bitrate=400_000))
    report = simulate_call(
        face_frames,
        trace,
        duration_s=14,
        source_fps=15,
        config=config,
        max_rung=3,
        measure_quality=False,
        flat_when_link_limited=True,
    )
    switches = [e for e in report.events if e.what == "temporal_layers"]
    assert switches
    assert switches[0].after == "False"
    assert 4.0 < switches[0].time_s < 6.0
    assert switches[-1].after == "True"  # the hierarchy returns once the link opens up
    assert report.overshoot_pct <= 10.0


@pytest.mark.parametrize("flat", [False, True])
def test_sender_switches_only_when_asked(face_frames, flat):
    enc = VideoEncoder("av1", width=320, height=180, bitrate=300_000, resize=True)
    sender = AdaptiveSender(enc, source_fps=15, flat_when_link_limited=flat)
    sender.encode_video(face_frames[0])
    base = BitrateController(ControllerConfig(start_bitrate=300_000), max_rung=3).decision
    congested = dataclasses.replace(base, video_bps=150_000, link_limited=True)
    assert sender.apply(congested, 1.0)
    assert enc.temporal_layers is not flat
    assert any(e.what == "temporal_layers" for e in sender.events) is flat
    enc.close()
