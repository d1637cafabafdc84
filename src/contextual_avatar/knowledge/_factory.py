"""Build the sink a :class:`KnowledgeConfig` describes."""

from __future__ import annotations

from pathlib import Path

from contextual_avatar.knowledge._config import KnowledgeConfig
from contextual_avatar.knowledge._neo4j import Neo4jGraphSink
from contextual_avatar.knowledge._sink import KnowledgeGraphSink
from contextual_avatar.knowledge._sqlite import SQLiteGraphSink

__all__ = ["DEFAULT_GRAPH_FILENAME", "open_sink"]

DEFAULT_GRAPH_FILENAME = "knowledge.sqlite3"


def open_sink(config: KnowledgeConfig, *, data_dir: str | Path) -> KnowledgeGraphSink | None:
    """The sink for ``config``, or ``None`` when the backend is ``"none"``.

    Args:
        config: Knowledge settings.
        data_dir: Where the SQLite file goes when ``config.path`` is not set.

    Returns:
        A sink the caller owns and closes.

    Raises:
        MissingDependencyError: The backend needs an extra that is not installed.
    """
    if config.backend == "none":
        return None
    if config.backend == "sqlite":
        return SQLiteGraphSink(config.path or Path(data_dir) / DEFAULT_GRAPH_FILENAME)
    return Neo4jGraphSink(
        config.uri,
        config.user,
        config.password.get_secret_value(),
        config.database,
        connect_timeout_s=config.connect_timeout_s,
    )
