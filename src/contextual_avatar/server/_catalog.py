"""Knowledge bases as OpenAI model ids: ``contextual-avatar`` and ``contextual-avatar/<name>``.

A platform lets its user pick a "model" by name and nothing else, so the model id is
how a Tavus persona or a Vapi assistant chooses which documents it answers from.
"""

from __future__ import annotations

from contextual_avatar import AsyncContextEngine, InputError
from contextual_avatar.pipeline import DEFAULT_COLLECTION, check_collection
from contextual_avatar.server._errors import ApiError

__all__ = ["collection_of", "collections", "model_of"]


def model_of(collection: str, model_id: str) -> str:
    """The model id that names ``collection``."""
    return model_id if collection == DEFAULT_COLLECTION else f"{model_id}/{collection}"


def collection_of(model: str, model_id: str) -> str:
    """The collection a model id names.

    Raises:
        ApiError: 404 for a model id this server does not serve.
    """
    if model == model_id:
        return DEFAULT_COLLECTION
    name = model.removeprefix(model_id + "/") if model.startswith(model_id + "/") else None
    if name is not None:
        try:
            return check_collection(name)
        except InputError:
            pass
    raise ApiError(
        404,
        f"the model {model[:200]!r} does not exist; use {model_id!r} for the default knowledge "
        f"base or '{model_id}/<collection>' (GET /v1/models lists them)",
        code="model_not_found",
        param="model",
    )


async def collections(engine: AsyncContextEngine) -> list[str]:
    """Names of the engine's knowledge bases, the default first (it always exists)."""
    found = sorted(set(await engine.list_collections()) - {DEFAULT_COLLECTION})
    return [DEFAULT_COLLECTION, *found]


async def require_collection(engine: AsyncContextEngine, collection: str) -> None:
    """Raise a 404 unless ``collection`` exists.

    Raises:
        ApiError: 404 naming the knowledge bases that do exist.
    """
    if collection == DEFAULT_COLLECTION:
        return
    if collection not in await collections(engine):
        raise ApiError(
            404,
            f"the knowledge base {collection!r} does not exist",
            code="model_not_found",
            param="model",
        )
