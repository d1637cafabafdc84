"""The engine and the shared knowledge graph: what one avatar learns, another sees."""

from __future__ import annotations

from pathlib import Path

import pytest

import contextual_avatar as ca
from contextual_avatar.knowledge import SQLiteGraphSink

pytestmark = pytest.mark.slow


def engine(embedder, data_dir: Path, graph: Path) -> ca.ContextEngine:
    # A generous related() timeout so a loaded CI machine cannot drop the facts under test.
    knowledge = {"path": graph, "related_timeout_s": 10}
    config = ca.EngineConfig(data_dir=data_dir, knowledge=knowledge)
    return ca.ContextEngine(config, parts=ca.Parts(embedder=embedder))


def test_a_fact_taught_to_one_avatar_reaches_another(embedder, guide_pdf, tmp_path):
    graph = tmp_path / "shared.sqlite3"
    with engine(embedder, tmp_path / "a", graph) as avatar_a:
        avatar_a.ingest(guide_pdf)
        avatar_a.ask("visitor-a", "How much does an adult ticket cost?")
        avatar_a.flush()
    with engine(embedder, tmp_path / "b", graph) as avatar_b:
        avatar_b.ingest(guide_pdf)
        answer = avatar_b.ask("visitor-b", "What does an adult ticket cost?")
    assert answer.facts, "avatar B got nothing from the shared graph"
    assert all(f.session_id == "visitor-a" for f in answer.facts)
    learned = [sc for sc in answer.context if sc.chunk.doc_id == ca.types.KNOWLEDGE_DOC_ID]
    assert learned and all("shared knowledge" in str(sc.chunk.refs[0]) for sc in learned)
    # The extractive answer still quotes the document, not the fact line.
    assert answer.text == "Tickets cost 9 euros for adults."


def test_own_session_facts_are_not_fed_back(embedder, guide_pdf, tmp_path):
    with engine(embedder, tmp_path / "a", tmp_path / "g.sqlite3") as avatar:
        avatar.ingest(guide_pdf)
        avatar.ask("s", "How much does an adult ticket cost?")
        avatar.flush()
        again = avatar.ask("s", "How much does an adult ticket cost?")
    assert again.facts == ()


async def test_every_turn_is_written_and_close_drains(embedder, guide_pdf, tmp_path):
    graph = tmp_path / "g.sqlite3"
    config = ca.EngineConfig(data_dir=tmp_path / "d", knowledge={"path": graph})
    async with ca.AsyncContextEngine(config, parts=ca.Parts(embedder=embedder)) as avatar:
        await avatar.ingest(guide_pdf)
        for q in ["How much does an adult ticket cost?", "And for children?", "When is it open?"]:
            await avatar.ask("s1", q)
    sink = SQLiteGraphSink(graph)
    try:
        assert await sink.count(session_prefix="s1") >= 3
    finally:
        await sink.close()


def test_knowledge_can_be_switched_off(embedder, guide_pdf, tmp_path):
    config = ca.EngineConfig(data_dir=tmp_path / "d", knowledge={"backend": "none"})
    with ca.ContextEngine(config, parts=ca.Parts(embedder=embedder)) as avatar:
        avatar.ingest(guide_pdf)
        assert avatar.ask("s", "How much does an adult ticket cost?").facts == ()
        avatar.flush()
    assert not list((tmp_path / "d").glob("*.sqlite3"))
