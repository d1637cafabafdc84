from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.knowledge import (
    ANSWERED,
    ASKED,
    MENTIONS,
    RELATED_TO,
    RELIED_ON,
    entity_key,
    extract_entities,
    extract_facts,
    fact_id,
    index_terms,
)
from contextual_avatar.types import SourceRef

from .helpers import make_answer

Q = "How tall is the Eiffel Tower?"
A = "The Eiffel Tower is 330 m tall and cost $1.5 million in 1889, says Gustave Eiffel."


def facts() -> list:
    return extract_facts(session_id="s1", turn=3, question=Q, answer=make_answer(Q, A), now=42.0)


def test_provenance_facts_of_a_turn() -> None:
    by_pred: dict[str, list] = {}
    for f in facts():
        by_pred.setdefault(f.predicate, []).append(f)
    (asked,) = by_pred[ASKED]
    assert (asked.subject, asked.object) == ("s1", Q)
    (answered,) = by_pred[ANSWERED]
    assert (answered.subject, answered.object) == (Q, A)
    assert answered.sources == (SourceRef("guide.pdf", page=3),)
    (relied,) = by_pred[RELIED_ON]
    assert relied.object == "guide.pdf:0"
    for f in facts():
        assert (f.session_id, f.turn, f.created_at) == ("s1", 3, 42.0)


def test_entities_and_relations() -> None:
    got = facts()
    mentioned = {f.object for f in got if f.predicate == MENTIONS and f.subject == Q}
    assert {"Eiffel Tower", "330 m", "$1.5 million", "1889", "Gustave Eiffel"} <= mentioned
    from_context = {f.object for f in got if f.predicate == MENTIONS and f.subject == "guide.pdf:0"}
    assert {"Eiffel Tower", "Paris", "330 m"} <= from_context
    related = {(f.subject, f.object) for f in got if f.predicate == RELATED_TO}
    assert ("Eiffel Tower", "330 m") in related


def test_ids_are_stable_content_hashes() -> None:
    first, second = facts(), facts()
    assert [f.id for f in first] == [f.id for f in second]
    assert len({f.id for f in first}) == len(first)
    other_turn = extract_facts(
        session_id="s1", turn=4, question=Q, answer=make_answer(Q, A), now=42.0
    )
    assert not {f.id for f in other_turn} & {f.id for f in first}


def test_empty_answer_has_no_answered_fact() -> None:
    got = extract_facts(
        session_id="s", turn=1, question="Hi?", answer=make_answer("Hi?", " "), now=0
    )
    assert ANSWERED not in {f.predicate for f in got}
    assert ASKED in {f.predicate for f in got}


def test_extract_entities() -> None:
    assert extract_entities("What did Jean de La Fontaine write?") == ["Jean de La Fontaine"]
    assert extract_entities("The Bank of England raised rates by 0.25 percent.") == [
        "Bank of England",
        "0.25 percent",
    ]
    assert extract_entities("What is it? How does that work?") == []
    assert extract_entities("Acme Corp has 300 employees and €12 of debt.") == [
        "Acme Corp",
        "300 employees",
        "€12",
    ]


def test_entity_key_normalises_case_width_and_space() -> None:
    assert entity_key("  Eiffel   TOWER ") == entity_key("eiffel tower") == "eiffel tower"
    assert entity_key("Ｅｉｆｆｅｌ") == "eiffel"  # full-width letters
    assert entity_key("Straße") == "strasse"


def test_index_terms_drop_stopwords() -> None:
    assert index_terms(["What is the refund window at Acme Corp?"]) == [
        "acme corp",
        "refund",
        "window",
        "acme",
        "corp",
    ]


@given(
    session=st.text(),
    turn=st.integers(min_value=0, max_value=10_000),
    question=st.text(),
    answer=st.text(),
)
def test_any_text_extracts_deterministically(
    session: str, turn: int, question: str, answer: str
) -> None:
    a = extract_facts(
        session_id=session,
        turn=turn,
        question=question,
        answer=make_answer(question, answer),
        now=1.0,
    )
    b = extract_facts(
        session_id=session,
        turn=turn,
        question=question,
        answer=make_answer(question, answer),
        now=1.0,
    )
    assert [f.id for f in a] == [f.id for f in b]
    assert len({f.id for f in a}) == len(a)
    assert a[0].predicate == ASKED
    assert a[0].object == question


@given(
    parts=st.lists(st.text(), min_size=5, max_size=5),
    other=st.lists(st.text(), min_size=5, max_size=5),
)
def test_fact_id_distinguishes_fields(parts: list[str], other: list[str]) -> None:
    def fid(p: list[str]) -> str:
        return fact_id(
            at=0.0, session_id=p[0], turn=len(p[1]), subject=p[2], predicate=p[3], obj=p[4]
        )

    if (parts[0], len(parts[1]), *parts[2:]) != (other[0], len(other[1]), *other[2:]):
        assert fid(parts) != fid(other)
    # Field boundaries matter: moving text between fields changes the id.
    assert fact_id(at=0.0, session_id="ab", turn=1, subject="c", predicate="p", obj="o") != fact_id(
        at=0.0, session_id="a", turn=1, subject="bc", predicate="p", obj="o"
    )


def test_a_turn_number_used_again_names_new_facts() -> None:
    # Turn numbers start again when a session's history is lost (expiry, a Redis restart,
    # an outage served from memory). The same question, answer and context at "turn 1"
    # a minute later must not merge into the first turn 1's facts.
    answer = make_answer("Who guides the tour?", "Margaret guides the tour.")
    first = extract_facts(
        session_id="s", turn=1, question="Who guides the tour?", answer=answer, now=100.0
    )
    again = extract_facts(
        session_id="s", turn=1, question="Who guides the tour?", answer=answer, now=160.0
    )
    same = extract_facts(
        session_id="s", turn=1, question="Who guides the tour?", answer=answer, now=100.0
    )
    assert first and {f.id for f in first}.isdisjoint(f.id for f in again)
    assert [f.id for f in first] == [f.id for f in same]  # re-extraction is stable
