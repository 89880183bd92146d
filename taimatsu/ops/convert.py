"""dtype and device conversion (``Tensor.to``) and the tensor's printed form."""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import dtypes as _dt
from .._tensor_base import TensorBase, make
from ..autograd.function import Function, apply_inplace, check_inplace_result

__all__ = []


class ToCopy(Function):
    """A copy of ``x`` with another dtype and/or on another device; gradient goes back the same way."""

    @staticmethod
    def forward(ctx, x, dtype, device):
        ctx.src = (x.dtype, x.device)
        arr = x._data
        if dtype is not None and arr.dtype != dtype.np:
            arr = arr.astype(dtype.np)
        if device is not None and device != x.device:
            arr = backend.to_device(arr, x.device, device)
        elif arr is x._data:
            arr = arr.copy()
        return make(arr, device or x.device)

    @staticmethod
    def backward(ctx, g):
        dtype, dev = ctx.src
        return ToCopy.apply(g, dtype if g.dtype is not dtype else None,
                            dev if g.device != dev else None), None, None


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``.

    Returns ``self`` when nothing changes (unless ``copy=True``), as PyTorch does.
    """
    for a in args:
        if isinstance(a, TensorBase):
            dtype, device = a.dtype, a.device
        elif isinstance(a, _dt.dtype):
            dtype = a
        elif isinstance(a, (str, backend.device, int)):
            device = a
        elif a is not None and not isinstance(a, bool):
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    if dtype is not None:
        dtype = _dt.to_dtype(dtype)
        if dtype is self.dtype:
            dtype = None
    if device is not None:
        device = backend.device(device) if not isinstance(device, int) else backend.device(
            "cuda", device)
        if device == self.device:
            device = None
    if dtype is None and device is None and not copy:
        return self
    return ToCopy.apply(self, dtype, device)


class CopyFrom(Function):
    """``x``'s storage overwritten by ``src`` (broadcast, cast, moved); the gradient goes to
    ``src`` only, reduced to its shape and dtype and moved back to its device by the engine."""

    @staticmethod
    def forward(ctx, x, src):
        ctx.src_device = src.device
        arr = backend.to_device(src._data, src.device, x.device)
        return make(x.xp.broadcast_to(arr, x._data.shape).astype(x._data.dtype), x.device)

    @staticmethod
    def backward(ctx, g):
        return None, g.to(ctx.src_device)


def _copy_fast(t, src):
    arr = backend.to_device(src._data, src.device, t.device)
    check_inplace_result(t, t._data.dtype, arr.shape)  # any dtype casts; shape and layout may not
    t._data[...] = arr


def copy_(self, src, non_blocking=False):
    """Copy ``src``'s values into this tensor (broadcast; any dtype; any device)."""
    if not isinstance(src, TensorBase):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    return apply_inplace(self, CopyFrom.apply, src, fast=_copy_fast)


_LEGACY_TYPES = {f"torch.{n}Tensor": d for n, d in (
    ("Float", _dt.float32), ("Double", _dt.float64), ("Half", _dt.float16),
    ("Long", _dt.int64), ("Int", _dt.int32), ("Short", _dt.int16), ("Char", _dt.int8),
    ("Byte", _dt.uint8), ("Bool", _dt.bool_))}


class PinMemory(Function):
    """A copy in page-locked host memory; the gradient passes through."""

    @staticmethod
    def forward(ctx, x):
        return make(backend.pin_array(x._data), x._device)

    @staticmethod
    def backward(ctx, g):
        return g


def pin_memory(self, device=None):
    """A copy in page-locked host memory, so copies to the GPU can be asynchronous."""
    if not backend.cuda_is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self._device.type != "cpu":
        raise RuntimeError(f"cannot pin '{type_(self)}' only dense CPU tensors can be pinned")
    return self if backend.is_pinned_array(self._data) else PinMemory.apply(self)


def is_pinned(self, device=None) -> bool:
    return backend.is_pinned_array(self._data)


def type_(self, dtype=None, non_blocking=False):
    """With no argument, the legacy type name (``"torch.FloatTensor"``); else ``to(dtype)``."""
    if dtype is None:
        prefix = "torch.cuda." if self.device.type == "cuda" else "torch."
        return f"{prefix}{_dt.legacy_name(self._data.dtype)}Tensor"
    if isinstance(dtype, str):
        key = dtype.replace("taimatsu.", "torch.").replace(".cuda.", ".")
        if key not in _LEGACY_TYPES:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = _LEGACY_TYPES[key]
    return self.to(dtype)


def tensor_repr(t) -> str:
    """PyTorch's layout: ``tensor([[1., 2.]], dtype=taimatsu.float64, grad_fn=<AddBackward0>)``."""
    arr = backend.to_numpy(t._data)
    prefix = "tensor("
    if arr.size == 0 and arr.ndim == 1:
        body = "[]"
    elif arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)].astype(np.float64)  # float16 cannot hold 1e8
        integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        big = finite.size and (np.abs(finite).max() >= 1e8 or
                               (np.abs(finite[finite != 0]).min(initial=1) < 1e-4))
        opts = {"precision": 4, "separator": ", ", "prefix": prefix, "threshold": 1000, "edgeitems": 3,
                    "max_line_width": 80}
        if big:
            opts["formatter"] = {"float_kind": lambda v: f"{v:.4e}"}
        elif not integral:
            opts["floatmode"] = "fixed"
        body = np.array2string(arr, **opts)
    else:
        body = np.array2string(arr, separator=", ", prefix=prefix, threshold=1000, edgeitems=3,
                               max_line_width=80)
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    # PyTorch omits the dtype when the values imply it: default float, int64, bool (and for
    # empty tensors, where no value shows, only the default float).
    implied = {_dt.get_default_dtype().np} if arr.size == 0 else {
        _dt.get_default_dtype().np, np.dtype(np.int64), np.dtype(np.bool_)}
    if arr.dtype not in implied:
        extras.append(f"dtype={t.dtype!r}")
    if arr.size == 0 and arr.ndim != 1:
        extras.insert(0, f"size={tuple(arr.shape)}")
        body = "[]"
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"

