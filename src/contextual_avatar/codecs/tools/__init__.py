"""Codec tooling for tests, benchmarks and experiments: not part of a call's runtime.

Opt in with ``import contextual_avatar.codecs.tools``; :mod:`contextual_avatar.codecs`
never imports it, so a sender pays nothing for it. The pieces:

* :class:`NetworkSimulator` and :class:`CapacityTrace` (:class:`TracePoint`): one
  bottleneck link in virtual time, driven by a capacity/loss trace file;
* :func:`simulate_call` (:class:`CallReport`, :class:`TimelineSample`): real encoders,
  the bitrate controller and :class:`~contextual_avatar.codecs.AdaptiveSender` over that
  link, with a receiver that decodes and scores what is on screen;
* :func:`yuv_psnr` and :func:`plane_psnr`: objective quality of decoded frames;
* :func:`find_clip` and :func:`read_clip` (:data:`OPENCV_DATA`): real test clips from
  Debian's ``opencv-doc`` as encoder-ready frames.

Names load their module on first use, like :mod:`contextual_avatar.codecs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar._lazy import lazy_exports

if TYPE_CHECKING:
    from contextual_avatar.codecs.tools._call_metrics import CallReport, TimelineSample
    from contextual_avatar.codecs.tools._clips import OPENCV_DATA, find_clip, read_clip
    from contextual_avatar.codecs.tools._netsim import (
        CapacityTrace,
        NetworkSimulator,
        TracePoint,
    )
    from contextual_avatar.codecs.tools._quality import plane_psnr, yuv_psnr
    from contextual_avatar.codecs.tools._simulate import simulate_call

__all__ = [
    "OPENCV_DATA",
    "CallReport",
    "CapacityTrace",
    "NetworkSimulator",
    "TimelineSample",
    "TracePoint",
    "find_clip",
    "plane_psnr",
    "read_clip",
    "simulate_call",
    "yuv_psnr",
]

_LAZY = {
    "OPENCV_DATA": "._clips",
    "CallReport": "._call_metrics",
    "CapacityTrace": "._netsim",
    "NetworkSimulator": "._netsim",
    "TimelineSample": "._call_metrics",
    "TracePoint": "._netsim",
    "find_clip": "._clips",
    "plane_psnr": "._quality",
    "read_clip": "._clips",
    "simulate_call": "._simulate",
    "yuv_psnr": "._quality",
}

if not TYPE_CHECKING:  # mypy and IDEs read the imports above
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY)
