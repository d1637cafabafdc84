"""The server's settings: where it listens, who may call it, and how much it accepts.

They are separate from :class:`~contextual_avatar.EngineConfig` (the engine does not care
who calls it) and read from ``CONTEXTUAL_AVATAR_SERVER__*`` variables, e.g.
``CONTEXTUAL_AVATAR_SERVER__API_KEYS=key-one,key-two`` or, with names and collection
limits, a JSON list: ``[{"key": "...", "name": "tavus", "collections": ["museum"]}]``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from contextual_avatar.errors import ConfigError

__all__ = [
    "DEFAULT_MODEL",
    "ENV_PREFIX",
    "ApiKey",
    "ServerSettings",
    "is_loopback",
]

ENV_PREFIX = "CONTEXTUAL_AVATAR_SERVER__"
#: The model id of the default knowledge base; ``contextual-avatar/<collection>`` names others.
DEFAULT_MODEL = "contextual-avatar"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ApiKey(BaseModel):
    """One caller's bearer key.

    Parameters:
        key: The secret the caller sends as ``Authorization: Bearer <key>`` (16+ characters).
        name: A public label for logs and session namespaces; by default ``key-`` and 8
            hex characters of the key's SHA-256 (the key itself is never logged).
        collections: The knowledge bases this key may use; ``None`` means all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: SecretStr = Field(min_length=16)
    name: str = Field(default="", pattern=r"^$|" + _NAME)
    collections: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _default_name(self) -> Self:
        if not self.name:
            digest = hashlib.sha256(self.key.get_secret_value().encode()).hexdigest()[:8]
            object.__setattr__(self, "name", f"key-{digest}")
        return self

    def allows(self, collection: str) -> bool:
        """Whether this key may read or change ``collection``."""
        return self.collections is None or collection in self.collections


class ServerSettings(BaseSettings):
    """Settings of ``contextual-avatar serve`` and :func:`create_app`.

    With no ``api_keys`` the server is open: meant for a laptop, so it binds 127.0.0.1 by
    default and warns loudly when told to listen anywhere else. With keys, every route
    but ``/healthz``, ``/readyz`` and the playground's static page needs one.

    Parameters:
        host: Interface to bind (``serve``).
        port: TCP port to bind (``serve``); 0 picks a free one.
        workers: Worker processes (``serve``). Each has its own engine: share sessions
            between them with the Redis cache (``CONTEXTUAL_AVATAR_CACHE__BACKEND=redis``).
        api_keys: Who may call; plain strings or :class:`ApiKey` objects.
        max_body_bytes: Largest JSON request body.
        max_upload_bytes: Largest uploaded document; ``None`` uses the engine's
            ``ingest.max_file_bytes``.
        playground: Serve the playground page at ``/``.
        model_id: The model id that names the default knowledge base.
        max_messages: Most messages a chat completion request may carry.
        jobs_kept: Finished upload jobs remembered for progress queries.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    api_keys: Annotated[tuple[ApiKey, ...], NoDecode] = ()
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_upload_bytes: int | None = Field(default=None, ge=1)
    playground: bool = True
    model_id: str = Field(default=DEFAULT_MODEL, pattern=_NAME)
    max_messages: int = Field(default=256, ge=1)
    jobs_kept: int = Field(default=256, ge=1)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: Any) -> Any:
        """Accept ``"k1,k2"``, a JSON list, strings or dicts: each becomes an ApiKey."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list | tuple):
            return tuple(
                {"key": item.strip()} if isinstance(item, str) else item
                for item in value
                if not (isinstance(item, str) and not item.strip())
            )
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        secrets = [k.key.get_secret_value() for k in self.api_keys]
        names = [k.name for k in self.api_keys]
        if len(set(secrets)) != len(secrets) or len(set(names)) != len(names):
            raise ValueError("api_keys: every key and every name must be distinct")
        return self

    @property
    def open(self) -> bool:
        """True when no key is configured: every caller is let in (local use)."""
        return not self.api_keys

    @classmethod
    def from_env(cls, **overrides: Any) -> ServerSettings:
        """Read ``CONTEXTUAL_AVATAR_SERVER__*`` variables; keyword overrides win.

        Raises:
            ConfigError: A variable or override is invalid (the message names it).
        """
        from pydantic import ValidationError

        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'__'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"invalid server settings: {problems}") from exc


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def upload_dir(data_dir: Path) -> Path:
    """Where uploaded documents are kept: ``<data dir>/uploads/<collection>/<name>``."""
    return data_dir / "uploads"
