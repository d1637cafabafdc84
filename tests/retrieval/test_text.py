from __future__ import annotations

from contextual_avatar.retrieval import entities, terms


def test_terms_drop_stop_words_and_stem():
    assert terms("How much do the Tickets cost?") == ["much", "ticket", "cost"]


def test_terms_of_only_stop_words_are_empty():
    assert terms("who was he to them?") == []


def test_entities_are_capitalised_non_stop_words_in_order_without_repeats():
    text = "What did Duane say? Duane thanked Euchre. The horse ran."
    assert entities(text) == ["Duane", "Euchre"]


def test_entities_ignore_all_caps_acronyms_and_lowercase():
    assert entities("the NASA rocket and paris") == []
