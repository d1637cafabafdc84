"""Who is calling: bearer keys checked in constant time, and what each key may use.

A caller is named by its key's public name, never the secret; sessions are namespaced
by that name so two keys cannot reach each other's sessions even with equal ids.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contextual_avatar.server._errors import ApiError
from contextual_avatar.server._settings import ApiKey, ServerSettings

__all__ = ["LOCAL", "Caller", "Keys", "bearer", "caller"]

#: Security scheme for the OpenAPI document; the check itself is :meth:`Keys.identify`.
bearer = HTTPBearer(auto_error=False, description="An API key from the server's settings")


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller.

    Parameters:
        name: The key's public name (``local`` on a server without keys).
        collections: Knowledge bases the caller may use; ``None`` means all.
    """

    name: str
    collections: tuple[str, ...] | None = None

    def allows(self, collection: str) -> bool:
        """Whether the caller may use ``collection``."""
        return self.collections is None or collection in self.collections

    def require(self, collection: str) -> None:
        """Raise a 403 unless the caller may use ``collection``."""
        if not self.allows(collection):
            raise ApiError(
                403, f"this API key may not use the knowledge base {collection!r}", code="forbidden"
            )

    def session(self, session_id: str) -> str:
        """The engine's session id for the caller's ``session_id``: namespaced by key."""
        return f"{self.name}/{session_id}"


LOCAL = Caller("local")


class Keys:
    """The configured keys; :meth:`identify` finds the caller of a presented key."""

    def __init__(self, settings: ServerSettings) -> None:
        """Check against ``settings.api_keys`` (none: every caller is :data:`LOCAL`)."""
        self._keys: tuple[tuple[bytes, ApiKey], ...] = tuple(
            (k.key.get_secret_value().encode(), k) for k in settings.api_keys
        )

    @property
    def open(self) -> bool:
        """True when no key is configured."""
        return not self._keys

    def identify(self, presented: str | None) -> Caller:
        """The caller holding ``presented``.

        Every configured key is compared, each with :func:`hmac.compare_digest`, so the
        time taken says nothing about which key (or how much of one) matched.

        Raises:
            ApiError: 401 when a key is required and missing or wrong.
        """
        if self.open:
            return LOCAL
        if not presented:
            raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>'")
        given = presented.encode("utf-8", "surrogatepass")
        found: ApiKey | None = None
        for secret, key in self._keys:
            if hmac.compare_digest(given, secret) and found is None:
                found = key
        if found is None:
            raise ApiError(401, "invalid API key", code="invalid_api_key")
        return Caller(found.name, found.collections)


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """FastAPI dependency: the request's caller (401 without a valid key)."""
    keys: Keys = request.app.state.keys
    return keys.identify(credentials.credentials if credentials else None)
