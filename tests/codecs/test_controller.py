"""The controller against the simulated link, driven by a sender that obeys it exactly."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from contextual_avatar.codecs import (
    BitrateController,
    ControllerConfig,
    OveruseDetector,
    TrendlineEstimator,
)
from contextual_avatar.codecs.tools import CapacityTrace, NetworkSimulator, TracePoint


def run(trace: CapacityTrace, seconds: float, config: ControllerConfig | None = None):
    """Send 1200-byte packets paced at the controller's target (held while the window is full)."""
    controller = BitrateController(config or ControllerConfig(start_bitrate=500_000))
    link = NetworkSimulator(trace, base_delay_s=0.03, rng=random.Random(1))
    t, decisions = 0.0, []
    next_feedback = 0.0
    while t < seconds:
        if t >= next_feedback:
            reports = link.feedback(t)
            if reports:
                decisions.append(controller.on_feedback(reports, t))
            next_feedback += 0.05
        if not controller.window_full:  # the sender honours congestion-window pushback
            link.send(1200, t)
            controller.on_packet_sent(1200, t)
        t += 1200 * 8 / controller.decision.target_bps
    return decisions, link


def test_trendline_sees_a_growing_queue():
    est = TrendlineEstimator(window=10)
    for i in range(40):  # each 5 ms group arrives 1 ms later than it would on an idle link
        est.update(i * 0.01, 0.05 + i * 0.011)
    assert est.trend == pytest.approx(0.1 / 1.1, rel=0.05)
    detector = OveruseDetector()
    verdicts = [detector.detect(est.modified_trend, est.trend, 11.0) for _ in range(3)]
    assert verdicts[-1] == "overuse"
    assert OveruseDetector().detect(-50.0, -0.2, 10.0) == "underuse"


def test_grows_on_a_free_link_without_queueing():
    decisions, link = run(CapacityTrace.constant(3_000_000), 10.0)
    assert decisions[-1].target_bps > 800_000
    assert max(q for _, q in link.queue_delays) < 0.05


def test_backs_off_below_capacity_after_a_step_drop_and_drains_the_queue():
    trace = CapacityTrace([TracePoint(0, 2_000_000), TracePoint(10, 500_000)])
    decisions, link = run(trace, 16.0, ControllerConfig(start_bitrate=1_500_000))
    after = [d for d in decisions if d.time_s > 10.5]
    assert after[0].target_bps < 500_000
    assert any(d.usage == "overuse" for d in decisions if 10 <= d.time_s <= 10.6)
    late = [q for t, q in link.queue_delays if t > 11.5]
    assert max(late) < 0.1
    # It keeps using the link rather than collapsing.
    assert sum(d.target_bps for d in after[-20:]) / 20 > 0.6 * 500_000


def test_random_loss_lowers_the_target():
    lossy = CapacityTrace([TracePoint(0, 5_000_000), TracePoint(4, 5_000_000, 0.25)])
    decisions, _ = run(lossy, 8.0)
    before = max(d.target_bps for d in decisions if 3 < d.time_s < 4)
    during = [d for d in decisions if d.time_s > 6]
    assert during[-1].loss > 0.1
    assert during[-1].target_bps < 0.7 * before


def test_ladder_steps_down_at_once_and_up_after_holding():
    config = ControllerConfig(start_bitrate=1_000_000, step_up_hold_s=1.0)
    trace = CapacityTrace(
        [TracePoint(0, 1_200_000), TracePoint(5, 200_000), TracePoint(12, 5_000_000)]
    )
    decisions, _ = run(trace, 30.0, config)
    rungs = [(d.time_s, d.rung.height) for d in decisions]
    assert dict(rungs)[decisions[0].time_s] >= 360
    low = [h for t, h in rungs if 7 < t < 12]
    assert min(low) <= 270
    assert rungs[-1][1] > min(low)
    for d in decisions:  # the rung always fits the video bitrate, except the last rung
        assert d.video_bps >= d.rung.min_bitrate or d.rung == config.ladder[-1]


def test_audio_share_is_clamped():
    c = BitrateController(ControllerConfig(start_bitrate=100_000))
    assert c.decision.audio_bps == 8_000
    c = BitrateController(ControllerConfig(start_bitrate=3_000_000))
    assert c.decision.audio_bps == 32_000
    assert c.decision.video_bps == 3_000_000 - 32_000


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_bitrate": 10, "min_bitrate": 100},
        {"beta": 1.0},
        {"loss_low": 0.2, "loss_high": 0.1},
        {"ladder": ()},
        {"min_audio_bitrate": 40_000, "max_audio_bitrate": 20_000},
        {"unknown": 1},
    ],
)
def test_config_validation(kwargs):
    with pytest.raises(ValidationError):
        ControllerConfig(**kwargs)
