"""What a host imports into its voice pipeline: Pipecat and LiveKit Agents integrations.

* :mod:`contextual_avatar.integrations.pipecat`: frame processors that give a Pipecat
  pipeline the engine's cited context (for its own LLM) or cited answers (the engine
  answers), barge-in aware. Extra ``[pipecat]``.
* :mod:`contextual_avatar.integrations.livekit`: a hook for LiveKit Agents'
  ``on_user_turn_completed`` that adds cited context to the user's turn. Extra ``[livekit]``.

Both keep citations out of the spoken text and hand them to the host beside it. The
names here need neither framework: :class:`CitedTurn` (a turn with the engine's answer
and sources), :func:`strip_citations` and :func:`speakable` (citation markers out of text
and out of a stream of text, for a TTS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contextual_avatar._lazy import lazy_exports

if TYPE_CHECKING:
    from contextual_avatar.integrations._spoken import SpokenText, speakable, strip_citations
    from contextual_avatar.integrations._turn import CitationsCallback, CitedTurn

__all__ = ["CitationsCallback", "CitedTurn", "SpokenText", "speakable", "strip_citations"]

# The framework modules (pipecat, livekit) are imported by name, never from here: each
# needs its extra, and this package must stay importable without either.
_LAZY = {
    "CitationsCallback": "contextual_avatar.integrations._turn",
    "CitedTurn": "contextual_avatar.integrations._turn",
    "SpokenText": "contextual_avatar.integrations._spoken",
    "speakable": "contextual_avatar.integrations._spoken",
    "strip_citations": "contextual_avatar.integrations._spoken",
}

if not TYPE_CHECKING:  # mypy reads the imports above; only the runtime is lazy
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY)
