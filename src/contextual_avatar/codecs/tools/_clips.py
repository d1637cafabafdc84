"""Reading real test clips (e.g. Debian's ``opencv-doc`` AVIs) into encoder-ready frames.

Used by the tests, the benchmark and the example: decode a file with PyAV, scale to the
wanted size in ``yuv420p`` and return the frames in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from contextual_avatar.codecs._av import av_errors, require_av
from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av

__all__ = ["OPENCV_DATA", "find_clip", "read_clip"]

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
"""Where Debian's ``opencv-doc`` installs ``Megamind.avi`` and ``vtest.avi``."""


def find_clip(name: str) -> Path:
    """Locate a clip shipped by ``opencv-doc``.

    Args:
        name: File name, e.g. ``"Megamind.avi"``.

    Returns:
        Its path.

    Raises:
        CodecError: The clip is not installed (``apt-get install opencv-doc``).
    """
    path = OPENCV_DATA / name
    if not path.is_file():
        raise CodecError(f"{path} not found: apt-get install opencv-doc")
    return path


def read_clip(
    path: str | Path, *, width: int, height: int, max_frames: int, start: int = 0
) -> list[av.VideoFrame]:
    """Decode up to ``max_frames`` frames of a clip, scaled to ``width`` x ``height``.

    Args:
        path: A video file PyAV can open.
        width: Output width.
        height: Output height.
        max_frames: How many frames to return at most.
        start: Frames to skip first.

    Returns:
        ``yuv420p`` frames in display order.

    Raises:
        CodecError: The file cannot be opened or decoded.
    """
    avm = require_av()
    frames: list[av.VideoFrame] = []
    with av_errors(f"reading {path}"), avm.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index < start:
                continue
            out = frame.reformat(width=width, height=height, format="yuv420p")
            out.pts = None
            frames.append(out)
            if len(frames) >= max_frames:
                break
    if not frames:
        raise CodecError(f"{path} has no decodable video frames")
    return frames
