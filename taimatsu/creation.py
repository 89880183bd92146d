"""Tensor creation: from data (``tensor``, ``as_tensor``, ``from_numpy``), filled
(``zeros``/``ones``/``full``/``empty`` and their ``_like``), ranges, ``eye``, and random draws."""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from . import backend
from . import dtypes as _dt
from ._layouts import check_storage, laid_out
from ._out import out_variant
from ._tensor_base import TensorBase, make
from .autograd.function import (
    Function,
    _check_inplace_allowed,
    apply_inplace,
    check_inplace_result,
)
from .random import generator_for
from .size import Size

MAX_DIMS = 64  # NumPy's (PyTorch allows more)

__all__ = [
    "arange",
    "as_tensor",
    "asarray",
    "bernoulli",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "logspace",
    "multinomial",
    "normal",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "scalar_tensor",
    "tensor",
    "zeros",
    "zeros_like",
]


def _device(device):
    return backend.CPU if device is None else backend.device(device) if not isinstance(
        device, int) else backend.device("cuda", device)


def _finish(arr, device, requires_grad):
    t = make(arr, device)
    if requires_grad:
        if arr.dtype.kind not in "fcV":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._requires_grad = True
    return t


def _infer_np_dtype(arr):
    """PyTorch's dtype for Python data: bools -> bool, ints -> int64, any float -> default."""
    kind = arr.dtype.kind
    if kind == "b":
        return np.bool_
    if kind in "iu":
        return np.int64
    return _dt.get_default_dtype().np


def _sequence_error(data, shape=None, dim=0):
    """PyTorch's error for ragged nested sequences (NumPy's message names no dimension)."""
    if shape is None:
        shape, x = [], data
        while isinstance(x, (list, tuple)):
            shape.append(len(x))
            x = x[0] if x else None
    if len(data) != shape[dim]:
        return ValueError(f"expected sequence of length {shape[dim]} at dim {dim} "
                          f"(got {len(data)})")
    for x in data:
        if dim + 1 < len(shape):
            if not isinstance(x, (list, tuple)):
                return TypeError("not a sequence")
            err = _sequence_error(x, shape, dim + 1)
            if err is not None:
                return err
        elif isinstance(x, (list, tuple)):
            return TypeError(f"'{type(x).__name__}' object cannot be interpreted as an integer")
    return None


def _element_error(arr):
    """PyTorch's error for Python data holding something other than numbers."""
    for x in arr.reshape(-1):
        if isinstance(x, (str, bytes)):
            return TypeError(f"new(): invalid data type '{type(x).__name__}'")
        if isinstance(x, int) and not isinstance(x, bool):
            continue  # (an int too large for int64: reported below if nothing else is wrong)
        if not isinstance(x, (float, bool, complex, np.generic)):
            return RuntimeError(f"Could not infer dtype of {type(x).__name__}")
    return ValueError("Overflow when unpacking long long")


def _python_data_array(data):
    """Nested Python numbers as a NumPy array, refused as PyTorch refuses them."""
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    try:
        arr = np.array(data)
    except ValueError:
        err = _sequence_error(data) if isinstance(data, (list, tuple)) else None
        if err is None:
            raise
        raise err from None
    kind = arr.dtype.kind
    if kind in "US":
        raise ValueError("too many dimensions 'str'")
    if kind == "O":
        err = _element_error(arr)
        if isinstance(err, ValueError) and any(isinstance(x, float) for x in arr.reshape(-1)):
            return arr.astype(np.float64)  # huge ints among floats are just floats
        raise err
    if kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError("Overflow when unpacking long long")
    return arr


def _overflows(values, npd) -> bool:
    """True when the numbers in array ``values`` do not fit integer dtype ``npd`` by PyTorch's
    rule: as in C, a negative int wraps into an unsigned type (-1 is 255 in uint8), a negative
    or non-finite float does not fit."""
    info = np.iinfo(npd)
    low = info.min if npd.kind == "i" or values.dtype.kind == "f" else -int(info.max)
    return bool(values.dtype.kind == "f" and np.isnan(values).any()
                or values.min() < low or values.max() > info.max)


def _check_fits(arr, dt) -> None:
    """Python numbers given to ``tensor()`` must fit an integer dtype."""
    if dt.np.kind in "iu" and arr.size and _overflows(arr, dt.np):
        raise RuntimeError(f"value cannot be converted to type {dt.np.name} without overflow")


