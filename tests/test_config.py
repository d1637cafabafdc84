from __future__ import annotations

from pathlib import Path

import pytest

import contextual_avatar as ca


def test_defaults_need_no_environment(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("CONTEXTUAL_AVATAR_"):
            monkeypatch.delenv(key)
    config = ca.EngineConfig()
    assert config.cache.capacity == 5 and config.cache.policy == "hybrid"
    assert config.data_dir.name == "contextual-avatar"


def test_environment_overrides_nested_fields(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("CONTEXTUAL_AVATAR_CACHE__CAPACITY", "8")
    monkeypatch.setenv("CONTEXTUAL_AVATAR_DATA_DIR", str(tmp_path))
    config = ca.EngineConfig.from_env()
    assert config.cache.capacity == 8 and config.data_dir == tmp_path


def test_only_from_env_reads_the_environment(monkeypatch):
    monkeypatch.setenv("CONTEXTUAL_AVATAR_CACHE__CAPACITY", "8")
    assert ca.EngineConfig().cache.capacity == 5


def test_keyword_overrides_win_over_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("CONTEXTUAL_AVATAR_DATA_DIR", "/nonexistent")
    assert ca.EngineConfig.from_env(data_dir=tmp_path).data_dir == tmp_path


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("CONTEXTUAL_AVATAR_CACHE__CAPACITY", "many")
    with pytest.raises(ca.ConfigError, match="CONTEXTUAL_AVATAR_CACHE__CAPACITY"):
        ca.EngineConfig.from_env()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cache": {"capacity": 0}}, "cache.capacity"),
        ({"chunking": {"chunk_tokens": 32, "overlap_tokens": 32}}, "overlap_tokens"),
        ({"retrieval": {"top_k": 0}}, "retrieval.top_k"),
        ({"cache": {"policy": "random"}}, "cache.policy"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_values_name_the_field(kwargs, field):
    with pytest.raises(ca.ConfigError, match=field):
        ca.EngineConfig(**kwargs)


def test_config_is_frozen():
    config = ca.EngineConfig()
    with pytest.raises(ValueError, match="frozen"):
        config.cache.capacity = 3  # type: ignore[misc]


def test_an_applications_own_data_folder_yields_to_the_environment(tmp_path, monkeypatch):
    from contextual_avatar import EngineConfig

    mine = tmp_path / "app-data"
    monkeypatch.delenv("CONTEXTUAL_AVATAR_DATA_DIR", raising=False)
    assert EngineConfig.from_env(default_data_dir=mine).data_dir == mine
    assert EngineConfig.from_env(default_data_dir=mine, data_dir=tmp_path / "x").data_dir == (
        tmp_path / "x"
    )
    monkeypatch.setenv("CONTEXTUAL_AVATAR_DATA_DIR", str(tmp_path / "env"))
    assert EngineConfig.from_env(default_data_dir=mine).data_dir == tmp_path / "env"
    monkeypatch.delenv("CONTEXTUAL_AVATAR_DATA_DIR")
    monkeypatch.setenv("contextual_avatar_data_dir", str(tmp_path / "lower"))  # as the reader does
    assert EngineConfig.from_env(default_data_dir=mine).data_dir == tmp_path / "lower"
