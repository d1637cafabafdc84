"""Export a BERT sentence-transformers model (MiniLM) to ONNX from its weights, without torch.

The graph is written by hand with ``onnx.helper`` from the ``model.safetensors`` the
package ships: embeddings, six encoder layers on ONNX Runtime's fused CPU kernels
(``Attention``, ``SkipLayerNormalization``, ``BiasGelu``), then mean pooling over the
attention mask. Building it directly, instead of tracing torch, keeps torch off the
ONNX path entirely (``[onnx]`` is a ~60 MB install, not 1.4 GB) and makes the export a
pure function of the weights: the same file on every machine.

The result is cached under a name derived from the weights' size and modification time,
the options and :data:`EXPORT_VERSION`, so a changed model or exporter gives a new file.
Files are written to a temporary name and renamed, so processes exporting at once never
see half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import MissingDependencyError, ModelError

__all__ = ["EXPORT_VERSION", "export_onnx", "read_safetensors"]

#: Bumped whenever the graph changes, so cached exports are rebuilt.
EXPORT_VERSION = 2

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """The tensors of a ``.safetensors`` file (an 8-byte header length, a JSON header, data).

    Raises:
        ModelError: The file is not a safetensors file this reader understands.
    """
    try:
        raw = path.read_bytes()
        size = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + size])
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the model weights {path}: {exc}") from exc
    base = 8 + size
    out: dict[str, npt.NDArray[Any]] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(meta["dtype"])
        if dtype is None:
            raise ModelError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=dtype).reshape(meta["shape"])
        out[name] = arr.astype(np.float32) if dtype == np.float16 else arr
    return out


def _check_model(model_dir: Path) -> dict[str, Any]:
    """The model's BERT config, after checking this exporter supports it."""
    try:
        config: dict[str, Any] = json.loads((model_dir / "config.json").read_text("utf-8"))
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{model_dir} is not a sentence-transformers model: {exc}") from exc
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise ModelError(f"{model_dir}: only BERT models with gelu can be exported to ONNX")
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelError(f"{model_dir}: only mean pooling can be exported to ONNX")
    return config


def _graph(weights: dict[str, npt.NDArray[Any]], config: dict[str, Any]) -> Any:
    """The ONNX model: input_ids, attention_mask (int64, batch x tokens) -> pooled [batch, dim]."""
    from onnx import TensorProto, helper, numpy_helper

    inits: list[Any] = []
    nodes: list[Any] = []
    eps = float(config.get("layer_norm_eps", 1e-12))
    heads = int(config["num_attention_heads"])

    def const(name: str, value: npt.ArrayLike, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    def node(op: str, inputs: list[str], out: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    w = weights

    def project_and_norm(x: str, residual: str, i: int, block: str, proj: str, ln: str) -> str:
        """``LayerNorm(x @ dense.W + dense.b + residual)`` of layer ``i``'s ``block``.

        The two halves of a BERT layer (attention output, feed-forward output) end alike:
        the bias and the residual fold into one fused SkipLayerNormalization node.
        """
        p = f"encoder.layer.{i}.{block}."
        out = node("MatMul", [x, const(f"l{i}_{proj}_w", w[f"{p}dense.weight"].T)], f"l{i}_{proj}")
        return node(
            "SkipLayerNormalization",
            [
                out,
                residual,
                const(f"l{i}_{ln}_w", w[f"{p}LayerNorm.weight"]),
                const(f"l{i}_{ln}_b", w[f"{p}LayerNorm.bias"]),
                const(f"l{i}_{proj}_b", w[f"{p}dense.bias"]),
            ],
            f"l{i}_{ln}",
            domain="com.microsoft",
            epsilon=eps,
        )

    # Embeddings: word + position + token type 0 (sentence embedders never set it).
    word = w["embeddings.word_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    node("Gather", [const("word_embeddings", word), "input_ids"], "words")
    # Positions 0..tokens-1: the first rows of the position table.
    node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    pos = w["embeddings.position_embeddings.weight"]
    node(
        "Slice",
        [const("position_embeddings", pos), const("zero", [0], np.int64), "seq_len"],
        "pos",
    )
    node("Add", ["words", "pos"], "embedded")
    hidden = node(
        "LayerNormalization",
        [
            "embedded",
            const("emb_ln_w", w["embeddings.LayerNorm.weight"]),
            const("emb_ln_b", w["embeddings.LayerNorm.bias"]),
        ],
        "emb_out",
        axis=-1,
        epsilon=eps,
    )
    node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        qkv_w = np.concatenate(
            [w[f"{p}attention.self.{k}.weight"].T for k in ("query", "key", "value")], axis=1
        )
        qkv_b = np.concatenate(
            [w[f"{p}attention.self.{k}.bias"] for k in ("query", "key", "value")]
        )
        att = node(
            "Attention",
            [hidden, const(f"l{i}_qkv_w", qkv_w), const(f"l{i}_qkv_b", qkv_b), "mask_i32"],
            f"l{i}_att",
            domain="com.microsoft",
            num_heads=heads,
        )
        hidden = project_and_norm(att, hidden, i, "attention.output", "ao", "ln1")
        up = node(
            "MatMul",
            [hidden, const(f"l{i}_up_w", w[f"{p}intermediate.dense.weight"].T)],
            f"l{i}_up",
        )
        act = node(
            "BiasGelu",
            [up, const(f"l{i}_up_b", w[f"{p}intermediate.dense.bias"])],
            f"l{i}_gelu",
            domain="com.microsoft",
        )
        hidden = project_and_norm(act, hidden, i, "output", "down", "ln2")
    # Mean pooling over real tokens: sum(hidden * mask) / max(sum(mask), tiny).
    node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    node("Unsqueeze", ["mask_f", const("axis2", [2], np.int64)], "mask_3d")
    node("Mul", [hidden, "mask_3d"], "masked")
    node("ReduceSum", ["masked", const("axis1", [1], np.int64)], "summed", keepdims=0)
    node("ReduceSum", ["mask_3d", "axis1"], "counts", keepdims=0)
    node("Max", ["counts", const("tiny", [1e-9])], "safe_counts")
    node("Div", ["summed", "safe_counts"], "sentence_embedding")

    dim = int(config["hidden_size"])
    graph = helper.make_graph(
        nodes,
        "sentence_embedder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", dim])],
        inits,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        producer_name="contextual-avatar",
    )


