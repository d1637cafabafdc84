from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

import contextual_avatar as ca
from contextual_avatar.testing import make_pdf

pytestmark = pytest.mark.slow


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_issue_scenario(make_engine, guide_pdf):
    eng = make_engine()
    report = eng.ingest(guide_pdf)
    assert report.kind == "pdf" and report.segments == 2 and report.chunks > 0
    a = eng.ask("s1", "How much does an adult ticket cost?")
    assert "9" in a.text
    assert any(c.page == 2 for c in a.citations)
    assert a.context and all(sc.chunk.text and sc.chunk.refs for sc in a.context)
    assert not a.cache_hit
    b = eng.ask("s1", "And for children?")
    assert b.cache_hit, b.cache.reason
    assert "5 euros" in b.text
    assert set(b.timings) >= {"embed", "cache", "search", "answer", "total"}
    assert b.timings["search"] == 0.0


def test_sessions_never_share_a_cache(make_engine, guide_pdf):
    eng = make_engine()
    eng.ingest(guide_pdf)
    eng.ask("alice", "How much does an adult ticket cost?")
    bob = eng.ask("bob", "How much does an adult ticket cost?")
    assert not bob.cache_hit and bob.cache.reason == "session cache is empty"


@pytest.mark.parametrize("session", ["*", "a:b", "line\nbreak", "{tag}", "x" * 256, "ünïcødé 👩‍🔬"])
def test_odd_session_ids_are_isolated(make_engine, guide_pdf, session):
    eng = make_engine()
    eng.ingest(guide_pdf)
    eng.ask("other", "How much does an adult ticket cost?")
    answer = eng.ask(session, "How much does an adult ticket cost?")
    assert not answer.cache_hit and answer.session_id == session


@pytest.mark.parametrize("session", ["", "x" * 257, None, 5])
def test_unusable_session_ids_are_refused(make_engine, session):
    with pytest.raises(ca.InputError, match="session_id"):
        make_engine().ask(session, "hello?")


def test_empty_question_is_refused(make_engine):
    with pytest.raises(ca.InputError, match="question"):
        make_engine().ask("s", "   ")


def test_reingesting_unchanged_content_is_a_no_op(make_engine, guide_pdf, tmp_path):
    eng = make_engine()
    eng.ingest(guide_pdf)
    before = tree_digest(tmp_path / "data")
    again = eng.ingest(guide_pdf)
    assert again.unchanged and again.chunks == 0
    assert tree_digest(tmp_path / "data") == before


def test_changed_file_replaces_its_old_version(make_engine, tmp_path):
    eng = make_engine()
    doc = make_pdf(tmp_path / "menu.pdf", ["Soup costs 4 euros."])
    eng.ingest(doc)
    make_pdf(doc, ["Soup costs 6 euros now."])
    eng.ingest(doc)
    assert [d.name for d in eng.documents] == ["menu.pdf"]
    assert "6 euros" in eng.ask("s", "How much is the soup?").text


def test_index_persists_across_engines(make_engine, guide_pdf):
    make_engine().ingest(guide_pdf)
    fresh = make_engine()
    assert [d.name for d in fresh.documents] == ["guide.pdf"]
    assert fresh.ingest(guide_pdf).unchanged


FERRY = "The harbour ferry leaves at nine. A return ticket costs 7 euros.\n"


def test_known_content_under_a_new_name_is_recorded_under_that_name(make_engine, tmp_path):
    eng = make_engine()
    a, b = tmp_path / "a.txt", tmp_path / "b.md"
    a.write_text(FERRY)
    b.write_bytes(a.read_bytes())
    first = eng.ingest(a)
    report = eng.ingest(b)
    assert report.unchanged and report.kind == "text" and report.path == str(b)
    assert report.doc_id == first.doc_id and report.chunks == 0
    assert [(d.name, d.kind, d.doc_id) for d in eng.documents] == [
        ("a.txt", "text", first.doc_id),
        ("b.md", "text", first.doc_id),
    ]
    before = tree_digest(tmp_path / "data")
    assert eng.ingest(b).unchanged  # the same path again: a no-op
    assert tree_digest(tmp_path / "data") == before
    assert [d.name for d in make_engine().documents] == ["a.txt", "b.md"]


def test_known_content_under_a_name_of_another_kind_is_refused(make_engine, tmp_path):
    eng = make_engine()
    a, fake = tmp_path / "a.txt", tmp_path / "a.pdf"
    a.write_text(FERRY)
    fake.write_bytes(a.read_bytes())
    eng.ingest(a)
    with pytest.raises(ca.IngestError, match="already indexed as text"):
        eng.ingest(fake)
    assert [d.name for d in eng.documents] == ["a.txt"]


