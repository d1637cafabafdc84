"""The retrieval prior re-ranks the turn's own candidates, a bounded number of places.

It must never add a chunk, drop one, change a score, or move anything when no vote
matches (every first asker): the budget is filled afterwards from the same candidates.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from contextual_avatar.pipeline._prior import lift, members
from contextual_avatar.types import Chunk, Fact, ScoredChunk


def scored(doc: str, ordinal: int, score: float = 0.5) -> ScoredChunk:
    cid = f"{doc}:{ordinal}"
    return ScoredChunk(Chunk(cid, doc, ordinal, f"text of {cid}", ()), score)


def vote(chunk_id: str) -> Fact:
    return Fact(
        id=f"f-{chunk_id}",
        subject="k" * 24,
        predicate="answered_by",
        object=chunk_id,
        session_id="",
        turn=0,
    )


def ids(ranked: list[ScoredChunk]) -> list[str]:
    return [sc.chunk.id for sc in ranked]


def test_a_voted_candidate_moves_up_at_most_the_lift() -> None:
    ranked = [scored("d", i) for i in range(7)]
    out, used = lift(ranked, [(vote("d:5"), 3)])
    assert ids(out) == ["d:0", "d:1", "d:5", "d:2", "d:3", "d:4", "d:6"]
    assert used == [vote("d:5")]
    # A larger lift carries it to the top, no further.
    out, _ = lift(ranked, [(vote("d:5"), 50)])
    assert ids(out)[0] == "d:5"


def test_votes_for_chunks_the_turn_did_not_find_add_nothing() -> None:
    ranked = [scored("d", i) for i in range(4)]
    out, used = lift(ranked, [(vote("other:1"), 3), (vote("d:9"), 3)])
    assert out == ranked
    assert used == []


def test_no_votes_or_no_lift_keeps_the_turns_own_order() -> None:
    ranked = [scored("d", i) for i in range(5)]
    assert lift(ranked, []) == (ranked, [])
    assert lift(ranked, [(vote("d:4"), 0)]) == (ranked, [])


def test_a_merged_piece_is_lifted_by_a_vote_for_one_of_its_chunks() -> None:
    piece = ScoredChunk(Chunk("d:3-4", "d", 3, "merged", ()), 0.4)
    ranked = [scored("d", 0), scored("d", 1), piece]
    out, _ = lift(ranked, [(vote("d:4"), 2)])
    assert ids(out)[0] == "d:3-4"
    assert members("d:3-4") == ["d:3", "d:4"]
    assert members("not a chunk id") == ["not a chunk id"]


def test_a_chunk_takes_its_largest_lift() -> None:
    ranked = [scored("d", i) for i in range(6)]
    weak, strong = vote("d:5"), dataclasses.replace(vote("d:5"), id="strong")
    out, used = lift(ranked, [(weak, 1), (strong, 4)])
    assert ids(out)[1] == "d:5"
    assert used == [strong]


def test_voted_chunks_keep_their_own_order_among_themselves() -> None:
    ranked = [scored("d", i) for i in range(6)]
    out, used = lift(ranked, [(vote("d:5"), 9), (vote("d:4"), 9)])
    assert ids(out)[:2] == ["d:4", "d:5"]
    assert used == [vote("d:4"), vote("d:5")]  # in the order of the candidates


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=12),
    voted=st.lists(st.integers(min_value=0, max_value=15), max_size=6, unique=True),
    places=st.integers(min_value=0, max_value=8),
)
def test_lift_is_a_bounded_permutation(n: int, voted: list[int], places: int) -> None:
    ranked = [scored("d", i, score=1.0 - i / 20) for i in range(n)]
    out, used = lift(ranked, [(vote(f"d:{v}"), places) for v in voted])
    # The same chunks with the same scores: nothing added, dropped or rescored.
    assert sorted(ids(out)) == sorted(ids(ranked))
    assert {sc.chunk.id: sc.score for sc in out} == {sc.chunk.id: sc.score for sc in ranked}
    before = {sc.chunk.id: i for i, sc in enumerate(ranked)}
    hit = {f"d:{v}" for v in voted if v < n}
    for i, sc in enumerate(out):
        cid = sc.chunk.id
        if cid in hit:
            assert i >= before[cid] - places  # a voted chunk rises at most `places`
        else:
            assert i >= before[cid]  # an unvoted chunk never rises
    unvoted = [c for c in ids(out) if c not in hit]
    assert unvoted == [c for c in ids(ranked) if c not in hit]  # their order is kept
    assert {f.object for f in used} == (hit if places > 0 and n >= 2 else set())
