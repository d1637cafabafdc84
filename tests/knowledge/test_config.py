from __future__ import annotations

import pytest
from pydantic import ValidationError

from contextual_avatar.knowledge import KnowledgeConfig


def test_defaults() -> None:
    config = KnowledgeConfig()
    assert config.backend == "none", "sharing is off by default (docs/knowledge.md says why)"
    assert 0 < config.min_similarity < 1
    assert 0 < config.min_key_share <= 1
    assert config.retention_days > 0
    # The prior: whole question kinds lift, looser matches and added chunks are off.
    assert config.prior_lift > 0
    assert config.prior_share_lift == 0 and config.prior_admit == 0
    assert config.batch_size <= config.queue_size
    assert config.password.get_secret_value() == ""


def test_frozen_and_no_extra_fields() -> None:
    config = KnowledgeConfig()
    with pytest.raises(ValidationError):
        config.backend = "neo4j"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        KnowledgeConfig(colour="blue")  # type: ignore[call-arg]


def test_password_is_hidden() -> None:
    config = KnowledgeConfig(backend="neo4j", password="hunter22")  # type: ignore[arg-type]
    assert "hunter22" not in repr(config)
    assert config.password.get_secret_value() == "hunter22"


@pytest.mark.parametrize(
    "bad",
    [
        {"min_similarity": 1.5},
        {"min_key_share": 0},
        {"retention_days": 0},
        {"prior_lift": -1},
        {"prior_share_lift": -1},
        {"prior_admit": 11},
    ],
)
def test_sharing_limits_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        KnowledgeConfig(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backend", "redis"),
        ("uri", "http://localhost:7474"),
        ("queue_size", 0),
        ("batch_size", 0),
        ("related_limit", 0),
        ("context_tokens", -1),
        ("retry_initial_s", 0),
        ("retry_multiplier", 0.5),
        ("close_timeout_s", -1),
    ],
)
def test_invalid_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        KnowledgeConfig(**{field: value})


def test_cross_field_checks() -> None:
    with pytest.raises(ValidationError, match="retry_max_s"):
        KnowledgeConfig(retry_initial_s=2.0, retry_max_s=1.0)
    with pytest.raises(ValidationError, match="batch_size"):
        KnowledgeConfig(queue_size=10, batch_size=20)
