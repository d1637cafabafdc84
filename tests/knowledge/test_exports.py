from __future__ import annotations

import types

import contextual_avatar.knowledge as knowledge
import contextual_avatar.testing as testing


def test_all_lists_the_public_names() -> None:
    public = {
        n
        for n, v in vars(knowledge).items()
        if not n.startswith("_") and n != "annotations" and not isinstance(v, types.ModuleType)
    }
    assert set(knowledge.__all__) == public


def test_testing_exports_the_bolt_server() -> None:
    assert {"BoltServer", "BoltServerError", "free_port"} <= set(testing.__all__)


def test_testing_exports_the_sink_contract() -> None:
    assert "KnowledgeGraphSinkContract" in testing.__all__
    assert testing.KnowledgeGraphSinkContract.__name__ == "KnowledgeGraphSinkContract"
