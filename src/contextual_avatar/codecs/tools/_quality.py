"""Objective quality measures for decoded video: PSNR on the YUV planes.

PSNR is computed as the 6:1:1 weighted mean of the Y, U and V plane PSNRs (the weighting
used in codec comparisons such as AV1's CTC), with MSE floored so identical frames give
a finite 100 dB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from contextual_avatar.errors import CodecError

if TYPE_CHECKING:
    import av

__all__ = ["plane_psnr", "yuv_psnr"]

_MAX_PSNR = 100.0


def plane_psnr(reference: np.ndarray[Any, Any], distorted: np.ndarray[Any, Any]) -> float:
    """PSNR in dB between two 8-bit planes.

    Args:
        reference: The original plane.
        distorted: The decoded plane, same shape.

    Returns:
        PSNR in dB (100 for identical planes).

    Raises:
        CodecError: Shapes differ.
    """
    if reference.shape != distorted.shape:
        raise CodecError(f"plane shapes differ: {reference.shape} vs {distorted.shape}")
    diff = reference.astype(np.float64) - distorted.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse <= 255.0**2 * 10 ** (-_MAX_PSNR / 10):
        return _MAX_PSNR
    return float(10.0 * np.log10(255.0**2 / mse))


def _planes(frame: av.VideoFrame) -> tuple[np.ndarray[Any, Any], ...]:
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    data = frame.to_ndarray()  # (h * 3 / 2, w) for yuv420p
    h, w = frame.height, frame.width
    y = data[:h]
    chroma = data[h:].reshape(2, h // 2, w // 2)
    return y, chroma[0], chroma[1]


def yuv_psnr(reference: av.VideoFrame, distorted: av.VideoFrame) -> float:
    """6:1:1-weighted YUV PSNR between two frames of the same size.

    Args:
        reference: The original frame.
        distorted: The decoded frame.

    Returns:
        PSNR in dB.

    Raises:
        CodecError: The frames differ in size.
    """
    if (reference.width, reference.height) != (distorted.width, distorted.height):
        raise CodecError(
            f"frame sizes differ: {reference.width}x{reference.height} "
            f"vs {distorted.width}x{distorted.height}"
        )
    ref, dist = _planes(reference), _planes(distorted)
    scores = [plane_psnr(a, b) for a, b in zip(ref, dist, strict=True)]
    return (6.0 * scores[0] + scores[1] + scores[2]) / 8.0
