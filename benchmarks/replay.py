"""Conversation replay harness shared by the cache, retrieval and cost benchmarks.

Loads CoQA (``../shared/data/coqa-dev.json``, or bigbench's original ``coqa.test.json``;
the canary line is skipped), ingests every passage into ONE engine index (each passage a
``<story_id>.txt`` file; the data dir is cached under ``benchmarks/.cache/`` keyed by the
passages and chunking so re-runs skip ingest) and replays the conversations through the
public API, :meth:`AsyncContextEngine.ask`, in the issue's two scenarios:

* ``"single"``: one conversation per session;
* ``"meeting"``: sessions that interleave three conversations in blocks of three turns
  (A1-3, B1-3, C1-3, A4-6, ...), so topics switch and come back.

Each turn yields a :class:`TurnRecord` with the gold span, the context given to the
answerer, the cache decision, whether the gold span is inside the context, and the
*needed* chunk (the one that holds the gold span) for oracle traces.

Use from another benchmark::

    from benchmarks.replay import Replay

    replay = Replay(passages=60, conversations=30)
    await replay.prepare()
    async with replay.engine(cache={"capacity": 5}) as engine:
        records = await replay.run(engine, "meeting")

Run alone for a smoke report: ``.venv/bin/python benchmarks/replay.py --conversations 20``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import pickle
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(REPO / "src"))

from contextual_avatar import AsyncContextEngine, EngineConfig, Parts  # noqa: E402
from contextual_avatar.ingest import (  # noqa: E402
    ChunkingConfig,
    chunk_segments,
    clean_text,
    content_hash,
    kind_of,
    read_segments,
)
from contextual_avatar.retrieval import MiniLMEmbedder  # noqa: E402
from contextual_avatar.types import Answer, Chunk  # noqa: E402

__all__ = [
    "DEFAULT_COQA",
    "QA",
    "SCENARIOS",
    "CachingEmbedder",
    "Replay",
    "Scenario",
    "Session",
    "Story",
    "TurnRecord",
    "load_coqa",
    "make_sessions",
]

DEFAULT_COQA = REPO.parent / "shared" / "data" / "coqa-dev.json"
CACHE_DIR = REPO / "benchmarks" / ".cache"
Scenario = Literal["single", "meeting"]
SCENARIOS: tuple[Scenario, ...] = ("single", "meeting")
MEETING_SIZE = 3
MEETING_BLOCK = 3

Vectors = npt.NDArray[np.float32]


# -- data --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QA:
    """One turn of a CoQA conversation.

    Parameters:
        turn: 1-based turn number in the conversation.
        question: The question as asked.
        answer: The free-form gold answer.
        span_text: The gold rationale span (``""`` when the answer is unknown).
        span_start: Start of the span in the story's *cleaned* text, or -1.
        span_end: End of the span in the cleaned text, or -1.
    """

    turn: int
    question: str
    answer: str
    span_text: str
    span_start: int
    span_end: int


@dataclass(frozen=True, slots=True)
class Story:
    """A passage and its conversation; ``text`` is cleaned exactly as ingest cleans it."""

    id: str
    source: str
    text: str
    turns: tuple[QA, ...]


def _read_json(path: Path) -> dict[str, Any]:
    raw = path.read_text(encoding="utf-8")
    try:
        data: dict[str, Any] = json.loads(raw)
        return data
    except json.JSONDecodeError:
        # bigbench's file may start with a canary line that is not JSON.
        lines = [ln for ln in raw.splitlines() if "canary" not in ln.lower() or "{" in ln]
        body = "\n".join(lines)
        start = body.find("{")
        data = json.loads(body[start:])
        return data


def _locate(story: str, cleaned: str, start: int, end: int) -> tuple[int, int]:
    """Where the original story's ``[start, end)`` lies in the cleaned text, or (-1, -1)."""
    if start < 0 or end <= start:
        return -1, -1
    span = story[start:end].strip()
    if not span:
        return -1, -1
    lead = len(story) - len(story.lstrip())
    guess = start - lead
    for needle in (span, clean_text(span)):
        hits = []
        pos = cleaned.find(needle)
        while pos >= 0:
            hits.append(pos)
            pos = cleaned.find(needle, pos + 1)
        if hits:
            best = min(hits, key=lambda p: abs(p - guess))
            return best, best + len(needle)
    return -1, -1


