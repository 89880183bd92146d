"""dtype and device conversion (``Tensor.to``) and the tensor's printed form."""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import dtypes as _dt
from .._tensor_base import TensorBase, make
from ..autograd.function import Function, apply_inplace, check_inplace_result

__all__ = ["channels_last", "channels_last_3d", "contiguous_format", "memory_format",
           "preserve_format"]


class memory_format:
    """A tensor layout for ``to``/``cpu``/``cuda`` (``memory_format=``): PyTorch's
    ``preserve_format`` (keep the strides), ``contiguous_format`` (row-major),
    ``channels_last`` (NHWC strides of an NCHW tensor) and ``channels_last_3d`` (NDHWC)."""

    __slots__ = ("_name", "_rank")

    def __init__(self, name: str, rank: int | None = None) -> None:
        self._name, self._rank = name, rank

    def __repr__(self) -> str:
        return f"taimatsu.{self._name}"

    def __reduce__(self):
        return self._name  # a module global: pickles as the same object

    def _aliases(self, arr) -> bool:
        """True when ``to(memory_format=self)`` may return the tensor itself: PyTorch asks its
        suggested format (channels_last where the strides look so, else contiguous_format),
        so a permuted tensor counts as contiguous_format here."""
        if self is preserve_format:
            return True
        if self._rank is not None and arr.ndim != self._rank:
            raise RuntimeError(f"required rank {self._rank} tensor to use {self._name} format")
        return _suggested_format(arr) is self

    def _layout(self, arr):
        """``arr`` itself when it has exactly this layout (any, for preserve_format), else a
        copy that has it."""
        if self is preserve_format or self._is_dense_in(arr):
            return arr
        if self is contiguous_format:
            return arr.copy(order="C")
        last = _channels_last_axes(arr.ndim)
        back = (0, arr.ndim - 1, *range(1, arr.ndim - 1))
        return arr.transpose(last).copy(order="C").transpose(back)

    def _is_dense_in(self, arr) -> bool:
        if self is contiguous_format:
            return arr.flags.c_contiguous
        return arr.transpose(_channels_last_axes(arr.ndim)).flags.c_contiguous


def _channels_last_axes(ndim: int) -> tuple:
    return (0, *range(2, ndim), 1)  # NCHW -> NHWC: the channels moved to the end


