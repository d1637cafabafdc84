"""Attackers plant instructions, false claims, markup and prompt-format tokens; victims ask.

Issue 16's adversarial test, at a reduced size (the full one is
``benchmarks/knowledge_attack.py``): on SQLite and on the real Bolt server, victims on the
same documents must see 0 attacker characters in their context and prompt, give the same
answers as without the attack, and see no other session's id. The attack is real: the
attackers' turns are grounded (the answerer quotes the guide), so their votes are stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import contextual_avatar as ca
from contextual_avatar.knowledge import session_key
from contextual_avatar.testing._knowledge_attack import ATTACKS, run_attack

from ..knowledge.conftest import BoltTarget, bolt_target  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow

ATTACKERS, ROUNDS = 6, 1  # 48 attacker turns per backend
# A tight context budget (two chunks of the turn's own, room left for shared ones) and the
# default relevance floor, so the attackers' votes can reach victims' contexts.
RETRIEVAL = {"context_tokens": 360, "top_k": 2}
STRESS = {
    "backend": "sqlite",
    "related_timeout_s": 10,
    "context_tokens": 100,
}


async def _count(engine: Any, names: Sequence[str]) -> int:
    sink = engine.parts.sink
    total = 0
    for name in names:
        total += await sink.count(session_prefix=session_key(name))
    return int(total)


def _check(report: Any) -> None:
    assert report.attacker_turns == ATTACKERS * ROUNDS * len(ATTACKS)
    assert report.attacker_facts > 0, "the attackers' votes were not even stored"
    assert report.victims_given_shared_chunks > 0, "sharing never reached a victim"
    assert report.leaked == [], report.leaked
    assert report.changed == [], report.changed
    assert report.sessions_visible == [], report.sessions_visible


async def test_attack_on_sqlite_reaches_no_victim(embedder, guide_pdf, tmp_path: Path) -> None:
    async def make(name: str) -> tuple[ca.AsyncContextEngine, str]:
        config = ca.EngineConfig(data_dir=tmp_path / name, retrieval=RETRIEVAL, knowledge=STRESS)
        return ca.AsyncContextEngine(config, parts=ca.Parts(embedder=embedder)), "default"

    report = await run_attack(
        make, guide=guide_pdf, attackers=ATTACKERS, rounds=ROUNDS, count_attacker_facts=_count
    )
    _check(report)


async def test_attack_on_the_bolt_server_reaches_no_victim(
    embedder,
    guide_pdf,
    tmp_path: Path,
    bolt_target: BoltTarget,  # noqa: F811
) -> None:
    run = uuid.uuid4().hex[:8]
    knowledge = {
        "uri": bolt_target.uri,
        "user": bolt_target.user,
        "password": bolt_target.password,
        "database": bolt_target.database,
        **STRESS,
        "backend": "neo4j",
    }

    async def make(name: str) -> tuple[ca.AsyncContextEngine, str]:
        # One server for both runs: each run gets its own collection (never shared across).
        config = ca.EngineConfig(data_dir=tmp_path / name, retrieval=RETRIEVAL, knowledge=knowledge)
        return ca.AsyncContextEngine(config, parts=ca.Parts(embedder=embedder)), f"{name}-{run}"

    report = await run_attack(
        make, guide=guide_pdf, attackers=ATTACKERS, rounds=ROUNDS, count_attacker_facts=_count
    )
    _check(report)