def load_coqa(path: Path = DEFAULT_COQA, *, limit: int | None = None) -> list[Story]:
    """Read CoQA stories and their conversations.

    Args:
        path: ``coqa-dev.json`` or bigbench's ``coqa.test.json``.
        limit: Keep only the first ``limit`` stories.
    """
    data = _read_json(path)
    stories: list[Story] = []
    for item in data["data"][:limit]:
        cleaned = clean_text(item["story"])
        answers = {a["turn_id"]: a for a in item["answers"]}
        turns = []
        for q in item["questions"]:
            a = answers.get(q["turn_id"], {})
            s, e = _locate(
                item["story"], cleaned, int(a.get("span_start", -1)), int(a.get("span_end", -1))
            )
            turns.append(
                QA(
                    turn=int(q["turn_id"]),
                    question=q["input_text"],
                    answer=str(a.get("input_text", "")),
                    span_text=cleaned[s:e] if s >= 0 else "",
                    span_start=s,
                    span_end=e,
                )
            )
        stories.append(Story(item["id"], item.get("source", ""), cleaned, tuple(turns)))
    return stories


@dataclass(frozen=True, slots=True)
class Session:
    """A replayed session: ``steps`` are (story index, turn index) in replay order."""

    id: str
    steps: tuple[tuple[int, int], ...]


def make_sessions(
    stories: Sequence[Story],
    scenario: Scenario,
    *,
    group: int = MEETING_SIZE,
    block: int = MEETING_BLOCK,
) -> list[Session]:
    """Sessions of a scenario over ``stories`` (conversation order as in the file).

    ``"single"`` gives one session per story; ``"meeting"`` groups consecutive stories by
    ``group`` and interleaves their turns ``block`` at a time, round robin, until all
    conversations are exhausted.
    """
    if scenario == "single":
        return [
            Session(f"conv-{s.id}", tuple((i, t) for t in range(len(s.turns))))
            for i, s in enumerate(stories)
        ]
    sessions = []
    for first in range(0, len(stories), group):
        members = list(range(first, min(first + group, len(stories))))
        steps: list[tuple[int, int]] = []
        pos = dict.fromkeys(members, 0)
        while any(pos[m] < len(stories[m].turns) for m in members):
            for m in members:
                n = len(stories[m].turns)
                steps.extend((m, t) for t in range(pos[m], min(pos[m] + block, n)))
                pos[m] = min(pos[m] + block, n)
        sessions.append(Session(f"meet-{first // group:03d}", tuple(steps)))
    return sessions


# -- embedder ----------------------------------------------------------------------------