def _to_array(data, dtype):
    """A NumPy array from nested Python data (tensors inside convert through ``__array__``),
    NumPy arrays, or a tensor."""
    if isinstance(data, TensorBase):
        return backend.to_numpy(data._data)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    arr = _python_data_array(data)
    if dtype is None:
        return arr.astype(_infer_np_dtype(arr), copy=False)
    _check_fits(arr, dtype)
    return arr


@backend.allocating
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (nested lists, scalars, NumPy arrays, tensors)."""
    check_storage("tensor", pin_memory=pin_memory)
    dt = None if dtype is None else _dt.to_dtype(dtype)
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
        data = np.asarray(data)
    if isinstance(data, TensorBase):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        dev = data.device if device is None else _device(device)
        arr = data._data.astype(dt.np) if dt is not None else data._data.copy()
        return _finish(backend.to_device(arr, data.device, dev), dev, requires_grad)
    arr = _to_array(data, dt)
    if dt is not None:
        arr = arr.astype(dt.np)
    else:
        _dt.from_numpy_dtype(arr.dtype)  # rejects unsupported dtypes with PyTorch's message
    arr = np.array(arr, copy=True, order="C")
    dev = _device(device)
    return _finish(dev.xp.asarray(arr) if dev.type != "cpu" else arr, dev, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with ``data`` where dtype and device allow."""
    if isinstance(data, TensorBase):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if backend.is_array(data):
        dev = backend.device_of_array(data)
        if device is None or _device(device) == dev:
            arr = data if dtype is None else data.astype(_dt.to_dtype(dtype).np, copy=False)
            _dt.from_numpy_dtype(arr.dtype)
            return make(arr, dev)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """``obj`` as a tensor: shared where dtype and device allow (``copy=None``), always copied
    (``copy=True``), or shared or refused (``copy=False``)."""
    t = as_tensor(obj, dtype, device)
    shared = t is obj or t._data is obj
    if copy and shared:
        t = make(t._data.copy(), t.device)
    elif copy is False and not shared:
        raise ValueError("asarray(): copy=False was given, but obj cannot be shared without a "
                         "copy (it is not a tensor or array of the requested dtype and device)")
    if requires_grad:
        t = (t.detach() if t is obj else t).requires_grad_(True)
    return t


def from_numpy(ndarray) -> TensorBase:
    """A CPU tensor sharing memory with ``ndarray`` (writes show up in both)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dt.from_numpy_dtype(ndarray.dtype)
    if any(st < 0 for st in ndarray.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array  with array.copy().) ")
    if not ndarray.flags.writeable:
        _warn_once("The given NumPy array is not writable, and PyTorch does not support "
                   "non-writable tensors. This means writing to this tensor will result in "
                   "undefined behavior. You may want to copy the array to protect its data or "
                   "make it writable before converting it to a tensor. This type of warning "
                   "will be suppressed for the rest of this program.")
    return make(ndarray, backend.CPU)


_warned: set = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, UserWarning, stacklevel=3)


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing memory with any object that implements the DLPack protocol.

    ``device`` moves it (a copy), ``copy=True`` always copies, ``copy=False`` refuses a move."""
    if isinstance(ext_tensor, TensorBase):
        t = ext_tensor
    else:
        dev_type, dev_id = ext_tensor.__dlpack_device__()
        if int(dev_type) == 1:  # kDLCPU
            t = make(np.from_dlpack(ext_tensor), backend.CPU)
        else:
            dev = backend.device("cuda", dev_id)
            t = make(dev.xp.from_dlpack(ext_tensor), dev)
    if device is not None and _device(device) != t.device:
        if copy is False:
            raise ValueError(f"from_dlpack(): copy=False, but the tensor is on {t.device} and "
                             f"device={_device(device)} needs a copy")
        return t.to(_device(device))
    return make(t._data.copy(), t.device) if copy else t


