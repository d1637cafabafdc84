"""Lazy access to PyAV and translation of its errors.

PyAV is an optional extra (``contextual-avatar[codecs]``): it is imported on first
use, never when ``contextual_avatar`` is imported, and a missing install becomes a
:class:`~contextual_avatar.errors.MissingDependencyError` with the pip hint.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from contextual_avatar.errors import CodecError, MissingDependencyError

__all__ = ["av_errors", "require_av"]


def require_av() -> ModuleType:
    """Import PyAV or explain how to install it.

    Returns:
        The ``av`` module.

    Raises:
        MissingDependencyError: PyAV is not installed.
    """
    # SVT-AV1 prints a banner to stderr on every encoder open (and a bitrate change
    # reopens the encoder); keep its log to errors unless the user asked otherwise.
    os.environ.setdefault("SVT_LOG", "1")
    try:
        return importlib.import_module("av")
    except ImportError as exc:
        raise MissingDependencyError("media codecs", "codecs", "av") from exc


@contextmanager
def av_errors(action: str) -> Iterator[None]:
    """Translate PyAV/FFmpeg exceptions raised inside the block into :class:`CodecError`.

    Args:
        action: What was being done, for the message (``"opening libsvtav1"``).

    Yields:
        Nothing; the body runs inside the translation.

    Raises:
        CodecError: FFmpeg rejected the operation.
    """
    av = require_av()
    try:
        yield
    except CodecError:
        raise
    except (av.FFmpegError, ValueError, TypeError, OSError) as exc:
        raise CodecError(f"{action} failed: {exc}") from exc
