"""Congestion-window pushback and the queue-delay over-use trigger (recovery in < 1 s)."""

from __future__ import annotations

import random

from contextual_avatar.codecs import BitrateController, ControllerConfig, RateDecision
from contextual_avatar.codecs.tools import CapacityTrace, NetworkSimulator, TracePoint

DROP = CapacityTrace([TracePoint(0, 2_000_000), TracePoint(10, 400_000)])


def run(
    config: ControllerConfig, *, obey_window: bool, seconds: float = 14.0
) -> tuple[list[RateDecision], NetworkSimulator, int]:
    """Send 1200-byte packets at the target; optionally hold them while the window is full."""
    controller = BitrateController(config)
    link = NetworkSimulator(DROP, base_delay_s=0.03, rng=random.Random(1))
    t, next_feedback, held = 0.0, 0.0, 0
    decisions: list[RateDecision] = []
    while t < seconds:
        if t >= next_feedback:
            reports = link.feedback(t)
            if reports:
                decisions.append(controller.on_feedback(reports, t))
            next_feedback += 0.05
        if obey_window and controller.window_full:
            held += 1
        else:
            link.send(1200, t)
            controller.on_packet_sent(1200, t)
        t += 1200 * 8 / controller.decision.target_bps
    return decisions, link, held


def test_window_is_never_full_without_samples_or_when_off():
    assert not BitrateController(ControllerConfig()).window_full
    decisions, _, held = run(
        ControllerConfig(start_bitrate=1_500_000, pushback=False), obey_window=True
    )
    assert held == 0
    assert decisions


def test_pushback_drains_a_deep_drop_within_a_second():
    cfg = ControllerConfig(start_bitrate=1_500_000)
    decisions, link, held = run(cfg, obey_window=True)
    assert held > 0  # the window did hold packets back after the drop
    late = [q for t, q in link.queue_delays if t > 11.0]
    assert max(late) < 0.1
    # One-shot decrease to beta x the bottleneck rate, not a collapse to the floor.
    first = next(d for d in decisions if d.time_s > 10.0 and d.target_bps < 1_000_000)
    assert 0.6 * 400_000 <= first.target_bps <= 0.9 * 400_000
    # Utilisation holds after the episode.
    tail = [d.target_bps for d in decisions if d.time_s > 12.0]
    assert sum(tail) / len(tail) > 0.6 * 400_000


def test_without_pushback_the_decrease_subtracts_the_queue():
    cfg = ControllerConfig(start_bitrate=1_500_000, pushback=False)
    decisions, _, _ = run(cfg, obey_window=False)
    first = next(d for d in decisions if d.time_s > 10.0 and d.target_bps < 1_000_000)
    assert first.target_bps < 0.6 * 400_000


def test_a_standing_queue_counts_as_overuse_before_the_trend_does():
    slow = ControllerConfig(start_bitrate=1_500_000, overuse_queue_s=5.0)
    fast = ControllerConfig(start_bitrate=1_500_000, overuse_queue_s=0.05)

    def first_overuse(cfg: ControllerConfig) -> float:
        decisions, _, _ = run(cfg, obey_window=False, seconds=12.0)
        return next(d.time_s for d in decisions if d.time_s >= 10.0 and d.usage == "overuse")

    assert first_overuse(fast) <= first_overuse(slow)
