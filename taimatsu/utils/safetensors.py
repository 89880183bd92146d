"""Read and write ``.safetensors`` files (Hugging Face's weight format) as state dicts.

The same functions as ``safetensors.torch``: :func:`save_file`, :func:`load_file`, :func:`save`,
:func:`load`. Where the ``safetensors`` package is installed its NumPy API does the work;
otherwise the small reader/writer here does (the format is an 8-byte little-endian header length,
a JSON header ``{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}`` and the raw
little-endian bytes). Both check the header before touching data; errors are ``ValueError`` (a
bad file or bad input) and ``RuntimeError`` (tensors sharing memory, as ``safetensors.torch``).
Saving to a path is atomic (see :func:`taimatsu.save`).
"""
from __future__ import annotations

import json
import os

import numpy as np

from .. import backend
from .._tensor import Tensor
from .._tensor_base import make
from ..dtypes import bfloat16
from ..serialization import atomic_write

__all__ = ["load", "load_file", "save", "save_file"]

_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "I32": np.int32,
           "I64": np.int64, "F16": np.float16, "F32": np.float32, "F64": np.float64}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
# The Rust enum's order: the package writes higher ranks first
_RANK = ["BOOL", "U8", "I8", "I16", "F16", "BF16", "I32", "F32", "F64", "I64"]
_MAX_HEADER = 100_000_000  # the Rust implementation's limit


def _np_dtype(code: str):
    """The NumPy dtype of the file's dtype ``code`` (KeyError for one taimatsu lacks). BF16 is
    ml_dtypes' bfloat16, imported here (and so registered with NumPy, as the package's reader
    needs) only when a file holds one."""
    return bfloat16.np if code == "BF16" else np.dtype(_DTYPES[code])


def _code(dt) -> str:
    """The file's dtype code of the native-order NumPy dtype ``dt``."""
    return "BF16" if dt.name == "bfloat16" else _NAMES[dt]


def _numpy_api():
    """``safetensors.numpy`` when the package is installed, else None (imported on first use).
    Loading uses the package's ``deserialize`` and ``safe_open``, which it re-exports."""
    try:
        import safetensors.numpy as st
    except ImportError:
        return None
    return st


def _arrays(tensors: dict) -> dict:
    """Host arrays of the tensors, after safetensors.torch's checks."""
    if not isinstance(tensors, dict):
        raise ValueError(  # noqa: TRY004 - safetensors.torch's type
            f"Expected a dict of [str, Tensor] but received {type(tensors).__name__}")
    out, owners = {}, {}
    for name, t in tensors.items():
        if not isinstance(name, str) or not isinstance(t, Tensor):
            raise ValueError(  # noqa: TRY004 - safetensors.torch's type
                f"Key `{name}` is invalid, expected str to Tensor but received "
                f"{type(name).__name__} to {type(t).__name__}")
        if not t.is_contiguous():
            raise ValueError(f"You are trying to save a non contiguous tensor: `{name}` which is "
                             "not allowed. It either means you are trying to save tensors which "
                             "are reference of each other in which case it's recommended to save "
                             "only the full tensors, and reslice at load time, or simply call "
                             "`.contiguous()` on your tensor to pack it before saving.")
        arr = t._data
        owner = backend.memory_owner(arr)
        if t.numel() and id(owner) in owners:
            raise RuntimeError(f"Some tensors share memory, this will lead to duplicate memory on "
                               f"disk and potential differences when loading them again: "
                               f"[{owners[id(owner)]!r}, {name!r}]. A potential way to correctly "
                               "save your model is to clone the tensors that share memory.")
        owners[id(owner)] = name
        out[name] = np.asarray(backend.to_numpy(arr), order="C").astype(
            arr.dtype.newbyteorder("<"), copy=False)
    return out


