"""The package's exception hierarchy.

Every error this library raises on purpose derives from :class:`ContextualAvatarError`,
so a host application can catch one type. Subclasses say what the caller can do::

    ContextualAvatarError
    ├── ConfigError            a setting is invalid; fix the configuration
    ├── MissingDependencyError an optional extra is not installed; pip install it
    ├── InputError             an argument (session id, question) is unusable; fix the call
    ├── IngestError            a file could not be read; fix or skip that file
    ├── IndexCorruptError      the persisted index cannot be loaded; re-ingest
    ├── StoreUnavailable       Redis or the graph server cannot be reached; retry later
    ├── ModelError             the LLM or embedder failed; retry or fall back
    └── CodecError             a media frame or encoder setting was rejected

Errors from dependencies (pypdf, redis, neo4j, litellm, av) are translated where they
are caught, chained with ``raise ... from exc`` so the cause stays visible.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CodecError",
    "ConfigError",
    "ContextualAvatarError",
    "IndexCorruptError",
    "IngestError",
    "InputError",
    "MissingDependencyError",
    "ModelError",
    "StoreUnavailable",
]


class ContextualAvatarError(Exception):
    """Root of every error raised by contextual-avatar."""


class ConfigError(ContextualAvatarError, ValueError):
    """A configuration value is invalid; the message names the field."""


class MissingDependencyError(ContextualAvatarError, ImportError):
    """An optional extra is needed for this feature but is not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        self.feature = feature
        self.extra = extra
        self.module = module
        super().__init__(
            f"{feature} needs the '{module}' package: pip install 'contextual-avatar[{extra}]'"
        )


class InputError(ContextualAvatarError, ValueError):
    """An argument such as a session id or a question cannot be used as given."""


class IngestError(ContextualAvatarError):
    """A file could not be ingested. Nothing from it was written.

    Attributes:
        path: The file that failed.
        reason: What is wrong with it, in words a user can act on.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot ingest {self.path}: {reason}")


class IndexCorruptError(ContextualAvatarError):
    """The persisted index exists but cannot be read."""


class StoreUnavailable(ContextualAvatarError, ConnectionError):
    """A backing server (Redis, Neo4j) cannot be reached or refused the operation."""


class ModelError(ContextualAvatarError):
    """The language model or the embedder failed to produce a result."""


class CodecError(ContextualAvatarError, ValueError):
    """A media frame, codec name or encoder setting was rejected."""
