"""A turn as small named stages, and the ingest path, wired by the engine.

Stages: understand -> recall -> enrich -> assemble -> route -> answer -> record (see
:class:`TurnPipeline`). Each has one job, its own timing in ``Answer.timings`` and a
unit test of its own. This package sits between the engine and the parts: it imports
the parts, they never import it.
"""

from contextual_avatar.pipeline._answer import Respond
from contextual_avatar.pipeline._assemble import Assemble
from contextual_avatar.pipeline._checks import (
    DEFAULT_COLLECTION,
    check_collection,
    check_instructions,
    check_question,
    check_session,
)
from contextual_avatar.pipeline._enrich import Enrich
from contextual_avatar.pipeline._indexer import Indexer, ProgressFn
from contextual_avatar.pipeline._knowledge import (
    SharedKnowledge,
    document_terms,
    indexed_chunks,
)
from contextual_avatar.pipeline._prior import RetrievalPrior
from contextual_avatar.pipeline._recall import Recall
from contextual_avatar.pipeline._record import INTERRUPTED_MARK, Record
from contextual_avatar.pipeline._route import Route
from contextual_avatar.pipeline._run import Stage, TurnPipeline, timed
from contextual_avatar.pipeline._scope import Scope
from contextual_avatar.pipeline._state import TurnState
from contextual_avatar.pipeline._tasks import TurnTasks
from contextual_avatar.pipeline._understand import Understand

__all__ = [
    "DEFAULT_COLLECTION",
    "INTERRUPTED_MARK",
    "Assemble",
    "Enrich",
    "Indexer",
    "ProgressFn",
    "Recall",
    "Record",
    "Respond",
    "RetrievalPrior",
    "Route",
    "Scope",
    "SharedKnowledge",
    "Stage",
    "TurnPipeline",
    "TurnState",
    "TurnTasks",
    "Understand",
    "check_collection",
    "check_instructions",
    "check_question",
    "check_session",
    "document_terms",
    "indexed_chunks",
    "timed",
]
