"""Read CTranslate2's ``model.bin``: the tensor container faster-whisper models ship in.

Binary format versions 5 and 6: a spec name and revision, then named tensors (rank,
shape, dtype id, raw little-endian bytes), then aliases (one tensor under two names, e.g.
whisper's tied output projection). Parsing is numpy only; mapping the tensors onto
openai-whisper is :mod:`._whisper_convert`'s job.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from contextual_avatar.errors import ContextualAvatarError

__all__ = ["CTranslate2Model", "ConversionError", "read_ctranslate2_model"]

# CTranslate2's DataType enum order (include/ctranslate2/types.h).
_CT2_DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_SUPPORTED_BINARY_VERSIONS = range(5, 7)


class ConversionError(ContextualAvatarError, ValueError):
    """A file is not a CTranslate2 whisper model this converter understands."""


@dataclass(frozen=True, slots=True)
class CTranslate2Model:
    """The parsed content of a CTranslate2 ``model.bin``.

    Parameters:
        spec: The model specification name, e.g. ``"WhisperSpec"``.
        revision: The specification revision.
        variables: Tensors by CTranslate2 name, aliases resolved, as stored (not dequantized).
    """

    spec: str
    revision: int
    variables: Mapping[str, npt.NDArray[Any]]


def _read_exact(fh: BinaryIO, size: int, what: str) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise ConversionError(f"model.bin ends early while reading {what}")
    return data


def _read_u(fh: BinaryIO, fmt: str, what: str) -> int:
    value: int = struct.unpack(fmt, _read_exact(fh, struct.calcsize(fmt), what))[0]
    return value


def _read_string(fh: BinaryIO, what: str) -> str:
    length = _read_u(fh, "<H", what)
    raw = _read_exact(fh, length, what)
    return raw.rstrip(b"\0").decode("utf-8")


def _bf16_to_f32(raw: bytes, shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
    as_u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    return as_u16.view(np.float32).reshape(shape)


def read_ctranslate2_model(path: Path) -> CTranslate2Model:
    """Parse a CTranslate2 ``model.bin`` (binary format versions 5 and 6).

    Args:
        path: The ``model.bin`` file, or the model directory holding it.

    Returns:
        The spec name, revision and every variable (aliases point at the same array).

    Raises:
        ConversionError: The file is missing, truncated, or not a CTranslate2 model.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise ConversionError(f"{path} does not exist")
    variables: dict[str, npt.NDArray[Any]] = {}
    with path.open("rb") as fh:
        version = _read_u(fh, "<I", "the binary version")
        if version not in _SUPPORTED_BINARY_VERSIONS:
            raise ConversionError(
                f"{path} is not a CTranslate2 model this converter reads "
                f"(binary version {version}, expected 5 or 6)"
            )
        spec = _read_string(fh, "the spec name")
        revision = _read_u(fh, "<I", "the spec revision")
        count = _read_u(fh, "<I", "the variable count")
        for _ in range(count):
            name = _read_string(fh, "a variable name")
            rank = _read_u(fh, "<B", f"the rank of {name}")
            shape = tuple(_read_u(fh, "<I", f"the shape of {name}") for _ in range(rank))
            type_id = _read_u(fh, "<B", f"the dtype of {name}")
            if type_id >= len(_CT2_DTYPES):
                raise ConversionError(f"{name} has an unknown dtype id {type_id}")
            nbytes = _read_u(fh, "<I", f"the size of {name}")
            raw = _read_exact(fh, nbytes, name)
            dtype = _CT2_DTYPES[type_id]
            if dtype == "bfloat16":
                variables[name] = _bf16_to_f32(raw, shape)
                continue
            array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
            if array.size != int(np.prod(shape, dtype=np.int64)):
                raise ConversionError(f"{name}: {nbytes} bytes do not fit shape {shape}")
            variables[name] = array.reshape(shape)
        aliases = _read_u(fh, "<I", "the alias count")
        for _ in range(aliases):
            alias = _read_string(fh, "an alias name")
            target = _read_string(fh, "an alias target")
            if target not in variables:
                raise ConversionError(f"alias {alias} points at missing {target}")
            variables[alias] = variables[target]
    return CTranslate2Model(spec=spec, revision=revision, variables=variables)