def _cache_name(weights: Path, *, quantize: bool) -> str:
    stat = weights.stat()
    key = f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{EXPORT_VERSION}:{quantize}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{weights.parent.name}-{digest}{'-int8' if quantize else ''}.onnx"


def _write_atomic(cache_dir: Path, target: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".onnx.tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def export_onnx(model_dir: Path, cache_dir: Path, *, quantize: bool = False) -> Path:
    """The model's ONNX file in ``cache_dir``, exported now if it is not there yet.

    Args:
        model_dir: A sentence-transformers BERT model directory with mean pooling.
        cache_dir: Where exports are kept (created if missing).
        quantize: Also quantise the weights to int8 (dynamic quantisation of the matrix
            products and attention, per-channel weight scales; faster on CPUs with VNNI,
            vectors about 0.99 cosine to the float model's).

    Returns:
        The path of the ``.onnx`` file.

    Raises:
        MissingDependencyError: The ``onnx`` package (extra ``[onnx]``) is missing.
        ModelError: The model is not a BERT model with mean pooling, or cannot be read.
    """
    weights = model_dir / "model.safetensors"
    if not weights.exists():
        raise ModelError(f"{model_dir} has no model.safetensors to export")
    target = cache_dir / _cache_name(weights, quantize=quantize)
    if target.exists():
        return target
    try:
        import onnx
    except ImportError as exc:
        raise MissingDependencyError("the ONNX embedder's export", "onnx", "onnx") from exc
    config = _check_model(model_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    model = _graph(read_safetensors(weights), config)
    if not quantize:
        _write_atomic(cache_dir, target, lambda tmp: onnx.save(model, str(tmp)))
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    plain = export_onnx(model_dir, cache_dir, quantize=False)
    with _quiet_root_logger():
        _write_atomic(
            cache_dir,
            target,
            lambda tmp: quantize_dynamic(
                plain,
                tmp,
                weight_type=QuantType.QInt8,
                per_channel=True,  # per-tensor scales lose too much (cosine 0.95 vs 0.99)
                # Shapes after the fused (com.microsoft) nodes are not inferred: all float.
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            ),
        )
    return target


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Keep ``quantize_dynamic``'s hint to pre-process out of the user's logging.

    Why: it calls ``logging.warning`` on the root logger, which prints "WARNING:root:..."
    and, in a process that has not configured logging, installs a handler on the root
    logger for good (``logging.basicConfig``). A handler present for the call prevents
    the latter; a filter drops the hint (other records pass).
    """
    root = logging.getLogger()
    handler = logging.NullHandler()
    hint = _DropRecords("consider to run pre-processing")
    root.addHandler(handler)
    root.addFilter(hint)
    try:
        yield
    finally:
        root.removeFilter(hint)
        root.removeHandler(handler)


class _DropRecords(logging.Filter):
    """Drops records whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self._text not in record.getMessage()
