"""Coercion of caller input (PyAV frames or numpy arrays) into encoder-ready frames.

Encoders accept what a host has at hand: ``av.VideoFrame`` in a common pixel format,
or a ``uint8`` numpy array (``(h, w, 3)`` RGB or ``(h, w)`` grey); for audio an
``av.AudioFrame`` or a mono/planar ``int16``/``float32`` array. Everything else is
rejected here with a :class:`CodecError` that names the problem, before FFmpeg sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from contextual_avatar.codecs._av import av_errors, require_av
from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av

__all__ = ["VIDEO_INPUT_FORMATS", "to_audio_frame", "to_video_frame"]

VIDEO_INPUT_FORMATS = frozenset(
    {
        "yuv420p",
        "yuvj420p",
        "nv12",
        "nv21",
        "yuv422p",
        "yuv444p",
        "rgb24",
        "bgr24",
        "rgba",
        "bgra",
        "argb",
        "abgr",
        "gray",
    }
)
"""Pixel formats an encoder converts from; anything else is rejected."""


def _array_to_video_frame(array: np.ndarray[Any, Any]) -> av.VideoFrame:
    avm = require_av()
    if array.dtype != np.uint8:
        raise CodecError(f"video arrays must be uint8, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 3:
        fmt = "rgb24"
    elif array.ndim == 2:
        fmt = "gray"
    else:
        raise CodecError(
            f"video arrays must be (height, width, 3) RGB or (height, width) grey, "
            f"got shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise CodecError(f"empty video array of shape {array.shape}")
    with av_errors("wrapping a numpy array as a video frame"):
        frame: av.VideoFrame = avm.VideoFrame.from_ndarray(np.ascontiguousarray(array), format=fmt)
    return frame


def to_video_frame(
    frame: av.VideoFrame | np.ndarray[Any, Any], *, width: int, height: int, resize: bool
) -> av.VideoFrame:
    """Return ``frame`` as a ``yuv420p`` frame of ``width`` x ``height``.

    Args:
        frame: A PyAV video frame or a ``uint8`` numpy array.
        width: The encoder's width.
        height: The encoder's height.
        resize: Scale frames of another size instead of rejecting them.

    Returns:
        A new ``yuv420p`` frame (the input is never modified).

    Raises:
        CodecError: Wrong type, dtype, shape, pixel format, odd or mismatched size.
    """
    avm = require_av()
    if isinstance(frame, np.ndarray):
        frame = _array_to_video_frame(frame)
    elif not isinstance(frame, avm.VideoFrame):
        raise CodecError(f"expected av.VideoFrame or numpy array, got {type(frame).__name__}")
    fmt = frame.format.name
    if fmt not in VIDEO_INPUT_FORMATS:
        raise CodecError(
            f"unsupported pixel format {fmt!r}; use one of {sorted(VIDEO_INPUT_FORMATS)}"
        )
    if (frame.width != width or frame.height != height) and not resize:
        raise CodecError(
            f"frame is {frame.width}x{frame.height} but the encoder is {width}x{height}; "
            "scale it first or create the encoder with resize=True"
        )
    with av_errors("converting the frame to yuv420p"):
        out: av.VideoFrame = frame.reformat(width=width, height=height, format="yuv420p")
    if out is frame:
        # reformat returns the same object when nothing changes; we restamp pts, so copy.
        out = avm.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
    return out


def to_audio_frame(
    frame: av.AudioFrame | np.ndarray[Any, Any], *, input_rate: int
) -> av.AudioFrame:
    """Return ``frame`` as a PyAV audio frame.

    Args:
        frame: A PyAV audio frame, or a numpy array: ``(n,)`` mono or ``(channels, n)``
            planar, ``int16`` or ``float32`` in [-1, 1].
        input_rate: Sample rate of numpy input in Hz.

    Returns:
        An audio frame (not yet resampled).

    Raises:
        CodecError: Wrong type, dtype, shape, or an empty frame.
    """
    avm = require_av()
    if isinstance(frame, avm.AudioFrame):
        if frame.samples == 0:
            raise CodecError("empty audio frame")
        checked: av.AudioFrame = frame
        return checked
    if not isinstance(frame, np.ndarray):
        raise CodecError(f"expected av.AudioFrame or numpy array, got {type(frame).__name__}")
    array = frame[np.newaxis, :] if frame.ndim == 1 else frame
    if array.ndim != 2 or array.shape[0] not in (1, 2) or array.shape[1] == 0:
        raise CodecError(
            f"audio arrays must be (samples,) or (channels<=2, samples), got {frame.shape}"
        )
    if array.dtype == np.int16:
        fmt = "s16p"
    elif array.dtype == np.float32:
        fmt = "fltp"
    else:
        raise CodecError(f"audio arrays must be int16 or float32, got {array.dtype}")
    layout = "mono" if array.shape[0] == 1 else "stereo"
    with av_errors("wrapping a numpy array as an audio frame"):
        out: av.AudioFrame = avm.AudioFrame.from_ndarray(
            np.ascontiguousarray(array), format=fmt, layout=layout
        )
        out.sample_rate = input_rate
    return out
