"""Citation markers never reach the spoken text, however the text is split into deltas."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contextual_avatar.integrations import SpokenText, strip_citations

PIECES = st.sampled_from(["a", "b", " ", "[", "]", ",", "1", "2", "12", ".", "\n", "9 euros"])


def test_strip_citations_removes_markers_and_the_space_before_them():
    assert strip_citations("It costs 9 euros [1].") == "It costs 9 euros."
    assert strip_citations("Open at 10:00 [1, 2][3] daily.") == "Open at 10:00 daily."
    # Brackets that are not citation markers stay.
    assert strip_citations("Say [hello] to [1a].") == "Say [hello] to [1a]."


@given(st.lists(PIECES, max_size=30), st.lists(st.integers(0, 60), max_size=8))
def test_streamed_text_equals_the_whole_text_stripped(pieces: list[str], cuts: list[int]):
    text = "".join(pieces)
    bounds = sorted({c for c in cuts if c <= len(text)})
    deltas = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)], strict=True)]
    spoken = SpokenText()
    out = "".join(spoken.feed(d) for d in deltas) + spoken.flush()
    assert out == strip_citations(text)


def test_only_what_may_still_become_a_marker_is_held_back():
    spoken = SpokenText()
    assert spoken.feed("Tickets cost 9 euros") == "Tickets cost 9 euros"
    assert spoken.feed(" [") == ""  # may be a marker: wait
    assert spoken.feed("1]") == ""
    assert spoken.feed(" for adults.") == " for adults."
    assert spoken.feed(" [see") == " [see"  # not a marker after all
    assert spoken.flush() == ""
