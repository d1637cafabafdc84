"""The ``contextual-avatar`` command: ingest files, ask questions, chat, inspect the data.

Settings come from ``CONTEXTUAL_AVATAR_*`` environment variables (see
:meth:`EngineConfig.from_env`); ``--data-dir`` overrides where the data lives. Each
module registers its commands on :data:`app` when imported:

- :mod:`._ask`: ``ingest``, ``ask``, ``chat``, ``warm`` (the models kept loaded, :mod:`._warm`)
- :mod:`._inspect`: ``where``, ``documents`` (read the data folder, load no model)
- :mod:`._tools`: ``bench``, ``convert-whisper``
- :mod:`._serve`: ``serve`` (the service, :mod:`contextual_avatar.server`)
"""

from __future__ import annotations

from contextual_avatar.cli import _ask, _inspect, _serve, _tools  # noqa: F401 - register the commands
from contextual_avatar.cli._app import app, main

__all__ = ["app", "main"]
