"""``contextual-avatar serve``: the service (OpenAI-compatible and native API, playground).

The body lives in :mod:`contextual_avatar.server._cli`; this module only declares the
command, so the command line does not import FastAPI until ``serve`` runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from contextual_avatar.cli._app import DataDir, app, friendly

__all__ = ["serve"]


@app.command()
@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000; 0: any free).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default 1).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the documents: OpenAI-compatible /v1, the native /api, a playground at /.

    Keys, limits and defaults come from CONTEXTUAL_AVATAR_SERVER__* variables (see
    docs/server.md); without CONTEXTUAL_AVATAR_SERVER__API_KEYS anyone who can reach the
    port may call it.
    """
    from contextual_avatar.server._cli import serve as run

    run(host=host, port=port, workers=workers, data_dir=data_dir)
