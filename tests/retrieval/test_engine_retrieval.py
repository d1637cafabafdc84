"""The engine's retrieval path with the real MiniLM: hybrid, conversation-aware, assembled."""

from __future__ import annotations

from pathlib import Path

import pytest

from contextual_avatar.ingest import count_tokens
from contextual_avatar.retrieval import FaissIndex

CURIE = (
    "Marie Curie was a physicist and chemist who studied radioactivity. "
    "She was born in Warsaw in 1867 and moved to Paris to study at the Sorbonne. "
    "She won the Nobel Prize in Physics in 1903 and in Chemistry in 1911. "
    "Her husband Pierre Curie shared the first prize with her."
)
EINSTEIN = (
    "Albert Einstein was a theoretical physicist who developed the theory of relativity. "
    "He was born in Ulm in 1879 and grew up in Munich. "
    "He received the Nobel Prize in Physics in 1921 for the photoelectric effect. "
    "He later emigrated to the United States and worked at Princeton."
)


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    paths = []
    for name, text in (("curie.txt", CURIE), ("einstein.txt", EINSTEIN)):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def doc_of(engine, name: str) -> str:
    return next(d.doc_id for d in engine.documents if d.name == name)


@pytest.mark.slow
def test_a_pronoun_follow_up_stays_on_the_conversation_document(make_engine, corpus):
    engine = make_engine(chunking={"chunk_tokens": 24, "overlap_tokens": 4})
    for path in corpus:
        engine.ingest(path)
    einstein = doc_of(engine, "einstein.txt")
    engine.ask("s1", "Tell me about Albert Einstein.")
    answer = engine.ask("s1", "Where was he born?")
    assert answer.context[0].chunk.doc_id == einstein
    assert "Ulm" in " ".join(sc.chunk.text for sc in answer.context[:2])


@pytest.mark.slow
def test_sessions_keep_their_own_conversation_state(make_engine, corpus):
    engine = make_engine(chunking={"chunk_tokens": 24, "overlap_tokens": 4})
    for path in corpus:
        engine.ingest(path)
    engine.ask("curie", "Tell me about Marie Curie.")
    engine.ask("einstein", "Tell me about Albert Einstein.")
    assert engine.ask("curie", "When did she win a prize?").context[0].chunk.doc_id == doc_of(
        engine, "curie.txt"
    )
    assert engine.ask("einstein", "When did he win a prize?").context[0].chunk.doc_id == doc_of(
        engine, "einstein.txt"
    )


@pytest.mark.slow
def test_context_is_assembled_within_the_token_budget(make_engine, corpus):
    engine = make_engine(
        chunking={"chunk_tokens": 16, "overlap_tokens": 4},
        retrieval={"top_k": 8, "context_tokens": 40},
        cache={"enabled": False},
    )
    for path in corpus:
        engine.ingest(path)
    answer = engine.ask("s", "Which prizes did Marie Curie win?")
    assert 0 < sum(count_tokens(sc.chunk.text) for sc in answer.context) <= 40
    for sc in answer.context:
        chunk = sc.chunk
        source = CURIE if chunk.doc_id == doc_of(engine, "curie.txt") else EINSTEIN
        assert source[chunk.offset : chunk.offset + len(chunk.text)] == chunk.text


@pytest.mark.slow
def test_bm25_is_saved_with_the_index_and_follows_a_replaced_file(make_engine, tmp_path, corpus):
    engine = make_engine(retrieval={"mode": "lexical"}, cache={"enabled": False})
    for path in corpus:
        engine.ingest(path)
    version = FaissIndex.current_version(tmp_path / "data" / "index")
    assert version is not None
    assert (version / "lexical" / "meta.json").exists()
    corpus[0].write_text("The zeppelin hangar holds three airships.", encoding="utf-8")
    engine.ingest(corpus[0])
    engine.close()

    reopened = make_engine(retrieval={"mode": "lexical"}, cache={"enabled": False})
    answer = reopened.ask("s", "zeppelin airships")
    assert "zeppelin" in answer.context[0].chunk.text
    assert all("Warsaw" not in sc.chunk.text for sc in answer.context)


@pytest.mark.slow
def test_every_retrieval_mode_answers(make_engine, corpus):
    for mode in ("dense", "lexical", "hybrid"):
        for conversation in (False, True):
            engine = make_engine(retrieval={"mode": mode, "conversation": conversation})
            for path in corpus:
                engine.ingest(path)
            answer = engine.ask(f"{mode}-{conversation}", "Where was Einstein born?")
            assert answer.context[0].chunk.doc_id == doc_of(engine, "einstein.txt"), mode
