"""Two avatars in two processes share one Redis cache and one knowledge graph.

Avatar A answers a visitor about tickets; its turn's facts go to the shared graph in the
background, and its session cache lives in Redis. Avatar B, another process, then:

* continues the *same* session (a hand-over between avatars): its first turn is served
  from the chunks A cached in Redis, with no index search;
* answers a *different* visitor with the graph's help: which guide chunks answered
  questions like this one elsewhere (chunk ids only; never A's visitor's words). On a
  two-page guide B's own search already finds those chunks, so nothing needs adding; on
  large document sets the shared chunks fill what room the turn's own context leaves.

Redis: ``REDIS_URL`` if set, else a throwaway ``redis-server`` (apt-get install
redis-server). Graph: a SQLite file both processes open, or Neo4j when ``NEO4J_URI``
(and ``NEO4J_USER`` / ``NEO4J_PASSWORD``) is set.

    python examples/multi_avatar.py
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
from pathlib import Path

import contextual_avatar as ca

GUIDE = Path(__file__).parent / "data" / "guide.pdf"


def config(workdir: Path, name: str, redis_url: str) -> ca.EngineConfig:
    # A generous related() timeout: this demo must show the fact even on a busy machine
    # (the default, 0.3 s, protects a live call's latency instead).
    knowledge: dict[str, object] = {
        "backend": "sqlite",  # sharing is off by default (docs/knowledge.md says why)
        "path": workdir / "shared-graph.sqlite3",
        "related_timeout_s": 5,
    }
    if os.environ.get("NEO4J_URI"):
        knowledge = {
            "backend": "neo4j",
            "uri": os.environ["NEO4J_URI"],
            "user": os.environ.get("NEO4J_USER", "neo4j"),
            "password": os.environ.get("NEO4J_PASSWORD", ""),
            "related_timeout_s": 5,
        }
    return ca.EngineConfig(
        data_dir=workdir / name,  # each avatar has its own index ...
        cache={"store": "redis", "redis_url": redis_url, "key_prefix": "multi-avatar-example"},
        knowledge=knowledge,  # ... and they share cache and graph
    )


def avatar_a(workdir: Path, redis_url: str) -> None:
    with ca.ContextEngine(config(workdir, "avatar-a", redis_url)) as engine:
        engine.ingest(GUIDE)
        answer = engine.ask("room-7", "How much does an adult ticket cost?")
        print(f"[A] room-7: {answer.text}  ({', '.join(map(str, answer.citations))})")
        engine.flush()  # wait until the turn's facts are in the graph
        stats = engine.knowledge_stats
        delivered = 0 if stats is None else stats.delivered
        print(f"[A] facts written to the shared graph: {delivered}")
        if delivered == 0:
            sys.exit("avatar A's grounded answer taught the graph nothing")


def avatar_b(workdir: Path, redis_url: str) -> None:
    with ca.ContextEngine(config(workdir, "avatar-b", redis_url)) as engine:
        engine.ingest(GUIDE)
        handover = engine.ask("room-7", "And for children?")
        where = "the shared Redis cache" if handover.cache_hit else "the index"
        print(f"[B] room-7 (handed over): {handover.text}  (context from {where})")
        fresh = engine.ask("room-9", "What does an adult ticket cost?")
        print(f"[B] room-9: {fresh.text}")
        for fact in fresh.facts:
            print(f"    added from the shared graph: chunk {fact.object}")
        if not fresh.facts:
            print("    (its own search already held every chunk the graph could add)")
        if not handover.cache_hit:
            sys.exit("avatar B did not see avatar A's cached chunks")


def run(target: object, workdir: Path, redis_url: str) -> None:
    process = mp.get_context("spawn").Process(target=target, args=(workdir, redis_url))
    process.start()
    process.join()
    if process.exitcode != 0:
        sys.exit(f"{process.name} failed with exit code {process.exitcode}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        redis_url = os.environ.get("REDIS_URL")
        server = None
        if redis_url is None:
            from contextual_avatar.testing import RedisServer

            server = RedisServer(workdir / "redis").start()
            redis_url = server.url
        try:
            run(avatar_a, workdir, redis_url)
            run(avatar_b, workdir, redis_url)
        finally:
            if server is not None:
                server.kill()


if __name__ == "__main__":
    main()
