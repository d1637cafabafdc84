"""Stream a real clip through a congested link and show what the bitrate controller did.

Run: .venv/bin/python examples/adaptive_media.py [--codec av1|vp9|h264] [--trace FILE]

Uses Megamind.avi from Debian's opencv-doc package (apt-get install opencv-doc). The
link runs at 1.2 Mb/s, collapses to 300 kb/s at 6 s and comes back at 12 s; the video
is encoded for real (AV1 by default), paced onto the simulated link, and decoded on the
far side. Takes well under a minute on two cores.
"""

from __future__ import annotations

import argparse

from contextual_avatar.codecs import CodecConfig, ControllerConfig
from contextual_avatar.codecs.tools import (
    CapacityTrace,
    TracePoint,
    find_clip,
    read_clip,
    simulate_call,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", choices=["av1", "vp9", "h264"], default="av1")
    parser.add_argument("--trace", help="capacity trace file (time_s, capacity_kbps, loss_pct)")
    parser.add_argument("--seconds", type=float, default=18.0)
    args = parser.parse_args()

    frames = read_clip(find_clip("Megamind.avi"), width=640, height=360, max_frames=90)
    if args.trace:
        trace = CapacityTrace.load(args.trace)
    else:
        trace = CapacityTrace(
            [TracePoint(0, 1_200_000), TracePoint(6, 300_000), TracePoint(12, 1_200_000)]
        )
    config = CodecConfig(video_codec=args.codec, controller=ControllerConfig(start_bitrate=600_000))
    report = simulate_call(frames, trace, duration_s=args.seconds, config=config, max_rung=2)

    print(f"{args.codec} over a congested link, {args.seconds:.0f} s simulated\n")
    print("  time  capacity    sent  target  queue  encoding")
    for sample in report.timeline[::10]:
        print(
            f"{sample.time_s:6.1f} {sample.capacity_bps / 1e3:7.0f}k {sample.sent_bps / 1e3:6.0f}k "
            f"{sample.target_bps / 1e3:6.0f}k {sample.queue_delay_s * 1e3:5.0f}ms  {sample.rung}"
        )
    print("\nencoder changes the controller made:")
    for event in report.events:
        print(f"  {event.time_s:5.2f} s  {event.what:14} {event.before} -> {event.after}")
    recovery = ", ".join("never" if r is None else f"{r:.2f} s" for r in report.recovery_s)
    print(
        f"\novershoot {report.overshoot_pct:.1f}%  recovery {recovery or 'n/a'}  "
        f"frozen {report.frozen_s:.2f} s  on-screen PSNR {report.mean_psnr:.1f} dB  "
        f"keyframes {report.keyframes}  PLIs {report.plis}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