def _serialize(arrays: dict, metadata: dict | None) -> list:
    """The file as a list of byte chunks (header, then each tensor's bytes)."""
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("metadata must be a dict of str to str")
        header["__metadata__"] = metadata
    # The package's order (descending dtype rank, then name): wider types first keeps every
    # tensor aligned, and the bytes match the package's exactly.
    def rank(n):
        return (-_RANK.index(_code(arrays[n].dtype.newbyteorder("="))), n)

    for name in sorted(arrays, key=rank):
        a = arrays[name]
        header[name] = {"dtype": _code(a.dtype.newbyteorder("=")), "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        chunks.append(a.reshape(-1).view(np.uint8))
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return [len(text).to_bytes(8, "little"), text, *chunks]


def _deserialize(buf) -> dict:
    """Arrays viewing ``buf`` (bytes or a uint8 array), after checking the whole header."""
    view = np.frombuffer(buf, np.uint8) if not isinstance(buf, np.ndarray) else buf
    if view.size < 8:
        raise ValueError("Error while deserializing header: HeaderTooSmall")
    n = int.from_bytes(view[:8].tobytes(), "little")
    if n > _MAX_HEADER or 8 + n > view.size:
        raise ValueError("Error while deserializing header: InvalidHeaderLength")
    try:
        header = json.loads(view[8:8 + n].tobytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"Error while deserializing header: InvalidHeaderDeserialization ({e})") \
            from None
    if not isinstance(header, dict):
        raise ValueError(  # noqa: TRY004 - a bad file, not a bad argument
            "Error while deserializing header: InvalidHeaderDeserialization")
    header.pop("__metadata__", None)
    data = view[8 + n:]
    entries = []
    for name, spec in header.items():
        try:
            np_dtype = _np_dtype(spec["dtype"]).newbyteorder("<")
            shape = [int(s) for s in spec["shape"]]
            begin, end = (int(o) for o in spec["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"Error while deserializing header: bad entry for tensor {name!r}: "
                             f"{spec!r:.100}") from None
        if any(s < 0 for s in shape) or begin < 0 or end < begin or \
                int(np.prod(shape, dtype=object)) * np_dtype.itemsize != end - begin:
            raise ValueError(f"Error while deserializing header: TensorInvalidInfo for {name!r}")
        entries.append((begin, end, name, np_dtype, shape))
    entries.sort()
    expected = 0
    for begin, end, name, _, _ in entries:  # the buffer is tiled exactly, with no overlap
        if begin != expected:
            raise ValueError(f"Error while deserializing header: InvalidOffset({name!r})")
        expected = end
    if expected != data.size:
        raise ValueError("Error while deserializing header: MetadataIncompleteBuffer")
    return {name: data[b:e].view(d).reshape(shape) for b, e, name, d, shape in entries}


def _get(f, name: str):
    """Tensor ``name`` of the package's open file ``f``, once its dtype is known to taimatsu."""
    _np_dtype(f.get_slice(name).get_dtype())
    return f.get_tensor(name)


def _to_tensors(arrays: dict, device) -> dict:
    dev = backend.device(device)
    out = {}
    for name, a in arrays.items():
        a = a.astype(a.dtype.newbyteorder("="))  # a native, writable copy (the file stays)
        out[name] = make(backend.to_device(a, backend.CPU, dev), dev)
    return out


def save(tensors: dict, metadata: dict | None = None) -> bytes:
    """The safetensors bytes of a dict of contiguous tensors that do not share memory."""
    arrays = _arrays(tensors)
    st = _numpy_api()
    if st is not None:
        return st.save(arrays, metadata=metadata)
    return b"".join(bytes(c) for c in _serialize(arrays, metadata))


def save_file(tensors: dict, filename, metadata: dict | None = None) -> None:
    """Write ``tensors`` to ``filename`` (atomically).

    Example::

        >>> save_file(model.state_dict(), "model.safetensors")
    """
    if _numpy_api() is not None:
        data = save(tensors, metadata)
        atomic_write(os.fspath(filename), lambda f: f.write(data))
        return
    chunks = _serialize(_arrays(tensors), metadata)

    def write(f) -> None:
        for c in chunks:
            f.write(c)

    atomic_write(os.fspath(filename), write)


def load(data: bytes) -> dict:
    """The tensors (on the CPU) of safetensors ``data``."""
    st = _numpy_api()
    if st is not None:
        try:
            # (the package checks the file; its NumPy API's dtype table lacks BF16)
            return _to_tensors({name: np.frombuffer(v["data"], _np_dtype(v["dtype"])).reshape(
                v["shape"]) for name, v in st.deserialize(data)}, "cpu")
        except Exception as e:  # the package's SafetensorError: one documented type
            raise ValueError(str(e)) from e
    return _to_tensors(_deserialize(data), "cpu")


def load_file(filename, device="cpu") -> dict:
    """The tensors of the file ``filename``, on ``device``.

    Example::

        >>> model.load_state_dict(load_file("model.safetensors"))
    """
    st = _numpy_api()
    if st is not None:
        try:
            with st.safe_open(filename, framework="np") as f:
                names = f.keys()
                return _to_tensors({name: _get(f, name) for name in names}, device)
        except (OSError, MemoryError):
            raise
        except Exception as e:  # the package's SafetensorError: one documented type
            raise ValueError(str(e)) from e
    return _to_tensors(_deserialize(np.memmap(filename, np.uint8, mode="r")), device)
