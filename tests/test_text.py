"""The shared text analyser: terms, names, sentences and chunk ids (``contextual_avatar._text``)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar import _text, cache, retrieval, routing
from contextual_avatar._text import (
    FACT_STOP_WORDS,
    STOP_WORDS,
    chunk_id,
    chunk_range,
    document_of,
    entities,
    merged_chunk_id,
    sentence_boundaries,
    split_chunk_id,
    split_sentences,
    stem,
    terms,
    words,
)

from .strategies import texts

# Document ids with colons in them (the ordinal is read after the last one).
doc_ids = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4).map(":".join)
ordinals = st.integers(min_value=0, max_value=10**9)
stop_words = st.lists(st.sampled_from(sorted(STOP_WORDS)), max_size=6).map(" ".join)


def test_terms_drop_stop_words_and_stem() -> None:
    assert terms("How much do the Tickets cost?") == ["much", "ticket", "cost"]


def test_terms_of_only_stop_words_are_empty() -> None:
    assert terms("who was he to them?") == []


def test_entities_are_capitalised_non_stop_words_in_order_without_repeats() -> None:
    text = "What did Duane say? Duane thanked Euchre. The horse ran."
    assert entities(text) == ["Duane", "Euchre"]


def test_entities_ignore_all_caps_acronyms_and_lowercase() -> None:
    assert entities("the NASA rocket and paris") == []


def test_subpackages_re_export_the_one_analyser() -> None:
    assert retrieval.terms is terms
    assert retrieval.entities is entities
    assert retrieval.split_chunk_id is chunk_range  # public name, reads merged ids too
    assert cache.document_of is document_of
    assert routing.split_sentences is split_sentences


def test_fact_stop_words_extend_the_retrievers() -> None:
    assert STOP_WORDS < FACT_STOP_WORDS
    assert {"please", "okay", "don't"} <= FACT_STOP_WORDS - STOP_WORDS


@given(texts)
def test_terms_are_the_stemmed_lower_case_content_words(text: str) -> None:
    kept = [w for w in words(text) if len(w) > 1 and w not in STOP_WORDS]
    got = terms(text)
    assert got == [stem(w) for w in kept]  # the stemmer runs once per word, no more
    assert all(t == t.lower() and t for t in got)
    assert terms(text.lower()) == got


@given(texts, stop_words, texts)
def test_stop_words_anywhere_change_no_terms(before: str, stops: str, after: str) -> None:
    assert terms(f"{before} {stops} {after}") == terms(before) + terms(after)


@given(st.text(max_size=30))
def test_stem_strips_at_most_one_suffix_and_keeps_three_letters(word: str) -> None:
    s = stem(word)
    assert word.startswith(s)
    assert len(word) - len(s) in (0, 1, 2, 3)
    if s != word:
        assert len(s) >= 3
        assert word[len(s) :] in ("ing", "ies", "es", "s", "ed")


@given(texts)
def test_sentences_are_ordered_disjoint_trimmed_ranges_of_the_text(text: str) -> None:
    ranges = split_sentences(text)
    end = 0
    for start, stop in ranges:
        assert end <= start < stop <= len(text)
        piece = text[start:stop]
        assert piece == piece.strip()
        assert any(c.isalnum() or c == "_" for c in piece)
        end = stop
    bounds = sentence_boundaries(text)
    assert bounds == sorted(set(bounds))
    assert all(0 < b < len(text) for b in bounds)


def test_a_single_line_break_ends_a_sentence_only_after_a_short_line() -> None:
    long_line = "A family ticket for two adults and up to three children"
    text = f"Prices\n{long_line}\ncosts 22 euros. Done."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Prices",
        f"{long_line}\ncosts 22 euros.",
        "Done.",
    ]


@given(doc_ids, ordinals)
def test_chunk_ids_read_back(doc_id: str, ordinal: int) -> None:
    cid = chunk_id(doc_id, ordinal)
    assert split_chunk_id(cid) == (doc_id, ordinal)
    assert chunk_range(cid) == (doc_id, ordinal, ordinal)
    assert document_of(cid) == doc_id


@given(doc_ids, ordinals, st.integers(min_value=0, max_value=1000))
def test_merged_ids_read_back(doc_id: str, first: int, extra: int) -> None:
    cid = merged_chunk_id(doc_id, first, first + extra)
    assert chunk_range(cid) == (doc_id, first, first + extra)
    assert document_of(cid) == doc_id
    if extra:
        with pytest.raises(ValueError, match="merged"):
            split_chunk_id(cid)
    else:
        assert cid == chunk_id(doc_id, first)


@pytest.mark.parametrize(
    "bad", ["7", ":7", "doc", "doc:", "doc:x", "doc:-1", "doc:5-3", "doc: 7", "doc:7-", "doc:+7"]
)
def test_malformed_ids_raise_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="not a chunk id"):
        chunk_range(bad)
    with pytest.raises(ValueError, match="not a chunk id"):
        split_chunk_id(bad)


def test_ids_that_could_not_be_read_back_are_not_made() -> None:
    for args in (("", 0), ("doc", -1)):
        with pytest.raises(ValueError, match="no chunk id"):
            chunk_id(*args)
    with pytest.raises(ValueError, match="no chunk id"):
        merged_chunk_id("doc", 4, 3)


def test_document_of_any_other_key_is_the_key() -> None:
    assert document_of("a:b:3-5") == "a:b"
    assert document_of("plain") == "plain"
    assert document_of(":7") == ":7"


def test_module_needs_only_the_standard_library() -> None:
    # Every layer imports it, so it must not pull in any of them (or anything heavy).
    tree = ast.parse(Path(_text.__file__).read_text(encoding="utf-8"))
    modules = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert all(m in sys.stdlib_module_names or m == "contextual_avatar.types" for m in modules)