def test_new_content_at_the_first_name_leaves_the_other_name_cited(make_engine, tmp_path):
    eng = make_engine()
    a, b = tmp_path / "a.txt", tmp_path / "b.md"
    a.write_text(FERRY)
    b.write_bytes(a.read_bytes())
    eng.ingest(a)
    eng.ingest(b)
    a.write_text("The museum opens at ten on weekdays.\n")
    eng.ingest(a)
    assert [d.name for d in eng.documents] == ["b.md", "a.txt"]
    answer = eng.ask("s", "How much is a return ferry ticket?")
    assert "7 euros" in answer.text
    assert [c.source for c in answer.citations] == ["b.md"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("missing.pdf", None, "no such file"),
        ("empty.pdf", b"", "empty"),
        ("corrupt.pdf", b"%PDF-1.4 garbage" * 20, "not a readable PDF"),
        ("scan.pdf", "no-text-layer", "text layer"),
        ("locked.pdf", "encrypted", "encrypted"),
        ("notes.docx", b"PK\x03\x04 zip", "unknown file type"),
    ],
)
def test_failed_ingest_changes_nothing(make_engine, guide_pdf, tmp_path, name, content, reason):
    eng = make_engine()
    eng.ingest(guide_pdf)
    before = tree_digest(tmp_path / "data")
    path = tmp_path / name
    if content == "no-text-layer":
        make_pdf(path, ["", ""])
    elif content == "encrypted":
        make_pdf(path, ["secret"], password="pw-123456")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ca.IngestError, match=reason) as info:
        eng.ingest(path)
    assert name in str(info.value)
    assert tree_digest(tmp_path / "data") == before
    assert [d.name for d in eng.documents] == ["guide.pdf"]


def test_directory_is_refused(make_engine, tmp_path):
    with pytest.raises(ca.IngestError, match="directory"):
        make_engine().ingest(tmp_path)


def test_transcripts_are_cited_by_time(make_engine, tmp_path):
    vtt = tmp_path / "call.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Ana>Welcome to the weekly call.\n\n"
        "00:01:12.000 --> 00:01:31.000\n<v Ben>The launch date moved to the ninth of March.\n"
    )
    eng = make_engine()
    eng.ingest(vtt)
    answer = eng.ask("s", "When is the launch?")
    assert "ninth of March" in answer.text
    assert [str(c) for c in answer.citations] == ["call.vtt 01:12-01:31 (Ben)"]


def test_blocking_face_refuses_to_run_inside_its_own_loop(make_engine, guide_pdf):
    class Reentrant:
        """A host responder that (wrongly) calls the blocking engine from its loop."""

        model = "reentrant"
        engine: ca.ContextEngine | None = None

        async def respond(self, question, *, context, history):
            assert self.engine is not None
            return self.engine.ask("s", "again?")

    responder = Reentrant()
    eng = make_engine(parts=ca.Parts(small=responder, large=responder))
    responder.engine = eng
    eng.ingest(guide_pdf)
    with pytest.raises(RuntimeError, match="inside its own event loop"):
        eng.ask("s", "How much does an adult ticket cost?")


async def test_async_core_answers_concurrent_sessions(embedder, guide_pdf, tmp_path):
    config = ca.EngineConfig(data_dir=tmp_path / "d")
    async with ca.AsyncContextEngine(config, parts=ca.Parts(embedder=embedder)) as eng:
        await eng.ingest(guide_pdf)
        answers = await asyncio.gather(
            *(eng.ask(f"s{i}", "How much does an adult ticket cost?") for i in range(8))
        )
    assert all("9 euros" in a.text for a in answers)
    assert not any(a.cache_hit for a in answers)


def test_closed_engine_refuses_calls(make_engine):
    eng = make_engine()
    eng.close()
    eng.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        eng.ask("s", "hello?")


def test_a_config_priced_large_tier_prices_the_baseline_before_its_first_call(
    make_engine, guide_pdf
):
    # Regression: the ledger asked litellm's map for the large model's prices, which are
    # only registered on that model's first call, so a first small-tier turn raised.
    large = {
        "model": "openai/house-model",
        "api_base": "http://127.0.0.1:9/v1",
        "input_usd_per_mtok": 2.5,
        "output_usd_per_mtok": 10.0,
    }
    eng = make_engine(routing={"large": large, "threshold": 0.0})
    eng.ingest(guide_pdf)
    answer = eng.ask("s", "How much does an adult ticket cost?")
    assert answer.route.tier is ca.Tier.SMALL
    assert answer.cost_usd == 0.0
    assert answer.saved_usd > 0.0
