from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar.config import ChunkingConfig
from contextual_avatar.ingest import chunk_segments, count_tokens
from contextual_avatar.ingest._chunker import join_segments
from contextual_avatar.types import Segment, SourceRef
from tests.strategies import paged_segments, timed_segments

configs = st.builds(
    lambda size, frac: ChunkingConfig(chunk_tokens=size, overlap_tokens=int(size * frac)),
    st.integers(min_value=8, max_value=64),
    st.floats(min_value=0.0, max_value=0.6),
)


@given(segments=st.one_of(paged_segments(), timed_segments()), config=configs)
@settings(max_examples=150, deadline=None)
def test_every_character_lies_in_some_chunk(segments, config):
    text, _ = join_segments(segments)
    chunks = chunk_segments(segments, doc_id="d", config=config)
    covered_to = 0
    for c in chunks:
        assert text[c.offset : c.offset + len(c.text)] == c.text
        assert c.offset <= covered_to, "a gap between chunks"
        covered_to = max(covered_to, c.offset + len(c.text))
    assert covered_to == len(text)


@given(segments=st.one_of(paged_segments(), timed_segments()), config=configs)
@settings(max_examples=150, deadline=None)
def test_each_span_cites_the_segment_its_text_came_from(segments, config):
    by_ref = {s.ref: s.text for s in segments}
    for chunk in chunk_segments(segments, doc_id="d", config=config):
        for span in chunk.spans:
            piece = chunk.text[span.start : span.end]
            assert piece in by_ref[span.ref], "span text is not from the cited page/time range"
        # spans are ordered and inside the chunk
        assert all(0 <= s.start < s.end <= len(chunk.text) for s in chunk.spans)


@given(segments=paged_segments(), config=configs)
@settings(max_examples=100, deadline=None)
def test_chunks_respect_the_token_budget(segments, config):
    for chunk in chunk_segments(segments, doc_id="d", config=config):
        # re-encoding a slice can merge or split tokens at the edges: allow one either side
        assert count_tokens(chunk.text) <= config.chunk_tokens + 2


def test_ids_are_stable_and_ordered():
    segs = [Segment("One. Two. Three. " * 40, SourceRef("a.txt"))]
    cfg = ChunkingConfig(chunk_tokens=32, overlap_tokens=8)
    first = chunk_segments(segs, doc_id="abc", config=cfg)
    again = chunk_segments(segs, doc_id="abc", config=cfg)
    assert [c.id for c in first] == [f"abc:{i}" for i in range(len(first))]
    assert first == again


def test_windows_end_on_sentence_boundaries_when_they_can():
    sentences = [f"Sentence number {i} says something short." for i in range(40)]
    segs = [Segment(" ".join(sentences), SourceRef("a.txt"))]
    chunks = chunk_segments(
        segs, doc_id="d", config=ChunkingConfig(chunk_tokens=40, overlap_tokens=10)
    )
    assert len(chunks) > 3
    assert all(c.text.rstrip().endswith(".") for c in chunks)


def test_chunk_spanning_two_pages_cites_both():
    segs = [
        Segment("Alpha page text.", SourceRef("a.pdf", page=1)),
        Segment("Beta page text.", SourceRef("a.pdf", page=2)),
    ]
    [chunk] = chunk_segments(segs, doc_id="d", config=ChunkingConfig())
    assert [r.page for r in chunk.refs] == [1, 2]
    beta = chunk.text.index("Beta")
    assert [r.page for r in chunk.refs_between(beta, beta + 4)] == [2]


def test_empty_segments_make_no_chunks():
    assert chunk_segments([], doc_id="d", config=ChunkingConfig()) == []