def _size(size, name="tensor"):
    """A size given as ints (or one sequence of them), validated as PyTorch's parser does."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = size[0]
    out = []
    for pos, s in enumerate(size):
        if isinstance(s, (float, bool)) or not hasattr(s, "__index__"):
            raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, but "
                            f"found element of type {type(s).__name__} at pos {pos}")
        out.append(operator.index(s))
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {out}")
    if len(out) > MAX_DIMS:
        raise RuntimeError(f"taimatsu tensors have at most {MAX_DIMS} dimensions (NumPy's "
                           f"limit); got a size with {len(out)}")
    return tuple(out)


def _float_dtype(dtype):
    return _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)


# out= on a factory: dtype and device default to out's, and out is resized silently (PyTorch).
_factory_out = out_variant(dtype="out", factory=True, resize_warning=None)


def _arange_resized(old: tuple, new: tuple) -> str | None:
    """arange's own warning for resizing ``out`` (PyTorch keeps an out with as many elements)."""
    if math.prod(old) == math.prod(new):
        return None
    return (f"The number of elements in the out tensor of shape {list(old)} is {math.prod(old)} "
            f"which does not match the computed number of elements {math.prod(new)}. Note that "
            "this may occur as a result of rounding error. The out tensor will be resized to a "
            f"tensor of shape ({math.prod(new)},).")


@_factory_out
@backend.allocating
def zeros(*size, dtype=None, device=None, requires_grad=False, layout=None,
          pin_memory=False):
    check_storage("zeros", layout, pin_memory)
    dev = _device(device)
    return _finish(dev.xp.zeros(_size(size, "zeros"), _float_dtype(dtype).np), dev, requires_grad)


@_factory_out
@backend.allocating
def ones(*size, dtype=None, device=None, requires_grad=False, layout=None,
         pin_memory=False):
    check_storage("ones", layout, pin_memory)
    dev = _device(device)
    return _finish(dev.xp.ones(_size(size, "ones"), _float_dtype(dtype).np), dev, requires_grad)


@_factory_out
@backend.allocating
def empty(*size, dtype=None, device=None, requires_grad=False, layout=None,
          pin_memory=False, memory_format=None):
    check_storage("empty", layout, pin_memory, memory_format)
    dev = _device(device)
    arr = dev.xp.empty(_size(size, "empty"), _float_dtype(dtype).np)
    return _finish(laid_out(dev.xp, arr, memory_format), dev, requires_grad)


@_factory_out
@backend.allocating
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
         pin_memory=False):
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from the value)."""
    check_storage("full", layout, pin_memory)
    dt = _dt.scalar_dtype(fill_value) if dtype is None else _dt.to_dtype(dtype)
    dev = _device(device)
    return _finish(dev.xp.full(_size((size,), "full"), checked_fill_value(fill_value, dt), dt.np),
                   dev, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
    return full((), s, dtype=dtype or _dt.get_default_dtype(), device=device,
                requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)


def _like(op, input, dtype, device, layout=None, pin_memory=False, memory_format=None):
    """(dtype, device, lay) of a ``*_like``: ``lay(arr)`` gives the new array the memory format
    asked for (by default, ``input``'s stride order)."""
    check_storage(op, layout, pin_memory, memory_format)
    dev = input.device if device is None else _device(device)
    like = input._data if dev == input.device else None
    return (input.dtype if dtype is None else _dt.to_dtype(dtype), dev,
            lambda arr: laid_out(dev.xp, arr, memory_format, like))


@backend.allocating
def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
               layout=None, pin_memory=False):
    dt, dev, lay = _like("zeros_like", input, dtype, device, layout, pin_memory, memory_format)
    return _finish(lay(dev.xp.zeros(input._data.shape, dt.np)), dev, requires_grad)


@backend.allocating
def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
              layout=None, pin_memory=False):
    dt, dev, lay = _like("ones_like", input, dtype, device, layout, pin_memory, memory_format)
    return _finish(lay(dev.xp.ones(input._data.shape, dt.np)), dev, requires_grad)


@backend.allocating
def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
               layout=None, pin_memory=False):
    dt, dev, lay = _like("empty_like", input, dtype, device, layout, pin_memory, memory_format)
    return _finish(lay(dev.xp.empty(input._data.shape, dt.np)), dev, requires_grad)


@backend.allocating
def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None, layout=None, pin_memory=False):
    dt, dev, lay = _like("full_like", input, dtype, device, layout, pin_memory, memory_format)
    return _finish(lay(dev.xp.full(input._data.shape, fill_value, dt.np)), dev, requires_grad)


