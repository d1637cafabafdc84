"""The :class:`~contextual_avatar.Retriever` contract, as tests a host reuses.

What the engine relies on past ``search``'s signature: at most ``k`` distinct chunks,
each one that was indexed in the collection searched and never one from another
collection; a chunk comes back whole (its citations intact); its score is the cosine
of its stored vector to the best-matching query vector (the router and the cache
compare scores with cosine thresholds); a query equal to a chunk's vector finds that
chunk first; nothing indexed, or ``k=0``, gives an empty list::

    class TestMyRetriever(RetrieverContract):
        @pytest.fixture
        def make_retriever(self, tmp_path):
            def make(chunks, vectors, collection):
                ...  # index them in `collection`, return a retriever over it
            return make

``make_retriever(chunks, vectors, collection)`` is called once per collection a test
uses, with unit float32 vectors of :attr:`RetrieverContract.dim` columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from contextual_avatar.retrieval import Retriever
from contextual_avatar.types import Chunk, SourceRef, Span

__all__ = ["RetrieverContract"]

MakeRetriever = Callable[[Sequence[Chunk], npt.NDArray[np.float32], str], Retriever]

_TEXTS = (
    "Tickets cost 9 euros for adults and 5 euros for children aged 4 to 15.",
    "The museum opens at 10:00 and closes at 18:00, Tuesday to Sunday.",
    "Dogs are not allowed inside, except assistance dogs.",
    "The lighthouse was built in 1874 by the harbour board.",
    "A cafe on the ground floor serves soup, cake and coffee.",
    "Guided tours leave every hour from the main hall.",
    "Photography without flash is allowed in every gallery.",
    "The library holds 20,000 maps of the coast.",
)


def corpus(doc: str, *, dim: int, seed: int) -> tuple[list[Chunk], npt.NDArray[np.float32]]:
    """Chunks of one document (real sentences, page citations) and random unit vectors."""
    chunks = [
        Chunk(
            f"{doc}:{i}",
            doc,
            i,
            text,
            (Span(0, len(text), SourceRef(f"{doc}.pdf", page=i + 1)),),
        )
        for i, text in enumerate(_TEXTS)
    ]
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(chunks), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, vectors


class RetrieverContract:
    """Subclass with a ``make_retriever`` fixture; each test checks one promise."""

    #: Vector width the tests index.
    dim: ClassVar[int] = 16
    #: Largest gap tolerated between a returned score and the exact cosine.
    score_tolerance: ClassVar[float] = 1e-3

    def test_finds_the_chunk_whose_vector_is_the_query(self, make_retriever: MakeRetriever) -> None:
        chunks, vectors = corpus("guide", dim=self.dim, seed=1)
        retriever = make_retriever(chunks, vectors, "default")
        for i in (0, 3, 7):
            found = retriever.search([chunks[i].text], vectors[i : i + 1], 3)
            assert found, "nothing found for an indexed chunk"
            assert found[0].chunk.id == chunks[i].id, f"{chunks[i].id} not first"
            assert abs(found[0].score - 1.0) <= self.score_tolerance, found[0].score

    def test_at_most_k_distinct_indexed_chunks(self, make_retriever: MakeRetriever) -> None:
        chunks, vectors = corpus("guide", dim=self.dim, seed=2)
        retriever = make_retriever(chunks, vectors, "default")
        indexed = {c.id for c in chunks}
        query = vectors[:2]
        for k in (1, 3, len(chunks), len(chunks) + 5):
            found = retriever.search(["tickets for children", "and dogs?"], query, k)
            ids = [sc.chunk.id for sc in found]
            assert len(ids) <= k, f"{len(ids)} results for k={k}"
            assert len(set(ids)) == len(ids), "a chunk returned twice"
            assert set(ids) <= indexed, "a chunk that was never indexed"

    def test_k_zero_gives_nothing(self, make_retriever: MakeRetriever) -> None:
        chunks, vectors = corpus("guide", dim=self.dim, seed=3)
        retriever = make_retriever(chunks, vectors, "default")
        assert retriever.search(["tickets"], vectors[:1], 0) == []

    def test_an_empty_collection_gives_nothing(self, make_retriever: MakeRetriever) -> None:
        retriever = make_retriever([], np.zeros((0, self.dim), np.float32), "default")
        query = np.ones((1, self.dim), np.float32) / np.sqrt(self.dim)
        assert retriever.search(["tickets"], query, 5) == []

    def test_chunks_come_back_whole(self, make_retriever: MakeRetriever) -> None:
        chunks, vectors = corpus("guide", dim=self.dim, seed=4)
        retriever = make_retriever(chunks, vectors, "default")
        by_id = {c.id: c for c in chunks}
        for sc in retriever.search(["opening hours"], vectors[1:2], 4):
            assert sc.chunk == by_id[sc.chunk.id], "text, spans or citations changed"

    def test_scores_are_cosines_to_the_best_query(self, make_retriever: MakeRetriever) -> None:
        chunks, vectors = corpus("guide", dim=self.dim, seed=5)
        retriever = make_retriever(chunks, vectors, "default")
        rows = {c.id: i for i, c in enumerate(chunks)}
        queries = vectors[[2, 5]]
        for sc in retriever.search(["dogs", "tours"], queries, 5):
            exact = float((queries @ vectors[rows[sc.chunk.id]]).max())
            assert abs(sc.score - exact) <= self.score_tolerance, (sc.chunk.id, sc.score, exact)

    def test_several_queries_find_each_ones_best(self, make_retriever: MakeRetriever) -> None:
        chunks, vectors = corpus("guide", dim=self.dim, seed=6)
        retriever = make_retriever(chunks, vectors, "default")
        found = {sc.chunk.id for sc in retriever.search(["a", "b"], vectors[[1, 6]], 4)}
        assert {chunks[1].id, chunks[6].id} <= found

    def test_never_returns_another_collections_chunks(self, make_retriever: MakeRetriever) -> None:
        mine, my_vectors = corpus("mine", dim=self.dim, seed=7)
        theirs, their_vectors = corpus("theirs", dim=self.dim, seed=8)
        their_vectors = my_vectors.copy()  # identical vectors, identical texts
        retriever = make_retriever(mine, my_vectors, "museum")
        make_retriever(theirs, their_vectors, "hr-assistant")
        for i in range(len(mine)):
            found = retriever.search([mine[i].text], my_vectors[i : i + 1], len(mine) * 2)
            assert found, "nothing found in the searched collection"
            docs = {sc.chunk.doc_id for sc in found}
            assert docs == {"mine"}, f"cross-collection chunks: {docs - {'mine'}}"
