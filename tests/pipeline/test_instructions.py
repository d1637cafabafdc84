"""Host instructions are checked at the door like the question."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.errors import InputError
from contextual_avatar.pipeline import TurnState, check_instructions
from contextual_avatar.pipeline._checks import MAX_INSTRUCTIONS_CHARS


def test_absent_or_blank_instructions_are_none():
    assert check_instructions(None) is None
    assert check_instructions("  \n\t ") is None
    assert TurnState("s", "q").instructions is None


def test_instructions_are_stripped():
    assert check_instructions("  You are Margaret.\n") == "You are Margaret."


@pytest.mark.parametrize("bad", [42, b"bytes", ["You are"], {"role": "system"}])
def test_anything_but_text_is_refused(bad):
    with pytest.raises(InputError, match="instructions must be a string"):
        check_instructions(bad)


def test_the_length_limit_names_both_numbers():
    assert check_instructions("x" * MAX_INSTRUCTIONS_CHARS) == "x" * MAX_INSTRUCTIONS_CHARS
    with pytest.raises(InputError, match=f"{MAX_INSTRUCTIONS_CHARS + 1}.*{MAX_INSTRUCTIONS_CHARS}"):
        check_instructions("x" * (MAX_INSTRUCTIONS_CHARS + 1))


def test_a_lone_surrogate_is_replaced_not_passed_on():
    cleaned = check_instructions("Be kind \ud800 always")
    assert cleaned is not None and "\ud800" not in cleaned
    cleaned.encode("utf-8")


@given(st.text(max_size=300))
def test_whatever_passes_is_utf8_and_within_the_limit(text):
    cleaned = check_instructions(text)
    if cleaned is not None:
        cleaned.encode("utf-8")
        assert cleaned == cleaned.strip() and len(cleaned) <= MAX_INSTRUCTIONS_CHARS