class CachingEmbedder:
    """Memoises another embedder by text, optionally persisted to a pickle file.

    Replays ask the same questions under many cache configs; embedding each text once
    makes a policy x capacity sweep cost seconds instead of minutes.
    """

    def __init__(self, inner: Any, *, path: Path | None = None) -> None:
        """Wrap ``inner`` (an :class:`~contextual_avatar.retrieval.Embedder`)."""
        self.inner = inner
        self.path = path
        self._memo: dict[str, Vectors] = {}
        if path is not None and path.exists():
            with path.open("rb") as fh:
                self._memo = pickle.load(fh)
        self._dirty = False

    @property
    def dim(self) -> int:
        """Vector dimension of the wrapped model."""
        return int(self.inner.dim)

    @property
    def name(self) -> str:
        """Name of the wrapped model (so the index accepts it)."""
        return str(self.inner.name)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed, reusing vectors of texts seen before."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            vectors = self.inner.embed(missing)
            for text, vec in zip(missing, vectors, strict=True):
                self._memo[text] = np.asarray(vec, dtype=np.float32)
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def save(self) -> None:
        """Persist the memo (no-op without a path or new vectors)."""
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(self._memo, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(self.path)
        self._dirty = False


# -- records -----------------------------------------------------------------------------


@dataclass(slots=True)
class TurnRecord:
    """What happened on one replayed turn (JSON-friendly via :meth:`to_dict`)."""

    scenario: str
    session: str
    conversation: str
    step: int
    turn: int
    question: str
    gold_answer: str
    gold_span: str
    answer: str
    context_ids: list[str]
    context_texts: list[str]
    cache_hit: bool
    cache_score: float
    cache_threshold: float
    cache_reason: str
    gold_in_context: bool | None
    needed_chunk: str | None
    gold_chunks: list[str]
    index_called: bool
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Doc:
    story: Story
    doc_id: str
    chunks: tuple[Chunk, ...]


def _interval(chunk: Chunk) -> tuple[int, int]:
    return chunk.offset, chunk.offset + len(chunk.text)


def covered(start: int, end: int, intervals: Iterable[tuple[int, int]]) -> bool:
    """True when the union of ``intervals`` covers ``[start, end)``."""
    pos = start
    for a, b in sorted(intervals):
        if a > pos:
            break
        pos = max(pos, b)
        if pos >= end:
            return True
    return pos >= end


def gold_chunks(doc_chunks: Sequence[Chunk], qa: QA) -> tuple[str | None, list[str]]:
    """The needed chunk for a turn and every chunk that fully holds its gold span.

    The needed chunk is the lowest-ordinal chunk holding the whole span, else the chunk
    overlapping it most; ``None`` when the answer has no span.
    """
    if qa.span_start < 0:
        return None, []
    full = [
        c.id
        for c in doc_chunks
        if _interval(c)[0] <= qa.span_start and qa.span_end <= _interval(c)[1]
    ]
    if full:
        return full[0], full
    best = max(
        doc_chunks,
        key=lambda c: min(qa.span_end, _interval(c)[1]) - max(qa.span_start, _interval(c)[0]),
    )
    return best.id, []


# -- harness -----------------------------------------------------------------------------


class Replay:
    """One shared corpus and index, replayed through engines of any config."""

    def __init__(
        self,
        *,
        coqa: Path = DEFAULT_COQA,
        passages: int | None = None,
        conversations: int | None = None,
        chunking: ChunkingConfig | None = None,
        embedder: Any | None = None,
        cache_dir: Path = CACHE_DIR,
    ) -> None:
        """Describe the replay (nothing is loaded until :meth:`prepare`).

        Args:
            coqa: The CoQA file.
            passages: Index only the first ``passages`` stories (``None``: all 300).
            conversations: Replay only the first ``conversations`` of the indexed stories.
            chunking: Chunking for the index (``None``: the engine default).
            embedder: The shared embedder (``None``: MiniLM, memoised on disk).
            cache_dir: Where data dirs and the embedding memo are kept.
        """
        self.stories = load_coqa(coqa, limit=passages)
        n = len(self.stories) if conversations is None else min(conversations, len(self.stories))
        self.conversations = self.stories[:n]
        self.chunking = chunking or ChunkingConfig()
        self.cache_dir = cache_dir
        self._embedder = embedder
        key = hashlib.sha256(
            json.dumps(
                [
                    [s.id for s in self.stories],
                    [hashlib.sha256(s.text.encode()).hexdigest() for s in self.stories],
                    self.chunking.model_dump(),
                ],
                sort_keys=True,
            ).encode()
        ).hexdigest()[:16]
        self.root = cache_dir / f"replay-{key}"
        self.data_dir = self.root / "data"
        self.docs_dir = self.root / "docs"
        self._docs: dict[str, _Doc] = {}

    @property
    def embedder(self) -> Any:
        """The shared embedder (loaded on first use)."""
        if self._embedder is None:
            inner = MiniLMEmbedder()
            digest = hashlib.sha256(inner.name.encode()).hexdigest()[:12]
            self._embedder = CachingEmbedder(inner, path=self.cache_dir / f"emb-{digest}.pkl")
        return self._embedder

    def config(self, **overrides: Any) -> EngineConfig:
        """An engine config on the replay's data dir and chunking, with ``overrides``."""
        overrides.setdefault("chunking", self.chunking)
        return EngineConfig(data_dir=self.data_dir, **overrides)

    def engine(self, **overrides: Any) -> AsyncContextEngine:
        """An engine over the shared index; ``overrides`` are ``EngineConfig`` fields.

        Pass parts (``store=``, ``small=``, ``large=``, ...) through :meth:`engine_with`.
        """
        return self.engine_with(self.config(**overrides))

    def engine_with(self, config: EngineConfig, **parts: Any) -> AsyncContextEngine:
        """An engine with an explicit config and :class:`Parts` fields (``store``, ``small``...)."""
        return AsyncContextEngine(config, parts=Parts(embedder=self.embedder, **parts))

    async def prepare(self, *, verbose: bool = True) -> None:
        """Write the passages and ingest them once (re-runs find the index done).

        The shared knowledge graph is emptied: facts are learned afresh by each run, so
        figures that count them (prompt tokens) do not depend on earlier runs. (They
        did: ``cost_savings`` read 4.5% saved on a graph grown over runs, 11.4% fresh.)
        """
        for leftover in (*self.data_dir.glob("knowledge.sqlite3*"), self.data_dir / "outbox"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        (self.cache_dir / ".gitignore").write_text("*\n")
        done = self.root / "ingested.json"
        t0 = time.perf_counter()
        if not done.exists():
            async with self.engine() as engine:
                for i, story in enumerate(self.stories):
                    path = self.docs_dir / f"{story.id}.txt"
                    path.write_text(story.text, encoding="utf-8")
                    await engine.ingest(path)
                    if verbose and (i + 1) % 50 == 0:
                        print(f"  ingested {i + 1}/{len(self.stories)}", file=sys.stderr)
            done.write_text(json.dumps({"stories": len(self.stories)}))
        for story in self.stories:
            path = self.docs_dir / f"{story.id}.txt"
            doc_id = content_hash(path)
            segments = read_segments(path, kind_of(path))
            chunks = chunk_segments(segments, doc_id=doc_id, config=self.chunking)
            self._docs[story.id] = _Doc(story, doc_id, tuple(chunks))
        if hasattr(self.embedder, "save"):
            self.embedder.save()
        if verbose:
            n_chunks = sum(len(d.chunks) for d in self._docs.values())
            print(
                f"  corpus: {len(self.stories)} passages, {n_chunks} chunks "
                f"({time.perf_counter() - t0:.1f} s)",
                file=sys.stderr,
            )

    def chunks_of(self, story_id: str) -> tuple[Chunk, ...]:
        """The indexed chunks of a story, in order."""
        return self._docs[story_id].chunks

    def doc_id(self, story_id: str) -> str:
        """The index's document id for a story."""
        return self._docs[story_id].doc_id

    def sessions(self, scenario: Scenario) -> list[Session]:
        """The replayed sessions of a scenario."""
        return make_sessions(self.conversations, scenario)

    def steps(self, scenario: Scenario) -> Iterator[tuple[Session, int, Story, QA]]:
        """Every (session, step, story, turn) of a scenario in replay order."""
        for session in self.sessions(scenario):
            for step, (si, ti) in enumerate(session.steps):
                story = self.conversations[si]
                yield session, step, story, story.turns[ti]

    def oracle_trace(self, scenario: Scenario) -> list[tuple[str, str | None]]:
        """(session, needed chunk id or ``None``) per turn, in replay order; no engine needed."""
        return [
            (session.id, gold_chunks(self.chunks_of(story.id), qa)[0])
            for session, _, story, qa in self.steps(scenario)
        ]

    def record(
        self, scenario: Scenario, session: Session, step: int, story: Story, qa: QA, answer: Answer
    ) -> TurnRecord:
        """Build the record of one answered turn."""
        doc = self._docs[story.id]
        needed, full = gold_chunks(doc.chunks, qa)
        gold_in: bool | None = None
        if qa.span_start >= 0:
            intervals = [
                _interval(sc.chunk) for sc in answer.context if sc.chunk.doc_id == doc.doc_id
            ]
            gold_in = covered(qa.span_start, qa.span_end, intervals)
        return TurnRecord(
            scenario=scenario,
            session=session.id,
            conversation=story.id,
            step=step,
            turn=qa.turn,
            question=qa.question,
            gold_answer=qa.answer,
            gold_span=qa.span_text,
            answer=answer.text,
            context_ids=[sc.chunk.id for sc in answer.context],
            context_texts=[sc.chunk.text for sc in answer.context],
            cache_hit=answer.cache_hit,
            cache_score=answer.cache.score,
            cache_threshold=answer.cache.threshold,
            cache_reason=answer.cache.reason,
            gold_in_context=gold_in,
            needed_chunk=needed,
            gold_chunks=full,
            index_called=not answer.cache_hit,
            timings=dict(answer.timings),
        )

    async def run(
        self, engine: AsyncContextEngine, scenario: Scenario, *, forget: bool = True
    ) -> list[TurnRecord]:
        """Replay a scenario's sessions through ``engine.ask``, in order.

        Args:
            engine: An engine over this replay's index (see :meth:`engine`).
            scenario: ``"single"`` or ``"meeting"``.
            forget: Drop each session's state first, so runs are independent.
        """
        if not self._docs:
            await self.prepare(verbose=False)
        records = []
        for session in self.sessions(scenario):
            if forget:
                await engine.forget(session.id)
        for session, step, story, qa in self.steps(scenario):
            answer = await engine.ask(session.id, qa.question)
            records.append(self.record(scenario, session, step, story, qa, answer))
        if hasattr(self.embedder, "save"):
            self.embedder.save()
        return records


def summarise(records: Sequence[TurnRecord]) -> dict[str, float]:
    """Served hit rate, context recall (turns with a span), mean timings."""
    n = len(records)
    with_span = [r for r in records if r.gold_in_context is not None]
    cache_ms = sorted(r.timings.get("cache", 0.0) for r in records)
    return {
        "turns": float(n),
        "served_hit_rate": sum(r.cache_hit for r in records) / n if n else 0.0,
        "context_recall": (
            sum(bool(r.gold_in_context) for r in with_span) / len(with_span) if with_span else 0.0
        ),
        "cache_ms_p50": cache_ms[n // 2] if n else 0.0,
        "total_ms_mean": sum(r.timings.get("total", 0.0) for r in records) / n if n else 0.0,
    }


async def _main(args: argparse.Namespace) -> None:
    replay = Replay(coqa=args.coqa, passages=args.passages, conversations=args.conversations)
    await replay.prepare()
    for scenario in SCENARIOS:
        async with replay.engine() as engine:
            t0 = time.perf_counter()
            records = await replay.run(engine, scenario)
            stats = summarise(records)
        print(
            f"{scenario:8s} turns={int(stats['turns']):5d} hit={stats['served_hit_rate']:.3f} "
            f"recall={stats['context_recall']:.3f} cache_p50={stats['cache_ms_p50']:.3f} ms "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        if args.out:
            out = Path(args.out).with_suffix(f".{scenario}.jsonl")
            with out.open("w") as fh:
                for r in records:
                    fh.write(json.dumps(r.to_dict()) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Smoke-run both scenarios with the default engine config."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--coqa", type=Path, default=DEFAULT_COQA)
    parser.add_argument("--passages", type=int, default=None, help="index the first N passages")
    parser.add_argument(
        "--conversations", type=int, default=None, help="replay the first N conversations"
    )
    parser.add_argument("--out", default=None, help="write per-turn JSONL next to this path")
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
