from __future__ import annotations

import pytest

from contextual_avatar.retrieval import ConversationState, split_chunk_id
from contextual_avatar.types import Turn


def test_split_chunk_id_reads_single_and_merged_ids():
    assert split_chunk_id("abc:7") == ("abc", 7, 7)
    assert split_chunk_id("a:b:3-5") == ("a:b", 3, 5)
    with pytest.raises(ValueError, match="not a chunk id"):
        split_chunk_id("7")


def test_empty_history_gives_an_empty_state():
    state = ConversationState.from_history([])
    assert state.empty
    assert not state.doc_focus


def test_latest_best_document_has_full_focus_and_older_ones_decay():
    history = [
        Turn("Who is Duane?", "Duane is an outlaw.", ("a:0", "b:1")),
        Turn("What did he do?", "He rode to Mercer.", ("c:2", "a:1")),
    ]
    state = ConversationState.from_history(history, decay=0.5)
    assert state.doc_focus["c"] == 1.0
    assert state.doc_focus["a"] == pytest.approx(
        0.5
    )  # rank 1 now, rank 0 a turn ago: 0.5 both ways
    assert state.doc_focus["b"] == pytest.approx(0.25)
    assert state.questions == ("Who is Duane?", "What did he do?")
    assert state.last_chunks == ("c:2", "a:1")


def test_interleaved_topics_all_stay_in_focus_by_maximum():
    turns = [Turn(f"q{i}", "", (f"{doc}:0",)) for i, doc in enumerate("aaabbbccc")]
    state = ConversationState.from_history(turns, turns=9, decay=0.95)
    assert set(state.doc_focus) == {"a", "b", "c"}
    assert min(state.doc_focus.values()) > 0.6


def test_only_the_last_turns_count():
    turns = [Turn("q", "", ("old:0",))] + [Turn("q", "", ("new:0",))] * 3
    state = ConversationState.from_history(turns, turns=3)
    assert "old" not in state.doc_focus


def test_merged_ids_are_expanded_to_their_chunks():
    state = ConversationState.from_history([Turn("q", "a", ("d:2-4",))])
    assert state.last_chunks == ("d:2", "d:3", "d:4")
    assert set(state.chunk_focus) == {"d:2", "d:3", "d:4"}


def test_entities_come_from_the_last_two_turns_most_recent_first():
    history = [
        Turn("Where is Paris?", "In France."),
        Turn("Who met Duane?", "Euchre met him."),
        Turn("What did he give?", "A horse from Mercer."),
    ]
    state = ConversationState.from_history(history)
    assert state.entities == ("Mercer", "Duane", "Euchre")