def _suggested_format(arr) -> memory_format:
    """PyTorch's ``suggest_memory_format``: channels_last(_3d) when the strides, read from the
    channels dim outwards (C, W, H, N), never shrink; else contiguous_format."""
    if arr.ndim not in (4, 5) or 0 in arr.shape:
        return contiguous_format
    strides = [st // arr.itemsize for st in arr.strides]
    if strides[1] == 0:
        return contiguous_format
    low = 0
    for d in (1, *range(arr.ndim - 1, 1, -1), 0):
        if strides[d] < low or (d == 0 and low == strides[1]):
            return contiguous_format
        low = strides[d] * max(arr.shape[d], 1)
    return channels_last if arr.ndim == 4 else channels_last_3d


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last", 4)
channels_last_3d = memory_format("channels_last_3d", 5)

NOT_COMPILED = ("Torch not compiled with CUDA enabled (taimatsu runs device 'cuda' on CuPy "
                "and an NVIDIA GPU: pip install cupy-cuda12x)")


class CudaUnavailableError(AssertionError, RuntimeError):
    """Device ``cuda`` used without CuPy or a GPU. PyTorch's CPU-only build raises an
    AssertionError here, and taimatsu's backend a RuntimeError where CUDA is missing: this is
    both, so either ``except`` catches it."""


def require_cuda() -> None:
    """PyTorch's CPU-only build refuses every use of device ``cuda`` this way."""
    if not backend.cuda_is_available():
        raise CudaUnavailableError(NOT_COMPILED)


def target_device(device) -> backend.device:
    """The device a ``to``/``cuda`` argument names: an int is a GPU index, and a bare ``"cuda"``
    means the current GPU (``taimatsu.cuda.set_device``), as in PyTorch."""
    if isinstance(device, int):
        if device < 0:
            raise RuntimeError("Device index must not be negative")
        if not backend.cuda_is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        dev = backend.device("cuda", device)
    else:
        dev = backend.device(device)
        if dev.type != "cuda":
            return dev
        require_cuda()
        if isinstance(device, str) and device == "cuda":  # (a device object has its index)
            return backend.device("cuda", backend.cuda_current_device())
    if dev.index >= backend.cuda_device_count():
        raise RuntimeError("CUDA error: invalid device ordinal")
    return dev


def cuda_device(device) -> backend.device:
    """The GPU a ``cuda(device)`` call names: None is the current GPU."""
    if device is None:
        device = "cuda"
    elif not isinstance(device, int) and backend.device(device).type != "cuda":
        raise RuntimeError("Invalid device, must be cuda device")
    return target_device(device)


class ToCopy(Function):
    """A copy of ``x`` with another dtype, device and/or layout; the gradient goes back to
    ``x``'s dtype and device."""

    @staticmethod
    def forward(ctx, x, dtype, device, layout):
        ctx.src = (x.dtype, x.device)
        arr = layout._layout(x._data)  # first: a later cast or transfer keeps the new strides
        if dtype is not None:
            arr = arr.astype(dtype.np, copy=False)
        if device is not None:
            arr = backend.to_device(arr, x.device, device)
        if arr is x._data:
            arr = arr.copy(order="K")
        return make(arr, device or x.device)

    @staticmethod
    def backward(ctx, g):
        dtype, dev = ctx.src
        return ToCopy.apply(g, dtype if g.dtype is not dtype else None,
                            dev if g.device != dev else None, preserve_format), None, None, None


_TO_OVERLOADS = (
    " * (torch.device device = None, torch.dtype dtype = None, bool non_blocking = False, "
    "bool copy = False, *, torch.memory_format memory_format = None)\n"
    " * (torch.dtype dtype, bool non_blocking = False, bool copy = False, *, "
    "torch.memory_format memory_format = None)\n"
    " * (Tensor tensor, bool non_blocking = False, bool copy = False, *, "
    "torch.memory_format memory_format = None)\n")


def _type_name(v) -> str:
    """A value's type as PyTorch's argument errors name it."""
    if isinstance(v, TensorBase):
        return "Tensor"
    for kind, name in ((_dt.dtype, "torch.dtype"), (backend.device, "torch.device"),
                       (memory_format, "torch.memory_format")):
        if isinstance(v, kind):
            return name
    return type(v).__name__


def _is_dtype(v) -> bool:
    """A dtype, or a Python type standing for one (``float``: float64, ``int``, ``bool``)."""
    return isinstance(v, _dt.dtype) or (isinstance(v, type) and v in (float, int, bool))


# What each parameter of Tensor.to accepts (a device may also be None; the bools must be bools).
_TO_CHECKS = {
    "device": lambda v: v is None or (isinstance(v, (str, backend.device, int))
                                      and not isinstance(v, bool)),
    "dtype": lambda v: v is None or _is_dtype(v),
    "tensor": lambda v: isinstance(v, TensorBase),
    "non_blocking": lambda v: isinstance(v, bool),
    "copy": lambda v: isinstance(v, bool),
    "memory_format": lambda v: v is None or isinstance(v, memory_format),
}


def parse_to(args: tuple, kwargs: dict):
    """PyTorch's three ``to`` overloads, ``(device, dtype, non_blocking, copy)``,
    ``(dtype, non_blocking, copy)`` and ``(tensor, non_blocking, copy)`` (``memory_format``
    keyword-only), to ``(device, dtype, non_blocking, copy, memory_format)``; ``copy`` is None
    when not given (``Module.to`` refuses it). Raises PyTorch's TypeError for anything else."""
    if len(args) > 4:
        raise TypeError(f"to() takes from 0 to 4 positional arguments but {len(args)} were given")
    first = args[0] if args else None
    if isinstance(first, TensorBase) or (not args and "tensor" in kwargs):
        names = ("tensor", "non_blocking", "copy")
    elif args and _is_dtype(first):
        names = ("dtype", "non_blocking", "copy")
    else:
        names = ("device", "dtype", "non_blocking", "copy")
    given = dict(zip(names, args))
    if len(args) > len(names) or any(k in given or k not in _TO_CHECKS or
                                     (k not in names and k != "memory_format") for k in kwargs):
        given = None
    else:
        given.update(kwargs)
    if given is None or not all(_TO_CHECKS[k](v) for k, v in given.items()):
        got = [_type_name(a) for a in args] + [f"{k}={_type_name(v)}" for k, v in kwargs.items()]
        shown = ", ".join(got) + (", " if kwargs and not args else "")
        raise TypeError(f"to() received an invalid combination of arguments - got ({shown}), but "
                        f"expected one of:\n{_TO_OVERLOADS}")
    device, dtype = given.get("device"), given.get("dtype")
    if "tensor" in given:
        device, dtype = given["tensor"].device, given["tensor"].dtype
    return (device, None if dtype is None else _dt.to_dtype(dtype),
            given.get("non_blocking", False), given.get("copy"), given.get("memory_format"))


def to(self, *args, **kwargs):
    """``to(device=None, dtype=None, non_blocking=False, copy=False, *, memory_format=None)``,
    ``to(dtype, non_blocking=False, copy=False)`` or ``to(other, non_blocking=False, copy=False)``.

    Returns ``self`` when nothing changes (unless ``copy=True``), as PyTorch does; the gradient
    flows back to ``self``'s device and dtype. ``non_blocking`` is accepted; every transfer here
    completes before ``to`` returns, which is one of the orders PyTorch allows.
    """
    if len(args) == 1 and not kwargs:  # the hot forms, to(dtype) and to(device), parse fast
        a = args[0]
        if isinstance(a, _dt.dtype):
            return convert(self, None, a, False, None)
        if isinstance(a, (str, backend.device)):
            return convert(self, a, None, False, None)
    device, dtype, _non_blocking, copy, layout = parse_to(args, kwargs)
    return convert(self, device, dtype, bool(copy), layout)


def convert(t, device, dtype, copy: bool, layout):
    """``t`` on ``device`` with ``dtype`` and ``layout`` (a memory_format; None: preserve),
    each None for no change; ``t`` itself when nothing changes unless ``copy``."""
    if device is not None:
        device = target_device(device)
        if device == t._device:
            device = None
    if dtype is t.dtype:
        dtype = None
    layout = layout or preserve_format
    aliases = layout._aliases(t._data)  # (first: a wrong rank for channels_last raises)
    if dtype is None and device is None and not copy and aliases:
        return t
    return ToCopy.apply(t, dtype, device, layout)


def cuda(self, device=None, non_blocking: bool = False, memory_format=preserve_format):
    """A copy on GPU ``device`` (an index, ``"cuda:N"`` or a device; None: the current GPU),
    or ``self`` when it is there already."""
    return convert(self, cuda_device(device), None, False, memory_format)


def cpu(self, memory_format=preserve_format):
    """A copy in host memory, or ``self`` when it is there already."""
    return convert(self, backend.CPU, None, False, memory_format)


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
    ("Byte", _dt.uint8), ("Bool", _dt.bool_), ("BFloat16", _dt.bfloat16))}


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


