"""A stalled OpenAI-compatible LLM server, run as its own process.

``python stalled_llm.py PORT MODE`` listens on 127.0.0.1:PORT, prints ``ready`` and holds
every connection open without finishing it:

* ``silent``: reads the request and never answers (a server stuck before the first token);
* ``first-token``: answers ``200`` with one streamed chunk (``"The"``), then goes silent
  (a server stuck mid-answer).

Standard library only; the test kills it with SIGKILL.
"""

from __future__ import annotations

import json
import socket
import sys
import threading


def _serve(conn: socket.socket, mode: str) -> None:
    conn.recv(65536)
    if mode == "first-token":
        chunk = {
            "id": "stall",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "stalled",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "The"}}],
        }
        body = f"data: {json.dumps(chunk)}\n\n".encode()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n"
        )
    threading.Event().wait()  # hold the connection open forever


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    server = socket.create_server(("127.0.0.1", port))
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
