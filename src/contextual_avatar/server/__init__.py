"""The service: an OpenAI-compatible endpoint and the native API (extra ``[server]``).

``contextual-avatar serve`` runs it; a host can build the same app with
:func:`create_app` and serve it under any ASGI server::

    from contextual_avatar.server import ServerSettings, create_app

    app = create_app(settings=ServerSettings(api_keys=["a-long-random-secret-key"]))

Any OpenAI client then answers from the documents with ``base_url="http://host:port/v1"``
and ``model="contextual-avatar"`` (or ``contextual-avatar/<collection>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar._lazy import lazy_exports

if TYPE_CHECKING:
    from contextual_avatar.server._app import create_app
    from contextual_avatar.server._settings import DEFAULT_MODEL, ApiKey, ServerSettings

__all__ = ["DEFAULT_MODEL", "ApiKey", "ServerSettings", "create_app"]

if not TYPE_CHECKING:  # mypy reads the imports above; only the runtime is lazy
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "create_app": "._entry",
            "ApiKey": "._settings",
            "DEFAULT_MODEL": "._settings",
            "ServerSettings": "._settings",
        },
    )