@out_variant(dtype="out", factory=True, resize_warning=_arange_resized)
@backend.allocating
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False,
           layout=None, pin_memory=False):
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless any is a float."""
    check_storage("arange", layout, pin_memory)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, TensorBase) else v for v in (start, end, step)]
    start, end, step = vals
    for v in (start, end):
        if not math.isfinite(v):
            raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dt = _dt.get_default_dtype() if any(isinstance(v, float) for v in vals) else _dt.int64
    else:
        dt = _dt.to_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    dev = _device(device)
    arr = (dev.xp.arange(n, dtype=np.float64) * step + start).astype(dt.np)
    return _finish(arr, dev, requires_grad)


def _check_steps(steps) -> None:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")


@_factory_out
@backend.allocating
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):
    check_storage("linspace", layout, pin_memory)
    _check_steps(steps)
    dev = _device(device)
    arr = dev.xp.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _finish(arr.astype(_float_dtype(dtype).np), dev, requires_grad)


@_factory_out
@backend.allocating
def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):
    check_storage("logspace", layout, pin_memory)
    _check_steps(steps)
    dev = _device(device)
    arr = dev.xp.logspace(float(start), float(end), int(steps), base=base, dtype=np.float64)
    return _finish(arr.astype(_float_dtype(dtype).np), dev, requires_grad)


@_factory_out
@backend.allocating
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, layout=None,
        pin_memory=False):
    check_storage("eye", layout, pin_memory)
    dev = _device(device)
    return _finish(dev.xp.eye(n, n if m is None else m, dtype=_float_dtype(dtype).np), dev,
                   requires_grad)


# ------------------------------------------------------------------------------- random
@_factory_out
@backend.allocating
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False,
          layout=None, pin_memory=False):
    """Standard normal samples."""
    check_storage("randn", layout, pin_memory)
    dev = _device(device)
    dt = _float_dtype(dtype)
    arr = generator_for(dev, generator).rng.standard_normal(_size(size, "randn"), dtype=_rng_dtype(dt, "normal_kernel_cpu"))
    return _finish(arr.astype(dt.np, copy=False), dev, requires_grad)


@_factory_out
@backend.allocating
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False,
         layout=None, pin_memory=False):
    """Uniform samples on [0, 1)."""
    check_storage("rand", layout, pin_memory)
    dev = _device(device)
    dt = _float_dtype(dtype)
    arr = generator_for(dev, generator).rng.random(_size(size, "rand"), dtype=_rng_dtype(dt, "check_uniform_bounds"))
    return _finish(arr.astype(dt.np, copy=False), dev, requires_grad)


def _rng_dtype(dt, kernel):
    """The dtype to draw floats in (float16 draws in float32 and casts); PyTorch's error for
    integer and bool dtypes, which have no such kernel."""
    if not dt.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_dt.legacy_name(dt.np)}\'')
    return np.float64 if dt.np == np.float64 else np.float32


def checked_fill_value(value, dt):
    """``value`` checked to fit ``dt`` as PyTorch checks a scalar fill (-1 wraps in uint8)."""
    if isinstance(value, TensorBase) or dt.is_floating_point or dt.np.kind == "b":
        return value
    v = np.asarray(value)
    if v.dtype.kind not in "fiu":
        return value
    if _overflows(v, dt.np):
        raise RuntimeError(f"value cannot be converted to type {dt.np.name}_t without overflow")
    # (a NumPy scalar, not a 0-d array: CuPy takes scalars as kernel arguments, not arrays)
    return v.astype(np.int64 if v.dtype.kind == "f" else v.dtype).astype(dt.np)[()]


@_factory_out
@backend.allocating
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, layout=None, pin_memory=False):
    """Integers uniform on [low, high) (``randint(high, size)`` also works)."""
    check_storage("randint", layout, pin_memory)
    if size is None:
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    dev = _device(device)
    dt = _dt.int64 if dtype is None else _dt.to_dtype(dtype)
    arr = generator_for(dev, generator).rng.integers(low, high, size=_size((size,), "randint"))
    return _finish(arr.astype(dt.np), dev, requires_grad)


@_factory_out
@backend.allocating
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):
    check_storage("randperm", layout, pin_memory)
    dev = _device(device)
    dt = _dt.int64 if dtype is None else _dt.to_dtype(dtype)
    perm = backend.permutation(dev.xp, generator_for(dev, generator).rng, n)
    return _finish(perm.astype(dt.np), dev, requires_grad)


@_factory_out
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False, layout=None, pin_memory=False):
    """Normal samples with ``mean``/``std`` given as floats (with ``size``) or tensors."""
    check_storage("normal", layout, pin_memory)
    if isinstance(mean, TensorBase) or isinstance(std, TensorBase):
        like = mean if isinstance(mean, TensorBase) else std
        shape = np.broadcast_shapes(np.shape(getattr(mean, "_data", mean)),
                                    np.shape(getattr(std, "_data", std)))
        noise = randn(*shape, generator=generator, dtype=like.dtype, device=like.device)
        return noise * std + mean
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    t = randn(*_size((size,)), generator=generator, dtype=dtype, device=device)
    t._data *= std
    t._data += mean
    if requires_grad:
        t.requires_grad_(True)
    return t


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,
               memory_format=None, layout=None, pin_memory=False):
    dt, dev, lay = _like("randn_like", input, dtype, device, layout, pin_memory, memory_format)
    t = randn(*input._data.shape, generator=generator, dtype=dt, device=dev)
    return _finish(lay(t._data), dev, requires_grad)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,
              memory_format=None, layout=None, pin_memory=False):
    dt, dev, lay = _like("rand_like", input, dtype, device, layout, pin_memory, memory_format)
    t = rand(*input._data.shape, generator=generator, dtype=dt, device=dev)
    return _finish(lay(t._data), dev, requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, memory_format=None, layout=None, pin_memory=False):
    dt, dev, lay = _like("randint_like", input, dtype, device, layout, pin_memory, memory_format)
    t = randint(low, high, input._data.shape, generator=generator, dtype=dt, device=dev)
    return _finish(lay(t._data), dev, requires_grad)


def _check_positive(op, name, value) -> None:
    if not value > 0:
        raise RuntimeError(f"{op} expects {name} > 0.0, but found {name}={value:g}")


@out_variant(dtype="any", resize_warning=None)
def bernoulli(input, p=None, *, generator=None):
    """0/1 draws (in ``input``'s dtype) with probabilities ``input``, or the number ``p``."""
    t = empty(*input._data.shape, dtype=input.dtype, device=input.device)
    return t.bernoulli_(input if p is None else p, generator=generator)


@out_variant(dtype="exact", resize_warning=None)
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categories of each row of ``input`` (unnormalised weights).

    Without replacement the draw is the Gumbel top-k trick: the indices of the ``num_samples``
    largest ``log(w) + Gumbel noise`` are a sample of successive draws without replacement.
    """
    w = input._data
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if w.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_dt.legacy_name(w.dtype)}")
    xp = input.xp
    rows = w.reshape(1, -1) if w.ndim == 1 else w
    n = rows.shape[1]
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if rows.size and not bool(xp.isfinite(rows).all() & (rows >= 0).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if rows.size == 0 or bool((rows.sum(axis=1) <= 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = generator_for(input.device, generator).rng
    rows = rows.astype(xp.float64)
    if replacement:
        # Inverse CDF for every row at once: row r's CDF is shifted by r into [r, r + 1].
        cdf = xp.cumsum(rows, axis=1) / rows.sum(axis=1, keepdims=True)
        offsets = xp.arange(rows.shape[0], dtype=xp.float64)[:, None]
        u = rng.random((rows.shape[0], num_samples)) + offsets
        flat = xp.searchsorted((cdf + offsets).ravel(), u.ravel(), side="right")
        idx = xp.minimum(flat.reshape(u.shape) - (offsets * n).astype(xp.int64), n - 1)
    else:
        with np.errstate(divide="ignore"):
            keys = xp.log(rows) - xp.log(-xp.log(rng.random(rows.shape)))
        idx = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(xp.int64)
    return make(idx.reshape(-1) if w.ndim == 1 else idx, input.device)


# ------------------------------------------------------------------ in-place fills and draws
class Fill(Function):
    """``x`` replaced by ``value`` everywhere: no gradient reaches ``x``; a tensor ``value``
    gets the sum of the gradient."""

    @staticmethod
    def forward(ctx, x, value):
        v = value._data if isinstance(value, TensorBase) else value
        return make(x.xp.full(x._data.shape, v, x._data.dtype), x.device)

    @staticmethod
    def backward(ctx, g):
        return None, g.sum() if ctx.needs_input_grad[1] else None


def _fill_fast(t, value):
    check_inplace_result(t, t._data.dtype, t._data.shape)  # e.g. an expanded (read-only) view
    t._data[...] = value._data if isinstance(value, TensorBase) else value


def _draw_(self, draw, generator=None):
    """Overwrite ``self`` with ``draw(rng, shape)``: no history, as PyTorch's random fills."""
    _check_inplace_allowed(self)
    check_inplace_result(self, self._data.dtype, self._data.shape)
    rng = generator_for(self.device, generator).rng
    self._data[...] = draw(rng, self._data.shape)
    self._bump_version()
    return self


class CreationMethods:
    """``Tensor`` methods that fill a tensor or make a new one like it."""

    __slots__ = ()

    def fill_(self, value):
        if isinstance(value, TensorBase) and value._data.ndim:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        return apply_inplace(self, Fill.apply, checked_fill_value(value, self.dtype), fast=_fill_fast)

    def zero_(self):
        return apply_inplace(self, Fill.apply, 0, fast=_fill_fast)  # fill_(0), one call less

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        _rng_dtype(self.dtype, "normal_kernel_cpu")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        return _draw_(self, lambda rng, s: rng.standard_normal(s) * std + mean, generator)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        _rng_dtype(self.dtype, "check_uniform_bounds")
        if a > b:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={a} > to={b}")
        return _draw_(self, lambda rng, s: rng.random(s) * (b - a) + a, generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        _check_positive("exponential_", "lambda", lambd)
        return _draw_(self, lambda rng, s: rng.exponential(1.0 / lambd, s), generator)

    def geometric_(self, p, *, generator=None):
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
        return _draw_(self, lambda rng, s: rng.geometric(p, s), generator)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        _rng_dtype(self.dtype, "log_normal_cpu")
        _check_positive("log_normal_", "std", std)
        return _draw_(self, lambda rng, s: self.xp.exp(rng.standard_normal(s) * std + mean),
                      generator)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        _rng_dtype(self.dtype, "cauchy_cpu")
        _check_positive("cauchy_", "sigma", sigma)
        # (the inverse CDF: CuPy's generator has no standard_cauchy)
        return _draw_(self, lambda rng, s: median + sigma * self.xp.tan(
            self.xp.pi * (rng.random(s) - 0.5)), generator)

    def bernoulli(self, p=None, *, generator=None):
        """0/1 draws with probability ``p`` (default: this tensor's values), in this dtype."""
        return bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        if isinstance(p, TensorBase):
            pa = p._data
            if pa.size and not (pa.min() >= 0 and pa.max() <= 1):  # (also refuses nan)
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        else:
            pa = p
            if not 0 <= p <= 1:
                raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p:g}")
        return _draw_(self, lambda rng, s: rng.random(s) < pa, generator)

    def random_(self, from_=0, to=None, *, generator=None):
        hi = to if to is not None else (2 ** 24 if self._data.dtype.kind == "f" else
                                        np.iinfo(self._data.dtype).max)
        return _draw_(self, lambda rng, s: rng.integers(from_, hi, s), generator)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None,
                   pin_memory=False):
        check_storage("new_tensor", layout)
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad, pin_memory=pin_memory)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device,
                     requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
                 pin_memory=False):
        return ones(*size, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
        return empty(*size, dtype=dtype or self.dtype, device=device or self.device,
                     requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False,
                 layout=None, pin_memory=False):
        return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)


