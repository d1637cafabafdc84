"""Hostile conversation input: injected instructions in documents, hostile session ids.

Prompt injection inside a document must not change routing, citations or behaviour: the
route is computed from retrieval scores alone, citations name only indexed documents, and
other sessions are unaffected. Hostile session ids (glob characters, ``:``, braces,
newlines, Cypher) are ordinary, separate sessions; unusable ones raise ``InputError``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from contextual_avatar import ContextEngine, EngineConfig, Parts
from contextual_avatar.errors import InputError
from contextual_avatar.retrieval import MiniLMEmbedder

from .conftest import HOSTILE_DIR
from .test_isolation import HOSTILE_IDS

GUIDE = Path(__file__).resolve().parents[2] / "examples" / "data" / "guide.pdf"
QUESTION = "How much does an adult ticket cost?"


def test_injected_instructions_change_nothing(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    with ContextEngine(
        EngineConfig(data_dir=tmp_path / "clean"), parts=Parts(embedder=embedder)
    ) as clean:
        clean.ingest(GUIDE)
        baseline = clean.ask("s", QUESTION)
    with ContextEngine(
        EngineConfig(data_dir=tmp_path / "dirty"), parts=Parts(embedder=embedder)
    ) as eng:
        eng.ingest(GUIDE)
        eng.ingest(HOSTILE_DIR / "prompt_injection.md")
        eng.ingest(HOSTILE_DIR / "prompt_injection.pdf")
        indexed = {d.name for d in eng.documents}
        answer = eng.ask("s", QUESTION)
        # Same evidence, same route, same sources as without the hostile documents.
        assert answer.route.tier == baseline.route.tier
        assert answer.route.model == baseline.route.model
        assert answer.text == baseline.text
        assert [c.source for c in answer.citations] == [c.source for c in baseline.citations]
        # A question that does retrieve the injected text: still cited to a real document,
        # no invented source ("secrets.pdf page 99"), no obeyed instruction.
        probe = eng.ask("t", "When does the first ferry to the island leave?")
        assert {c.source for c in probe.citations} <= indexed
        assert "secrets.pdf" not in {c.source for c in probe.citations}
        assert probe.text.strip() != "PWNED"
        # The session that read the injection did not leak into another one.
        other = eng.ask("u", QUESTION)
        assert other.text == answer.text


def test_hostile_session_ids_are_separate_sessions_and_never_logged(
    tmp_path: Path, embedder: MiniLMEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [i for i in HOSTILE_IDS if i.strip() and "\ud800" not in i]
    with ContextEngine(
        EngineConfig(data_dir=tmp_path / "d"), parts=Parts(embedder=embedder)
    ) as eng:
        eng.ingest(GUIDE)
        with caplog.at_level(logging.DEBUG, logger="contextual_avatar"):
            for sid in ids:
                answer = eng.ask(sid, QUESTION)
                assert answer.session_id == sid and answer.citations
        for sid in ids:
            eng.forget(sid)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for sid in ids:
            if len(sid) >= 3:  # short ids like "*" occur in any text
                assert sid not in logged
        for bad in ["", "x" * 257, None, 42, "lone \ud800 surrogate"]:
            with pytest.raises(InputError):
                eng.ask(bad, QUESTION)  # type: ignore[arg-type]
        # A question with a lone surrogate is answered, not crashed on.
        assert eng.ask("s", "How much \udc00 is an adult ticket?").citations
