"""The cross-session attack on shared knowledge at full size, on SQLite and on a Bolt server.

Run: ``.venv/bin/python benchmarks/knowledge_attack.py`` (a few minutes on 2 cores;
``--attackers 25`` for a quick look). The scenario is
:mod:`contextual_avatar.testing._knowledge_attack` (the test suite runs it at a reduced size):
attacker sessions ask the sample guide questions stuffed with instructions, false claims,
markup and prompt-format tokens (``--attackers`` x 8 texts, default 250 x 8 = 2,000 turns
per backend); victims then ask eight ordinary questions, and the same victims run on a fresh
engine without the attack. Sharing is on, with a tight context budget (two chunks of the
turn's own, room for shared ones) so the attackers' votes can reach victims.

Counts (all should be 0): attacker substrings in any victim's context or prompt, victim
answers that differ from the no-attack run, other sessions' ids visible to a victim. Starts
its own ArcadeDB Bolt server (``arcadedb-embedded``), or uses ``NEO4J_URI``'s. Writes
``benchmarks/results/knowledge_attack.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import contextual_avatar as ca  # noqa: E402
from contextual_avatar.knowledge import session_key  # noqa: E402
from contextual_avatar.testing import BoltServer  # noqa: E402
from contextual_avatar.testing._knowledge_attack import run_attack  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
GUIDE = REPO / "examples" / "data" / "guide.pdf"
RETRIEVAL = {"context_tokens": 360, "top_k": 2}
KNOWLEDGE = {"related_timeout_s": 10, "context_tokens": 100}


async def _count(engine: Any, names: Sequence[str]) -> int:
    sink = engine.parts.sink
    return sum([await sink.count(session_prefix=session_key(n)) for n in names])


async def _backend(
    name: str, knowledge: dict[str, Any], work: Path, attackers: int, embedder: Any
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]

    async def make(label: str) -> tuple[ca.AsyncContextEngine, str]:
        config = ca.EngineConfig(
            data_dir=work / name / label, retrieval=RETRIEVAL, knowledge=knowledge
        )
        engine = ca.AsyncContextEngine(config, parts=ca.Parts(embedder=embedder))
        return engine, f"{label}-{run}"

    report = await run_attack(
        make, guide=GUIDE, attackers=attackers, rounds=1, count_attacker_facts=_count
    )
    out = report.as_dict()
    out["examples_leaked"] = report.leaked[:5]
    out["examples_changed"] = report.changed[:5]
    print(f"{name:7s} {out}", flush=True)
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from contextual_avatar.retrieval import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    results: dict[str, Any] = {"attackers": args.attackers, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["sqlite"] = await _backend(
            "sqlite", {"backend": "sqlite", **KNOWLEDGE}, work, args.attackers, embedder
        )
        uri = os.environ.get("NEO4J_URI")
        if uri:
            bolt = {
                "uri": uri,
                "user": os.environ.get("NEO4J_USER", "neo4j"),
                "password": os.environ.get("NEO4J_PASSWORD", ""),
            }
            results["bolt"] = await _backend(
                "bolt", {"backend": "neo4j", **bolt, **KNOWLEDGE}, work, args.attackers, embedder
            )
        else:
            with BoltServer(work / "bolt-server") as server:
                bolt = {"uri": server.uri, "user": server.user, "password": server.password}
                results["bolt"] = await _backend(
                    "bolt",
                    {"backend": "neo4j", **bolt, **KNOWLEDGE},
                    work,
                    args.attackers,
                    embedder,
                )
    results["load_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "knowledge_attack.json").write_text(json.dumps(results, indent=2))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--attackers", type=int, default=250)
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