# ------------------------------------------------------------------ legacy typed constructors
class _LegacyTensorType(type):
    """``isinstance(t, FloatTensor)`` is "a CPU tensor of that dtype", as in PyTorch."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, TensorBase) and obj._data.dtype == cls.dtype.np and \
            obj._device.type == "cpu"


def _legacy(name: str, dt):
    def new(cls, *args, device=None):
        """``T(data)`` copies data, ``T(2, 3)`` is uninitialised, ``T()`` is empty."""
        if len(args) == 1 and not isinstance(args[0], int):
            return tensor(args[0], dtype=dt, device=device)
        return empty(*args, dtype=dt, device=device) if args else empty(0, dtype=dt,
                                                                        device=device)
    return _LegacyTensorType(name, (), {"__new__": new, "dtype": dt, "__doc__":
                                        f"The legacy constructor of {dt.name} CPU tensors."})


FloatTensor = _legacy("FloatTensor", _dt.float32)
DoubleTensor = _legacy("DoubleTensor", _dt.float64)
HalfTensor = _legacy("HalfTensor", _dt.float16)
LongTensor = _legacy("LongTensor", _dt.int64)
IntTensor = _legacy("IntTensor", _dt.int32)
ShortTensor = _legacy("ShortTensor", _dt.int16)
CharTensor = _legacy("CharTensor", _dt.int8)
ByteTensor = _legacy("ByteTensor", _dt.uint8)
BoolTensor = _legacy("BoolTensor", _dt.bool_)
__all__ += ["BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor",
            "IntTensor", "LongTensor", "ShortTensor"]
