from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar.ingest import ChunkingConfig, chunk_segments, count_tokens
from contextual_avatar.ingest._chunker import join_segments
from contextual_avatar.retrieval import assemble_context, merge_chunks
from contextual_avatar.types import Chunk, ScoredChunk, Segment, SourceRef
from tests.strategies import paged_segments, timed_segments

SMALL = ChunkingConfig(chunk_tokens=12, overlap_tokens=4)
STORY = (
    "Duane woke early. He felt bright and eager, and grateful to Euchre. "
    "The old outlaw had saved his life. They rode north to the river at dawn. "
    "At the river they met a stranger who asked about the ranger company. "
    "Duane said nothing and watched the hills. Euchre talked about the town."
)


def story_chunks(doc: str = "d", text: str = STORY) -> list[Chunk]:
    return chunk_segments([Segment(text, SourceRef(f"{doc}.txt"))], doc_id=doc, config=SMALL)


def scored(chunks: list[Chunk]) -> list[ScoredChunk]:
    return [ScoredChunk(c, 1.0 - i / 100) for i, c in enumerate(chunks)]


def test_adjacent_chunks_merge_into_the_document_text():
    cs = story_chunks()
    merged = merge_chunks(cs[0], cs[1])
    assert merged is not None
    assert STORY[merged.offset : merged.offset + len(merged.text)] == merged.text
    assert merged.id == "d:0-1"
    assert merged.ordinal == 0
    assert merge_chunks(cs[1], cs[0]) == merged  # order does not matter


def test_chunks_of_other_documents_or_with_a_gap_do_not_merge():
    a, b = story_chunks("a"), story_chunks("b")
    assert merge_chunks(a[0], b[1]) is None
    assert merge_chunks(a[0], a[3]) is None


def test_neighbours_are_merged_and_ordered_by_best_rank():
    cs = story_chunks()
    context = assemble_context(
        scored([cs[3], cs[0], cs[4]]), budget_tokens=500, count_tokens=count_tokens
    )
    assert [sc.chunk.id for sc in context] == ["d:3-4", "d:0"]
    assert context[0].score == 1.0


def test_a_chunk_bridging_two_pieces_joins_them():
    cs = story_chunks()
    context = assemble_context(
        scored([cs[0], cs[2], cs[1]]), budget_tokens=500, count_tokens=count_tokens
    )
    assert [sc.chunk.id for sc in context] == ["d:0-2"]


def test_near_duplicates_from_another_document_are_dropped():
    a, b = story_chunks("a"), story_chunks("b")
    context = assemble_context(scored([a[2], b[2]]), budget_tokens=500, count_tokens=count_tokens)
    assert [sc.chunk.id for sc in context] == ["a:2"]


def test_budget_limits_the_context_and_lower_ranks_give_way():
    cs = story_chunks()
    budget = count_tokens(cs[0].text) + count_tokens(cs[2].text)
    context = assemble_context(
        scored([cs[0], cs[2], cs[4], cs[6]]), budget_tokens=budget, count_tokens=count_tokens
    )
    assert [sc.chunk.id for sc in context] == ["d:0", "d:2"]


def test_a_chunk_larger_than_the_budget_is_cut_with_its_spans():
    cs = story_chunks()
    context = assemble_context(scored(cs[:1]), budget_tokens=3, count_tokens=count_tokens)
    assert len(context) == 1
    piece = context[0].chunk
    assert count_tokens(piece.text) <= 3
    assert cs[0].text.startswith(piece.text)
    assert all(s.end <= len(piece.text) for s in piece.spans)


def test_nothing_in_nothing_out():
    assert assemble_context([], budget_tokens=100, count_tokens=count_tokens) == []


@settings(max_examples=60, deadline=None)
@given(
    segments=st.one_of(paged_segments(), timed_segments()),
    data=st.data(),
    budget=st.integers(min_value=1, max_value=120),
)
def test_context_fits_the_budget_and_citations_stay_exact(segments, data, budget):
    chunks = chunk_segments(segments, doc_id="doc", config=SMALL)
    if not chunks:
        return
    text, placed = join_segments(segments)
    ranked = data.draw(st.permutations(chunks))
    context = assemble_context(
        scored(list(ranked)), budget_tokens=budget, count_tokens=count_tokens
    )

    assert sum(count_tokens(sc.chunk.text) for sc in context) <= budget
    intervals = []
    for sc in context:
        piece = sc.chunk
        # The piece is the document's own text at its offset ...
        assert text[piece.offset : piece.offset + len(piece.text)] == piece.text
        # ... and every span cites the segment its characters came from.
        last_end = 0
        for span in piece.spans:
            assert last_end <= span.start < span.end <= len(piece.text)
            last_end = span.end
            lo, hi = piece.offset + span.start, piece.offset + span.end
            assert any(
                p.segment.ref == span.ref and p.start <= lo and hi <= p.end for p in placed
            ), (span, piece.id)
        intervals.append((piece.offset, piece.offset + len(piece.text)))
    # No piece repeats another one whole.
    for i, (a0, a1) in enumerate(intervals):
        for j, (b0, b1) in enumerate(intervals):
            assert i == j or not (b0 <= a0 and a1 <= b1)
    # The best chunk is in the context whenever it fits alone.
    best = ranked[0]
    if count_tokens(best.text) <= budget:
        start, end = best.offset, best.offset + len(best.text)
        assert any(a0 <= start and end <= a1 for a0, a1 in intervals)
