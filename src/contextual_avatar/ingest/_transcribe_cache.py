"""Transcripts cached on disk, keyed by the recording's content and the decode settings.

Ingesting the same recording again (under any name) then neither decodes nor
transcribes. One JSON file per key, written atomically, so concurrent ingests of one
file never read a half-written transcript.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from contextual_avatar.ingest._transcribe_config import TranscriptionConfig
from contextual_avatar.ingest._transcribe_words import TimedText

__all__ = ["TranscriptCache", "cache_dir", "default_cache_dir"]

# Bump when the cached transcript format or the decoding recipe changes.
_CACHE_VERSION = 2


def _beam_part(beam: int | None) -> str:
    """The decoding strategy in a cache key.

    ``None`` (greedy; ``beam_size`` ``None`` or 1) keeps the text older keys used, so greedy
    transcripts cached before beam search became the default stay valid. Beam search also
    sets ``best_of`` (samples on temperature fallback), which older beam entries lacked.
    """
    return "None" if beam is None else f"beam{beam}-best_of{beam}"


def default_cache_dir() -> Path:
    """The per-user cache folder for converted models and transcripts."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("contextual-avatar")) / "whisper"


def cache_dir(config: TranscriptionConfig) -> Path:
    """The folder for ``config``'s converted models and transcripts."""
    return config.cache_dir if config.cache_dir is not None else default_cache_dir()


class TranscriptCache:
    """Transcripts on disk, one JSON file per (recording content, model, settings)."""

    def __init__(self, directory: Path) -> None:
        """Keep cache files in ``directory`` (created on first write)."""
        self.directory = Path(directory)

    @staticmethod
    def key(content_sha256: str, model_id: str, config: TranscriptionConfig) -> str:
        """Cache key: everything that changes whisper's output, nothing that does not."""
        parts = [
            f"v{_CACHE_VERSION}",
            content_sha256,
            model_id,
            config.language,
            str(config.word_timestamps),
            _beam_part(config.decode_beam_size),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[float, list[TimedText]] | None:
        """``(duration_s, words)`` for ``key``, or ``None`` if absent or unreadable."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            words = [TimedText(**w) for w in data["words"]]
            return float(data["duration_s"]), words
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, duration_s: float, words: Sequence[TimedText]) -> None:
        """Store atomically (write a temporary file, then rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"duration_s": duration_s, "words": [asdict(w) for w in words]})
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
