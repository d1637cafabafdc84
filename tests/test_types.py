from __future__ import annotations

import dataclasses

import pytest

from contextual_avatar.types import RouteDecision, SourceRef, Tier, format_timestamp, merge_refs


def test_citation_strings():
    assert str(SourceRef("guide.pdf", page=2)) == "guide.pdf p. 2"
    assert str(SourceRef("talk.mp4", start_s=72.4, end_s=91.9)) == "talk.mp4 01:12-01:31"
    assert (
        str(SourceRef("call.vtt", start_s=3725, end_s=3730, speaker="Ana"))
        == "call.vtt 1:02:05-1:02:10 (Ana)"
    )


def test_format_timestamp_never_negative():
    assert format_timestamp(-3) == "00:00"


def test_merge_refs_joins_time_ranges_and_dedupes_pages():
    refs = [
        SourceRef("t.vtt", start_s=5, end_s=7),
        SourceRef("a.pdf", page=2),
        SourceRef("t.vtt", start_s=1, end_s=4),
        SourceRef("a.pdf", page=2),
        SourceRef("a.pdf", page=3),
    ]
    assert merge_refs(refs) == (
        SourceRef("t.vtt", start_s=1, end_s=7),
        SourceRef("a.pdf", page=2),
        SourceRef("a.pdf", page=3),
    )


def test_merge_refs_keeps_speakers_apart():
    refs = [
        SourceRef("c.vtt", start_s=0, end_s=1, speaker="A"),
        SourceRef("c.vtt", start_s=1, end_s=2, speaker="B"),
    ]
    assert len(merge_refs(refs)) == 2


def test_route_decision_model_is_optional_and_keyword_only():
    decision = RouteDecision(Tier.LARGE, 0.2, 0.3, "weak evidence")
    assert decision.model is None  # filled from the routed tier's responder
    assert RouteDecision(Tier.SMALL, 0.9, 0.3, "ok", model="m").model == "m"
    with pytest.raises(TypeError):
        RouteDecision(Tier.SMALL, 0.9, 0.3, "ok", "m")  # type: ignore[misc]
    assert dataclasses.replace(decision, model="m").model == "m"
