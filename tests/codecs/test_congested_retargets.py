"""Fewer reopen keyframes on a full link, and a second cut when the first one was too shallow."""

from __future__ import annotations

import dataclasses
import random

import pytest

from contextual_avatar.codecs import (
    AdaptiveSender,
    BitrateController,
    ControllerConfig,
    RateDecision,
    VideoEncoder,
)
from contextual_avatar.codecs.tools import CapacityTrace, NetworkSimulator, TracePoint


def frames_sender(face_frames, **kwargs) -> tuple[AdaptiveSender, RateDecision]:
    enc = VideoEncoder("av1", width=320, height=180, bitrate=300_000, resize=True)
    sender = AdaptiveSender(enc, source_fps=15, **kwargs)
    sender.encode_video(face_frames[0])
    base = BitrateController(ControllerConfig(start_bitrate=300_000), max_rung=3).decision
    return sender, base


@pytest.mark.parametrize(("limited", "applied_at_1_5_s"), [(True, False), (False, True)])
def test_increases_wait_longer_while_the_link_is_the_limit(face_frames, limited, applied_at_1_5_s):
    sender, base = frames_sender(face_frames)
    down = dataclasses.replace(base, video_bps=150_000, link_limited=limited)
    up = dataclasses.replace(base, video_bps=200_000, link_limited=limited)
    assert sender.apply(down, 0.0)
    assert sender.apply(up, 1.5) is applied_at_1_5_s
    if not applied_at_1_5_s:
        assert sender.video.bitrate == 150_000
        assert sender.apply(up, 3.1)  # the longer hold (3 s) has passed
    assert sender.video.bitrate == 200_000
    sender.video.close()


def run_drop(first_cut_from_stale_rate: bool) -> list[RateDecision]:
    """Packets at the target, pushback obeyed, over a 1.5 -> 0.4 Mb/s drop at 6 s.

    With ``first_cut_from_stale_rate`` the sender bursts just before the drop, so the
    receive rate the one-shot decrease measures still holds pre-drop arrivals.
    """
    trace = CapacityTrace([TracePoint(0, 1_500_000), TracePoint(6, 400_000)])
    controller = BitrateController(ControllerConfig(start_bitrate=1_200_000))
    link = NetworkSimulator(trace, base_delay_s=0.03, rng=random.Random(3))
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
        rate = controller.decision.target_bps
        if first_cut_from_stale_rate and 5.8 <= t < 6.0:
            rate = 1_450_000
        t += 1200 * 8 / rate
    return decisions


@pytest.mark.parametrize("stale", [False, True])
def test_target_is_below_the_new_capacity_half_a_second_after_the_drop(stale):
    decisions = run_drop(stale)
    late = [d for d in decisions if d.time_s >= 6.5]
    assert late
    assert max(d.target_bps for d in late) < 400_000
