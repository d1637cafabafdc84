from __future__ import annotations

import contextual_avatar.knowledge as knowledge
import contextual_avatar.testing as testing


def test_all_lists_the_public_names() -> None:
    for module in (knowledge, testing):
        public = {n for n in vars(module) if not n.startswith("_") and n != "annotations"}
        public -= {"knowledge", "testing"}  # submodule attributes
        assert set(module.__all__) == {n for n in public if not _is_module(module, n)}


def _is_module(module: object, name: str) -> bool:
    import types

    return isinstance(getattr(module, name), types.ModuleType)
