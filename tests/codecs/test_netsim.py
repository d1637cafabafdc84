from __future__ import annotations

import random

import pytest

from contextual_avatar.codecs.tools import CapacityTrace, NetworkSimulator, TracePoint
from contextual_avatar.errors import CodecError


def test_trace_files_load(traces):
    for name in ("step_drop", "oscillating", "loss_bursts"):
        trace = CapacityTrace.load(traces / f"{name}.csv")
        assert trace.points[0].time_s == 0.0
    step = CapacityTrace.load(traces / "step_drop.csv")
    assert step.capacity_at(7.9) == 1_500_000
    assert step.capacity_at(8.0) == 400_000
    assert CapacityTrace.load(traces / "loss_bursts.csv").loss_at(7.0) == pytest.approx(0.2)


def test_trace_save_load_round_trip(tmp_path):
    trace = CapacityTrace([TracePoint(0, 1e6), TracePoint(2.5, 3e5, 0.1)])
    trace.save(tmp_path / "t.csv")
    assert CapacityTrace.load(tmp_path / "t.csv").points == trace.points


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0, 1000\n1, abc\n", r"t.csv:2"),
        ("1, 1000\n", "starts at time 0"),
        ("0, 1000\n0, 500\n", "increase"),
        ("0, -5\n", "positive"),
        ("0, 1000, 100\n", r"\[0, 1\)"),
        ("0\n", r"t.csv:1"),
        ("# only a comment\n", "at least one point"),
    ],
)
def test_malformed_traces(tmp_path, text, match):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(CodecError, match=match):
        CapacityTrace.load(path)


def test_missing_trace_file(tmp_path):
    with pytest.raises(CodecError, match="cannot read trace"):
        CapacityTrace.load(tmp_path / "nope.csv")


def test_serialisation_and_queueing_are_exact():
    link = NetworkSimulator(CapacityTrace.constant(1_000_000), base_delay_s=0.05)
    for _ in range(3):
        link.send(1250, 0.0)  # 10 ms each on a 1 Mb/s link
    arrivals = link.arrivals(1.0)
    assert [a.arrival_time for a in arrivals] == pytest.approx([0.06, 0.07, 0.08])
    assert [q for _, q in link.queue_delays] == pytest.approx([0.0, 0.01, 0.02])


def test_capacity_change_mid_packet():
    trace = CapacityTrace([TracePoint(0, 1_000_000), TracePoint(0.005, 500_000)])
    link = NetworkSimulator(trace, base_delay_s=0.0)
    link.send(1250, 0.0)  # 5 ms at 1 Mb/s = 5000 bits, then 5000 bits at 0.5 Mb/s = 10 ms
    assert link.arrivals(1.0)[0].arrival_time == pytest.approx(0.015)


def test_drop_tail_queue():
    link = NetworkSimulator(CapacityTrace.constant(100_000), queue_limit_s=0.2, base_delay_s=0.0)
    for _ in range(10):
        link.send(1250, 0.0)  # 100 ms each: the 4th would wait 300 ms
    reports = link.feedback(100.0)
    assert [r.lost for r in reports] == [False, False, False] + [True] * 7


def test_random_loss_rate_is_seeded():
    trace = CapacityTrace.constant(1e9, loss=0.2)
    runs = []
    for _ in range(2):
        link = NetworkSimulator(trace, rng=random.Random(7))
        for i in range(2000):
            link.send(100, i * 0.001)
        runs.append([r.lost for r in link.feedback(100.0)])
    assert runs[0] == runs[1]
    assert sum(runs[0]) / 2000 == pytest.approx(0.2, abs=0.03)


def test_feedback_arrives_in_intervals_one_delay_later():
    link = NetworkSimulator(
        CapacityTrace.constant(1e9), base_delay_s=0.04, feedback_interval_s=0.05
    )
    link.send(100, 0.0)  # arrives ~0.04, reported at 0.05, at the sender at 0.09
    assert link.feedback(0.089) == []
    [report] = link.feedback(0.09)
    assert report.arrival_time == pytest.approx(0.04, abs=1e-5)
    assert report.send_time == 0.0
    assert not report.lost


def test_bad_arguments():
    with pytest.raises(CodecError):
        NetworkSimulator(CapacityTrace.constant(1e6), feedback_interval_s=0)
    with pytest.raises(CodecError, match="positive"):
        NetworkSimulator(CapacityTrace.constant(1e6)).send(0, 0.0)
