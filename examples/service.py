"""The package's service, started from code: OpenAI-compatible /v1, the native /api, a playground.

Run:  .venv/bin/python examples/service.py [--host 127.0.0.1] [--port 8000]
      (the same as `contextual-avatar serve`, with this example's own data folder;
      settings from CONTEXTUAL_AVATAR_* and CONTEXTUAL_AVATAR_SERVER__* variables)

    open http://127.0.0.1:8000/                                   # the playground
    curl -X PUT --data-binary @handbook.pdf 'localhost:8000/api/documents/handbook.pdf?wait=true'
    curl localhost:8000/v1/chat/completions -H 'content-type: application/json' \\
         -d '{"model": "contextual-avatar", "messages": [{"role": "user", "content": "..."}]}'

Every endpoint is described in docs/server.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from contextual_avatar import EngineConfig
from contextual_avatar.server import create_app

#: This example's own data folder (CONTEXTUAL_AVATAR_DATA_DIR overrides it).
DATA_DIR = Path(__file__).parent / ".data" / "service"


def main() -> None:
    parser = argparse.ArgumentParser(description="contextual-avatar service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args()
    app = create_app(config=EngineConfig.from_env(default_data_dir=DATA_DIR))
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