def type_(self, dtype=None, non_blocking: bool = False):
    """With no argument, the legacy type name (``"torch.FloatTensor"``); with a dtype,
    ``to(dtype)``; with a legacy name, that dtype on that kind of device
    (``"torch.cuda.HalfTensor"``: float16 on the GPU)."""
    if dtype is None:
        prefix = "torch.cuda." if self.device.type == "cuda" else "torch."
        return f"{prefix}{_dt.legacy_name(self._data.dtype)}Tensor"
    device, dtype = type_target(dtype, self._device)
    return convert(self, device, dtype, False, None)


def type_target(dst_type, device) -> tuple:
    """``(device, dtype)`` that ``type(dst_type)`` converts a tensor on ``device`` to: a legacy
    name (``"torch.cuda.HalfTensor"``) names the kind of device too; a dtype keeps ``device``."""
    if isinstance(dst_type, str):
        key = dst_type.replace("taimatsu.", "torch.")
        on_gpu = key.startswith("torch.cuda.")
        key = key.replace(".cuda.", ".")
        if key not in _LEGACY_TYPES:
            raise ValueError(f"invalid type: '{dst_type}'")
        if not on_gpu:
            device = backend.CPU
        elif device.type != "cuda":
            device = "cuda"
        return device, _LEGACY_TYPES[key]
    if isinstance(dst_type, type):  # (PyTorch's legacy tensor classes, which taimatsu lacks)
        raise ValueError(f"invalid type: '{dst_type.__name__}'")  # noqa: TRY004 - PyTorch's type
    if not isinstance(dst_type, _dt.dtype):
        raise TypeError("dtype must be a type, str, or dtype object")
    return device, dst_type


def tensor_repr(t) -> str:
    """PyTorch's layout: ``tensor([[1., 2.]], dtype=taimatsu.float64, grad_fn=<AddBackward0>)``."""
    arr = backend.to_numpy(t._data)
    prefix = "tensor("
    if arr.size == 0 and arr.ndim == 1:
        body = "[]"
    elif arr.dtype.kind in "fV":  # ("V": bfloat16)
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
        # (NumPy formats bfloat16, a user dtype, as plain reprs: its float32 values print alike)
        body = np.array2string(arr.astype(np.float32) if arr.dtype.kind == "V" else arr, **opts)
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

