"""Indexing: ``x[...]`` get and set (ints, slices, steps, None, ..., integer tensors/lists,
boolean masks and mixes), masked_fill, gather, scatter/scatter_add, index_select.

Everything is built on four Functions:

- ``Slice``: basic indexing (ints, slices, None) as a view of the input;
- ``Index``: advanced indexing (integer arrays and boolean masks), a copy;
- ``IndexPutZeros``: zeros with a gradient put (or accumulated) at a key, the backward of both;
- ``IndexPut``: the input with the region at a key replaced by (or increased by) a value.

``x[key]`` follows PyTorch: ints, slices and None are applied first as a view, then the integer
and mask indices on that view with NumPy's placement rules (which differ from NumPy's own result
when an int sits between advanced indices: ``x[0, :, [0, 1]]``). gather, scatter, index_select,
index_add, take, masked_fill... are these Functions with keys built from their arguments.
"""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from .._out import out_variant
from .._tensor_base import TensorBase, make
from ..autograd.function import Function, apply_inplace, check_inplace_result
from ..backend import check_range, is_array, to_device
from ..backend import scatter_add as _scatter_add
from ..creation import checked_fill_value
from ..dtypes import legacy_name
from ._autocast import autocast_op
from ._util import check_same_device, wrap_dim

__all__ = [
    "argwhere", "gather", "index_add", "index_copy", "index_fill", "index_put", "index_put_",
    "index_select", "masked_fill", "masked_scatter", "masked_select", "nonzero", "scatter",
    "scatter_add", "take", "take_along_dim",
]

_FULL = slice(None)


# ---------------------------------------------------------------------------- the Functions
class Slice(Function):
    """A view by basic indexing; ``key`` holds ints, normalised slices and None and ends with
    ``...`` (so NumPy returns a 0-d view, not a scalar copy, when every dim gets an int)."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key = x._data.shape, key
        return x._view(x._data[key], lambda b: Slice.apply(b, key))

    @staticmethod
    def backward(ctx, g):
        return IndexPutZeros.apply(g, ctx.shape, ctx.key, False), None


class Index(Function):
    """Advanced indexing: ``key`` holds ``slice(None)`` and integer / boolean arrays."""

    @staticmethod
    def forward(ctx, x, key):
        k = key[0] if len(key) == 1 else None
        if k is not None and is_array(k) and k.dtype.kind == "i":
            # One integer array on dim 0 (x[idx], index_select, take): take is the same gather
            # without fancy indexing's key parsing, about 3x faster on small inputs.
            out = x._data.take(k, axis=0)
            if ctx.needs_input_grad[0]:
                ctx.shape, ctx.key = x._data.shape, (k.copy(),)  # _own(key), known to be this
            return make(out, x._device)
        if ctx.needs_input_grad[0]:
            ctx.shape, ctx.key = x._data.shape, _own(key)
        return make(x._data[key], x._device)

    @staticmethod
    def backward(ctx, g):
        return IndexPutZeros.apply(g, ctx.shape, ctx.key, _has_int_array(ctx.key)), None


class Gather(Index):
    pass


class IndexSelect(Index):
    pass


class Take(Index):
    pass


class IndexPutZeros(Function):
    """Zeros of ``shape`` with ``g`` put at ``key`` (summed where an index repeats): the gradient
    of indexing, built from zeros rather than from a copy of anything."""

    @staticmethod
    def forward(ctx, g, shape, key, accumulate):
        ctx.key = key
        out = g.xp.zeros(shape, g._data.dtype)
        _put(g.xp, out, key, g._data, accumulate)
        return make(out, g._device)

    @staticmethod
    def backward(ctx, gg):
        return _index(gg, ctx.key), None, None, None


class IndexPut(Function):
    """``x`` with the region at ``key`` set to ``value`` (or increased by it when
    ``accumulate``); ``key=None`` means all of ``x``. ``value`` is a tensor or a Python scalar."""

    @staticmethod
    def forward(ctx, x, value, key, accumulate):
        v = value._data if isinstance(value, TensorBase) else value
        if key is None and not accumulate:
            out = x.xp.empty(x._data.shape, x._data.dtype)  # every element gets overwritten
        else:
            out = x._data.copy()
        if any(ctx.needs_input_grad):
            ctx.key = None if key is None else _own(key)
            ctx.accumulate = accumulate
            ctx.value_ndim = v.ndim if isinstance(value, TensorBase) else 0
        _put(x.xp, out, key, v, accumulate)
        return make(out, x._device)

    @staticmethod
    def backward(ctx, g):
        key = ctx.key
        gx = gv = None
        if ctx.needs_input_grad[0]:
            if ctx.accumulate:
                gx = g
            elif key is not None:  # with no key, x was overwritten everywhere: no gradient
                gx = IndexPut.apply(g, 0, key, False)
        if ctx.needs_input_grad[1]:
            gv = g if key is None else Index.apply(g, key)
            extra = ctx.value_ndim - gv._data.ndim
            if extra > 0:  # NumPy and PyTorch drop a value's leading 1-dims to fit the region
                gv = gv.reshape((1,) * extra + gv._data.shape)
        return gx, gv, None, None


class Scatter(IndexPut):
    pass


class ScatterAdd(IndexPut):
    pass


class IndexAdd(IndexPut):
    pass


class MaskedFill(IndexPut):
    pass


class MaskedScatter(IndexPut):
    pass


class IndexCopy(IndexPut):
    pass


class IndexFill(IndexPut):
    pass


def _put(xp, out, key, v, accumulate) -> None:
    """Write ``v`` into the array ``out`` at ``key`` (all of it when None), or add it there
    (repeated indices add up). Raises PyTorch's shape errors before writing anything."""
    if not is_array(v) or v.dtype != out.dtype:
        v = xp.asarray(v).astype(out.dtype)
    try:
        if key is None:
            if accumulate:
                out += v
            else:
                out[...] = v
        elif accumulate:
            _scatter_add(xp, *_as_elements(xp, out, key, v))
        else:
            out[key] = v
    except ValueError:
        if not getattr(out.flags, "writeable", True):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location. Please clone() the tensor before performing the "
                "operation.") from None
        if key is None:
            raise RuntimeError(_expand_message(v.shape, out.shape)) from None
        region = out[key].shape
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be "
                           f"broadcast to indexing result of shape {list(region)}") from None


# Flat indices cost 8 bytes per value: above this many values, rows are scattered as rows.
_FLAT_MAX = 1 << 16


def _as_elements(xp, out, key, v):
    """``(out, key, v)`` for ``out[key] += v``, or, when ``key`` is one integer array picking
    whole rows of a C-contiguous ``out`` (the gradient of ``x[idx]``), the same additions in the
    same order on flat views: NumPy's add.at is ~3x faster over elements than over rows."""
    k = key[0] if len(key) == 1 else None
    if (k is None or out.ndim < 2 or not is_array(k) or k.dtype.kind != "i"
            or v.size > _FLAT_MAX or v.shape != k.shape + out.shape[1:]
            or not out.flags.c_contiguous):
        return out, key, v
    m = math.prod(out.shape[1:])
    flat = (k.astype(xp.int64).reshape(-1, 1) * m + xp.arange(m)).reshape(-1)
    return out.reshape(-1), flat, v.reshape(-1)


def _expand_message(src, dst) -> str:
    """PyTorch's error for copying a value of shape ``src`` into a region of shape ``dst``."""
    src = tuple(src)
    while len(src) > len(dst) and src[0] == 1:
        src = src[1:]
    lead = len(dst) - len(src)
    for i, s in enumerate(src):
        if lead + i < 0 or (s != 1 and s != dst[lead + i]):
            d = max(lead + i, 0)
            size = dst[d] if dst else 1
            return (f"The expanded size of the tensor ({size}) must match the existing size ({s}) "
                    f"at non-singleton dimension {d}.  Target sizes: {list(dst)}.  Tensor sizes: "
                    f"{list(src)}")
    return f"cannot copy a value of shape {list(src)} into a region of shape {list(dst)}"


def _index(t, key):
    """``t`` at a key that has already been split: advanced if it holds arrays, else basic."""
    if any(is_array(k) for k in key):
        return Index.apply(t, key)
    return Slice.apply(t, key)


def _has_int_array(key) -> bool:
    for k in key:
        if is_array(k) and k.dtype.kind != "b":
            return True
    return False


def _own(key):
    """The key with private copies of its arrays.

    NOTE: a graph keeps the key for backward; the user may change an index tensor in place.
    """
    return tuple([k.copy() if is_array(k) else k for k in key])


# ---------------------------------------------------------------------------- parsing x[key]
def _sequence_as_tuple(key) -> bool:
    """PyTorch (like old NumPy) reads ``x[[0, slice(None)]]`` as ``x[0, :]``: a list holding a
    slice, None, ..., a tensor or a sequence is a tuple of indices."""
    if not isinstance(key, list) or len(key) >= 32:
        return False
    return any(k is None or k is Ellipsis or isinstance(k, (slice, TensorBase, list, tuple))
               for k in key)


def _type_name(obj) -> str:
    cls = type(obj)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


def _index_array(x, arr):
    """A list or ndarray used as an index: ``(kind, value)`` as :func:`_item` returns."""
    arr = np.asarray(arr)
    kind = arr.dtype.kind
    if arr.size == 0 and kind in "fV":
        kind, arr = "i", arr.astype(np.int64)  # x[[]] selects nothing
    if kind not in "biu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if kind == "b":
        return _MASK, x.xp.asarray(arr)
    if arr.ndim == 0:
        return _INT, int(arr)
    return _ARRAY, x.xp.asarray(arr.astype(np.int64, copy=False))


# The kinds of key entries.
_INT, _SLICE, _NONE, _ELLIPSIS, _ARRAY, _MASK = range(6)


def _item(x, k):
    """One entry of a key as ``(kind, value)``: an int, a slice, None, ..., an integer array
    or a boolean mask (arrays on ``x``'s device)."""
    if isinstance(k, (bool, np.bool_)):
        return _MASK, x.xp.asarray(bool(k))  # 0-d: adds a dim of size 1 (True) or 0 (False)
    if isinstance(k, TensorBase):
        a = k._data
        if a.dtype == np.uint8:
            warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                          "torch.bool instead.", UserWarning, stacklevel=4)
            a = a.astype(bool)
        elif a.dtype.kind != "b" and a.dtype not in (np.int32, np.int64):
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if a.dtype.kind != "b" and a.ndim == 0:
            return _INT, int(a)  # PyTorch selects with a 0-d integer tensor, like with an int
        if k._device != x._device:
            if k._device.type != "cpu":
                raise RuntimeError("indices should be either on cpu or on the same device as the "
                                   f"indexed tensor ({x._device})")
            a = to_device(a, k._device, x._device)
        return (_MASK if a.dtype.kind == "b" else _ARRAY), a
    if isinstance(k, (list, tuple, np.ndarray)):
        return _index_array(x, k)
    try:
        return _INT, operator.index(k)
    except TypeError:
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                         f"Variables are valid indices (got {_type_name(k)})") from None


def _parse(x, key):
    """Split ``key`` as PyTorch does into ``(basic, adv)``.

    ``basic`` is a key of ints, normalised slices and None for :class:`Slice` (None when it
    would change nothing and ``adv`` is given); ``adv`` is None or a key of ``slice(None)`` and
    arrays for :class:`Index` on the result of ``basic``. Raises PyTorch's IndexErrors.
    """
    shape = x._data.shape
    if type(key) is int and shape:  # the common x[i]
        n = shape[0]
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {n}")
        return (key, Ellipsis), None
    if type(key) is slice and shape:  # the common x[a:b]
        return (_normalise_slice(key, shape[0])[0], Ellipsis), None
    if type(key) is tuple and len(key) <= len(shape):
        # A tuple of in-range ints and step-less slices (x[:, a:b], x[i, j]) is all basic; any
        # other entry, or an int out of range, takes the general path below (and its errors).
        for k in key:
            if type(k) is not int and (type(k) is not slice or k.step is not None):
                break
        else:
            basic = []
            for k, n in zip(key, shape):
                if type(k) is slice:
                    basic.append(_normalise_slice(k, n)[0])
                elif -n <= k < n:
                    basic.append(k)
                else:
                    break
            else:
                return tuple(basic) + (Ellipsis,), None
    if not isinstance(key, tuple):
        key = tuple(key) if _sequence_as_tuple(key) else (key,)
    items = []
    consumed = n_ellipsis = 0
    for k in key:
        t = type(k)
        if t is int:
            items.append((_INT, k))
        elif t is slice:
            items.append((_SLICE, k))
        elif k is None:
            items.append((_NONE, None))
            continue
        elif k is Ellipsis:
            items.append((_ELLIPSIS, None))
            n_ellipsis += 1
            continue
        else:
            items.append(_item(x, k))
        kind, v = items[-1]
        consumed += v.ndim if kind == _MASK else 1
    ndim = len(shape)
    if n_ellipsis > 1:
        # PyTorch lets every ellipsis stand for the remaining dims: after the first, a further
        # one matches nothing, which is only well defined when no index that consumes a dim
        # follows it.
        kinds = [kind for kind, _ in items]
        after = kinds[kinds.index(_ELLIPSIS, kinds.index(_ELLIPSIS) + 1):]
        if any(kind not in (_ELLIPSIS, _NONE) for kind in after):
            raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        if ndim == 0 and any(type(k) is int for k in key):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    basic, adv, view_shape, masks = [], [], [], []
    out_of_range, indexed_dims = [], []  # (bounds are checked once the result's size is known)
    trivial = True  # basic changes nothing
    has_int_array = False
    d = 0  # dim of x
    n_tensor = 0  # position among the tensor indices (PyTorch names it in bound errors)
    for kind, k in items:
        if kind == _INT:
            n = shape[d]
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size {n}")
            basic.append(k)
            trivial = False
            d += 1
        elif kind == _SLICE:
            s, length = _normalise_slice(k, shape[d])
            trivial = trivial and length == shape[d] and s.step == 1
            basic.append(s)
            adv.append(_FULL)
            view_shape.append(length)
            d += 1
        elif kind == _NONE:
            basic.append(None)
            adv.append(_FULL)
            view_shape.append(1)
            trivial = False
        elif kind == _ELLIPSIS:
            rest = ndim - consumed
            consumed = ndim  # (a further ellipsis stands for no dims)
            basic.extend([_FULL] * rest)
            adv.extend([_FULL] * rest)
            view_shape.extend(shape[d:d + rest])
            d += rest
        elif kind == _MASK:
            masks.append((k, len(view_shape)))
            indexed_dims.extend(range(len(view_shape), len(view_shape) + k.ndim))
            basic.extend([_FULL] * k.ndim)
            adv.append(k)
            view_shape.extend(shape[d:d + k.ndim])
            d += k.ndim
            n_tensor += k.ndim
        else:
            n = shape[d]
            if k.size:  # in range unless the result is empty (checked below)
                out_of_range.append((len(adv), k, n_tensor, n))
            indexed_dims.append(len(view_shape))
            basic.append(_FULL)
            adv.append(k)
            view_shape.append(n)
            has_int_array = True
            d += 1
            n_tensor += 1
    if not has_int_array and not masks:
        return tuple(basic) + (Ellipsis,), None
    view_shape.extend(shape[d:])
    for m, pos in masks:
        got = view_shape[pos:pos + m.ndim]
        for j, (a, b) in enumerate(zip(m.shape, got)):
            if a != b:
                raise IndexError(f"The shape of the mask {list(m.shape)} at index {j} does not "
                                 f"match the shape of the indexed tensor {view_shape} at index "
                                 f"{pos + j}")
    arrays = [k for k in adv if is_array(k)]
    if len(arrays) > 1:
        _check_broadcast(arrays)
    if out_of_range:
        _allow_if_empty(adv, view_shape, indexed_dims, arrays, out_of_range)
    if has_int_array and masks:
        # Repeated indices are possible, so backward accumulates with scatter_add, which wants
        # integer arrays (a mask is the same as its nonzero() coordinates).
        adv = [p for k in adv for p in (
            k.nonzero() if is_array(k) and k.dtype.kind == "b" and k.ndim else (k,))]
    while adv and adv[-1] is _FULL:
        adv.pop()
    return (None if trivial else tuple(basic) + (Ellipsis,)), tuple(adv)


def _allow_if_empty(adv, view_shape, indexed_dims, arrays, indices) -> None:
    """PyTorch checks index bounds only when the result has elements (``x[:0, [5]]`` is an empty
    tensor): the indices must be in range (``check_range``: on CUDA, checked on the device),
    unless the result is empty, in which case they are replaced by in-range ones (NumPy would
    check them)."""
    empty = 0 in np.broadcast_shapes(*_index_shapes(arrays)) or any(
        size == 0 for j, size in enumerate(view_shape) if j not in indexed_dims)
    for pos, k, n_tensor, n in indices:
        if empty and n:
            adv[pos] = adv[pos] * 0
        else:
            check_range(k, -n, n, lambda bad, d=n_tensor, n=n: IndexError(
                f"index {bad} is out of bounds for dimension {d} with size {n}"))


def _normalise_slice(k, n):
    """``k`` as ``slice(start, stop, step)`` with plain ints in range, and its length."""
    if k.step is not None:
        step = operator.index(k.step)
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step < 0:
            raise ValueError("step must be greater than zero")
    start, stop, step = k.indices(n)
    length = len(range(start, stop, step))
    return slice(start, start + length * step if length else start, step), length


def _index_shapes(arrays) -> list:
    """The shapes the index arrays broadcast as (a mask as its count of True elements)."""
    return [(int(k.sum()),) if k.dtype.kind == "b" and k.ndim else k.shape for k in arrays]


def _check_broadcast(arrays) -> None:
    shapes = _index_shapes(arrays)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                         f"shapes {', '.join(str(list(s)) for s in shapes)}") from None


def _getitem(x, key):
    if isinstance(key, TensorBase) and key._device is x._device and x._data.ndim:
        k = key._data
        # x[int32/int64 tensor], the hot case: what _parse returns for it. On the CPU, Index's
        # take raises IndexError itself when an index is out of range (CuPy's wraps instead), and
        # then _parse below raises PyTorch's error; checking bounds first would cost two passes.
        if k.ndim and k.dtype.kind == "i" and k.dtype.itemsize >= 4 and x._device.type == "cpu":
            try:
                return Index.apply(x, (k,))
            except IndexError:
                pass
    basic, adv = _parse(x, key)
    out = x if basic is None else Slice.apply(x, basic)
    return out if adv is None else Index.apply(out, adv)


def _setitem(x, key, value, accumulate=False):
    """``x[key] = value`` (``+=`` with ``accumulate``): an in-place IndexPut on the view that the
    basic part of ``key`` selects, so autograd sees a write through a view (CopySlices)."""
    if not isinstance(value, (TensorBase, bool, int, float, np.number)):
        raise TypeError(f"can't assign a {_type_name(value)} to a "
                        f"torch.{legacy_name(x._data.dtype)}Tensor")
    value = _value_on(x, checked_fill_value(value, x.dtype), "index_put_")
    basic, adv = _parse(x, key)
    if adv is not None and isinstance(value, TensorBase) and value._data.dtype != x._data.dtype:
        # PyTorch fills a single mask with a 0-d value through masked_fill_, which casts.
        single_mask = len(adv) == 1 and adv[0].dtype.kind == "b"
        if not (single_mask and value._data.ndim == 0):
            raise RuntimeError(
                "Index put requires the source and destination dtypes match, got "
                f"{legacy_name(x._data.dtype)} for the destination and "
                f"{legacy_name(value._data.dtype)} for the source.")
    target = x if basic is None else Slice.apply(x, basic)
    return apply_inplace(target, lambda t, v: IndexPut.apply(t, v, adv, accumulate), value,
                         fast=lambda t, v: _put_fast(t, adv, v, accumulate))


def _value_on(x, value, op):
    """``value`` (a tensor or a number) ready to be written into ``x``: a 0-d CPU tensor may
    fill a CUDA tensor, as in PyTorch; other device mixes are errors."""
    if isinstance(value, TensorBase) and value._device != x._device:
        check_same_device(op, x, value)
        value = value._wrap(to_device(value._data, value._device, x._device))
    return value


def _write_at(fn_cls, input, key, value, accumulate, inplace):
    """``fn_cls`` (an IndexPut) at ``key``: out of place, or into ``input`` (a 0-d ``input`` is
    written as its 1-element view, since the keys of gather/index ops address a dim 0)."""
    value = _value_on(input, value, fn_cls.__name__.lower())
    x = input if input._data.ndim else input.reshape(1)
    if not inplace:
        out = fn_cls.apply(x, value, key, accumulate)
        return out if input._data.ndim else out.reshape(())
    apply_inplace(x, lambda t, v: fn_cls.apply(t, v, key, accumulate), value,
                  fast=lambda t, v: _put_fast(t, key, v, accumulate))
    return input


def _put_fast(t, key, value, accumulate) -> None:
    """The no-grad path of the in-place puts: straight into ``t``'s storage."""
    check_inplace_result(t, t._data.dtype, t._data.shape)
    _put(t.xp, t._data, key, value._data if isinstance(value, TensorBase) else value, accumulate)


@autocast_op
def index_put(input, indices, values, accumulate=False):
    """``input`` with ``values`` put at the tensors ``indices`` (added when ``accumulate``)."""
    return index_put_(input.clone(), indices, values, accumulate)


def index_put_(input, indices, values, accumulate=False):
    """In place: ``input[indices] = values`` (``+=`` when ``accumulate``, repeats add up)."""
    for i, k in enumerate(indices):
        if not isinstance(k, TensorBase):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(k).__name__}")
    if not isinstance(values, TensorBase):
        raise TypeError("index_put(): argument 'values' (position 2) must be Tensor, not "
                        f"{type(values).__name__}")
    return _setitem(input, tuple(indices), values, accumulate)


# ---------------------------------------------------------------------------- masks
_C_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
            "int32": "int", "int64": "long int", "float16": "c10::Half", "float32": "float",
            "float64": "double"}


def _broadcast_shape(a, b):
    """Broadcast two shapes, with PyTorch's error naming the first dim that differs."""
    n = max(len(a), len(b))
    out = []
    for i in range(n):
        sa = a[i - n + len(a)] if i - n + len(a) >= 0 else 1
        sb = b[i - n + len(b)] if i - n + len(b) >= 0 else 1
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b "
                               f"({sb}) at non-singleton dimension {i}")
        out.append(sa if sb == 1 else sb)
    return tuple(out)


def _mask_key(input, mask, op):
    """Broadcast ``input`` and ``mask``; the (possibly expanded) input and the mask key."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{_C_NAMES[mask._data.dtype.name]}")
    check_same_device(op, input, mask)
    shape = _broadcast_shape(input._data.shape, mask._data.shape)
    m = mask._data
    if input._device != mask._device:
        m = to_device(m, mask._device, input._device)
    if m.shape != shape:
        m = input.xp.broadcast_to(m, shape)
    x = input if input._data.shape == shape else input.expand(shape)
    return x, (m,)


def _fill_value(value, op, target):
    if isinstance(value, TensorBase) and value._data.ndim:
        raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor "
                           f"with {value._data.ndim} dimension(s).")
    return checked_fill_value(value, target.dtype)


def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or a 0-d tensor) where ``mask`` is True (broadcast)."""
    value = _fill_value(value, "masked_fill_", input)
    x, key = _mask_key(input, mask, "masked_fill_")
    return _write_at(MaskedFill, x, key, value, False, inplace=False)


def _masked_fill_(self, mask, value):
    value = _fill_value(value, "masked_fill_", self)
    _, key = _mask_key(self, mask, "masked_fill_")
    if key[0].shape != self._data.shape:
        check_inplace_result(self, self._data.dtype, key[0].shape)
    return _write_at(MaskedFill, self, key, value, False, inplace=True)


@out_variant(dtype="exact")
def masked_select(input, mask):
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor (both broadcast)."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    x, key = _mask_key(input, mask, "masked_select")
    return Index.apply(x, key)


def masked_scatter(input, mask, source):
    """``input`` with the elements where ``mask`` is True taken in order from ``source``."""
    x, key = _mask_key(input, mask, "masked_scatter_")
    return _masked_scatter(x, key, source, inplace=False)


def _masked_scatter(target, key, source, inplace):
    check_same_device("masked_scatter_", target, source)
    if source._data.dtype != target._data.dtype:
        raise RuntimeError("masked_scatter: expected self and source to have same dtypes but got"
                           f"{legacy_name(target._data.dtype)} and "
                           f"{legacy_name(source._data.dtype)}")
    count = int(key[0].sum())
    if count > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return _write_at(MaskedScatter, target, key, source.reshape(-1)[:count], False, inplace)


def _masked_scatter_(self, mask, source):
    _, key = _mask_key(self, mask, "masked_scatter_")
    if key[0].shape != self._data.shape:
        check_inplace_result(self, self._data.dtype, key[0].shape)
    return _masked_scatter(self, key, source, inplace=True)


# ---------------------------------------------------------------------------- gather / scatter
def _check_index_dtype(index, msg, allowed=(np.int32, np.int64), exc=RuntimeError):
    if index._data.dtype not in allowed:
        raise exc(msg)


def _index_on(input, index):
    """``index``'s array on ``input``'s device (a CPU index may address a CUDA tensor)."""
    a = index._data
    if index._device != input._device:
        check_same_device("index", input, index)
        a = to_device(a, index._device, input._device)
    return a


def _along_key(xp, index, dim):
    """The advanced key that reads ``x[i, j, index[i, j], ...]`` (``index`` at ``dim``) for each
    position of ``index``: gather's and scatter's addressing."""
    n = index.ndim
    return tuple(
        index if d == dim else xp.arange(s).reshape([s if i == d else 1 for i in range(n)])
        for d, s in enumerate(index.shape)
    )


def _check_in_range(arr, size, dim, exc=RuntimeError, prefix=""):
    check_range(arr, 0, size, lambda bad: exc(
        f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}"))


def _gather_args(op, input, dim, index, src=None):
    """Validate gather/scatter arguments; returns the dim and the index array (1-d for a 0-d
    index)."""
    dim = wrap_dim(dim, input._data.ndim)
    _check_index_dtype(index, f"{op}(): Expected dtype int32/int64 for index")
    x_shape, i_shape = input._data.shape, index._data.shape
    if len(i_shape) != len(x_shape) and not (len(x_shape) <= 1 and len(i_shape) <= 1):
        what = "input" if op == "gather" else "self"
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {what} "
                           "tensor")
    if src is not None and src._data.ndim != index._data.ndim and not (
            src._data.ndim <= 1 and index._data.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    x1 = x_shape or (1,)  # a 0-d tensor is read as one element along dim 0
    i1 = i_shape or (1,)
    s1 = None if src is None else (src._data.shape or (1,))
    bigger = any(i1[d] > x1[d] for d in range(len(i1)) if d != dim)
    if src is not None:
        if bigger or any(i1[d] > s1[d] for d in range(len(i1))):
            raise RuntimeError(f"Expected index {list(i_shape)} to be no larger than self "
                               f"{list(x_shape)} apart from dimension {dim} and to be no larger "
                               f"size than src {list(src._data.shape)}")
    elif bigger:
        d = next(d for d in range(len(i1)) if d != dim and i1[d] > x1[d])
        what = "Size does not match at dimension " + str(d) + " expected index" \
            if op == "gather" else "Expected index"
        raise RuntimeError(f"{what} {list(i_shape)} to be no larger than self {list(x_shape)} "
                           f"apart from dimension {dim}")
    idx = _index_on(input, index).reshape(i1)
    _check_in_range(idx, x1[dim], dim)
    return dim, idx


@out_variant(dtype="exact")
def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (for ``dim=1``)."""
    check_same_device("gather", input, index)
    dim, idx = _gather_args("gather", input, dim, index)
    x = input if input._data.ndim else input.reshape(1)
    res = Gather.apply(x, _along_key(input.xp, idx, dim))
    if res._data.shape != index._data.shape:
        res = res.reshape(index._data.shape)
    return res


def _scatter_prepare(op, input, dim, index, src):
    dim, idx = _gather_args("scatter", input, dim, index,
                            src if isinstance(src, TensorBase) else None)
    if isinstance(src, TensorBase):
        check_same_device(op, input, index, src)
        if src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        if src._data.shape != idx.shape:
            src = src.reshape(src._data.shape or (1,))[tuple(slice(0, s) for s in idx.shape)]
    key = _along_key(input.xp, idx, dim)
    return key, src


def _scatter_src(src, value, op):
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{op}() missing required argument 'src' or 'value'")
    if not isinstance(src, (TensorBase, bool, int, float)):
        raise TypeError(f"{op}(): argument 'src' must be Tensor or a number, not "
                        f"{type(src).__name__}")
    return src


def _scatter_reduced(input, dim, index, src, reduce, inplace):
    """``scatter(..., reduce="add" | "multiply")``: PyTorch's older spelling of
    ``scatter_reduce(..., "sum" | "prod")`` with ``input`` included (differentiable here, where
    PyTorch raises in backward)."""
    mode = {"add": "sum", "multiply": "prod"}.get(reduce)
    if mode is None:
        raise RuntimeError("reduce argument must be either add or multiply.")
    if isinstance(src, TensorBase):
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and will "
                      "be removed in a future PyTorch release. Use torch.scatter_reduce instead "
                      "for more reduction options.", UserWarning, stacklevel=3)
    else:  # a number, scattered to every index position
        src = input.new_full(index._data.shape, src)
    return (input.scatter_reduce_ if inplace else input.scatter_reduce)(dim, index, src, mode)


@out_variant(dtype="exact")
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``input`` with ``out[i][index[i][j]] = src[i][j]`` along ``dim`` (``src`` a tensor or a
    number); where indices repeat, one of the values wins. ``reduce="add"``/``"multiply"``
    combines them with ``input``'s values instead."""
    src = _scatter_src(src, value, "scatter")
    if reduce is not None:
        return _scatter_reduced(input, dim, index, src, reduce, inplace=False)
    key, src = _scatter_prepare("scatter", input, dim, index, src)
    return _write_at(Scatter, input, key, src, False, inplace=False)


def _scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    src = _scatter_src(src, value, "scatter_")
    if reduce is not None:
        return _scatter_reduced(self, dim, index, src, reduce, inplace=True)
    key, src = _scatter_prepare("scatter_", self, dim, index, src)
    return _write_at(Scatter, self, key, src, False, inplace=True)


def _scatter_add_args(src):
    if not isinstance(src, TensorBase):
        raise TypeError("scatter_add(): argument 'src' (position 3) must be Tensor, not "
                        f"{type(src).__name__}")


@out_variant(dtype="exact")
@autocast_op
def scatter_add(input, dim, index, src):
    """``input`` with ``out[i][index[i][j]] += src[i][j]`` along ``dim`` (repeats add up)."""
    _scatter_add_args(src)
    key, src = _scatter_prepare("scatter_add", input, dim, index, src)
    return _write_at(ScatterAdd, input, key, src, True, inplace=False)


def _scatter_add_(self, dim, index, src):
    _scatter_add_args(src)
    key, src = _scatter_prepare("scatter_add_", self, dim, index, src)
    return _write_at(ScatterAdd, self, key, src, True, inplace=True)


@out_variant(dtype="exact")
def take_along_dim(input, indices, dim=None):
    """``input`` read at ``indices`` along ``dim`` (broadcasting the other dims); with no
    ``dim``, both are flattened first."""
    _check_index_dtype(indices, "torch.take_along_dim(): dtype of indices should be Long but got "
                       f"{legacy_name(indices._data.dtype)}", allowed=(np.int64,))
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input._data.ndim != indices._data.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {input._data.ndim} dimensions for input, and "
            f"{indices._data.ndim} dimensions for indices")
    dim = wrap_dim(dim, input._data.ndim)
    xs, js = list(input._data.shape), list(indices._data.shape)
    xs[dim] = js[dim] = 1
    shape = list(_broadcast_shape(xs, js))
    xs, js = list(shape), list(shape)
    xs[dim], js[dim] = input._data.shape[dim], indices._data.shape[dim]
    x = input if list(input._data.shape) == xs else input.expand(xs)
    idx = indices if list(indices._data.shape) == js else indices.expand(js)
    return gather(x, dim, idx)


# ---------------------------------------------------------------------------- index_* ops
def _vector_index(op, input, dim, index, exc_vec, msg_vec, dtypes, msg_dtype, exc_dtype):
    """Validate a 0-d/1-d index along ``dim``; returns (dim, 1-d index array)."""
    if index._data.ndim > 1:
        raise exc_vec(msg_vec)
    _check_index_dtype(index, msg_dtype, dtypes, exc_dtype)
    check_same_device(op, input, index)
    dim = wrap_dim(dim, input._data.ndim)
    return dim, _index_on(input, index).reshape(-1)


def _dim_key(dim, idx):
    return (_FULL,) * dim + (idx,)


@out_variant(dtype="exact")
def index_select(input, dim, index):
    """The entries of ``input`` along ``dim`` at the positions in the 1-d ``index``."""
    dim, idx = _vector_index("index_select", input, dim, index, IndexError,
                             "index_select(): Index is supposed to be a vector",
                             (np.int32, np.int64),
                             "index_select(): Expected dtype int32 or int64 for index",
                             RuntimeError)
    x = input if input._data.ndim else input.reshape(1)
    n = x._data.shape[dim]
    if n == 0 and idx.size and x._data.ndim > 1:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    check_range(idx, 0, n, lambda bad: IndexError("index out of range in self"))
    res = IndexSelect.apply(x, _dim_key(dim, idx))
    if not input._data.ndim:
        res = res.reshape(())
    return res


def _index_source_args(op, input, dim, index, source, sig):
    """Shared checks of index_add / index_copy; returns (dim, index array, source)."""
    shape_msg = (f"{op}(): Index is supposed to be a vector, but got dim: {index._data.ndim} "
                 f"with type: {legacy_name(index._data.dtype)} and size: "
                 f"{list(index._data.shape)}")
    if op == "index_copy_":
        dim, idx = _vector_index(op, input, dim, index, IndexError, shape_msg, (np.int64,),
                                 f"{op}(): Expected a long tensor for index, but got "
                                 f"{legacy_name(index._data.dtype)}", RuntimeError)
    else:
        dim, idx = _vector_index(op, input, dim, index, IndexError, shape_msg,
                                 (np.int32, np.int64), f"{op}(): Expected dtype int32/int64 for "
                                 "index", RuntimeError)
    check_same_device(op, input, source)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(sig(legacy_name(input._data.dtype), legacy_name(source._data.dtype)))
    s_shape = source._data.shape
    s_dim = s_shape[dim] if s_shape else 1
    if idx.size != s_dim:
        if op == "index_copy_":
            raise IndexError(f"{op}(): Number of indices ({idx.size}) should be equal to "
                             f"source.size(dim) ({s_dim})")
        raise RuntimeError(f"{op}(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({s_dim}), for dim: {dim}")
    x_shape = input._data.shape
    if len(s_shape) != len(x_shape) or any(
            a != b for d, (a, b) in enumerate(zip(s_shape, x_shape)) if d != dim):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(x_shape)} "
                           f"source.shape = {list(s_shape)}")
    if op == "index_reduce_":  # (PyTorch's index_reduce words it as index_select does)
        check_range(idx, 0, x_shape[dim] if x_shape else 1,
                    lambda bad: IndexError("index out of range in self"))
    else:
        _check_in_range(idx, x_shape[dim] if x_shape else 1, dim,
                        IndexError if op == "index_copy_" else RuntimeError,
                        f"{op}(): " if op == "index_copy_" else "")
    if not x_shape:  # a 0-d input is written as its 1-element view
        source = source.reshape(1)
    return dim, idx, source


def _index_add_args(input, dim, index, source, alpha):
    dim, idx, source = _index_source_args(
        "index_add_", input, dim, index, source,
        lambda a, b: f"index_add_(): self ({a}) and source ({b}) must have the same scalar type")
    return dim, idx, source if alpha == 1 else source * alpha


@out_variant(dtype="exact")
def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added along ``dim`` at the positions ``index``."""
    dim, idx, source = _index_add_args(input, dim, index, source, alpha)
    return _write_at(IndexAdd, input, _dim_key(dim, idx), source, True, inplace=False)


def _index_add_(self, dim, index, source, *, alpha=1):
    dim, idx, source = _index_add_args(self, dim, index, source, alpha)
    return _write_at(IndexAdd, self, _dim_key(dim, idx), source, True, inplace=True)


def _index_copy_args(input, dim, index, source):
    return _index_source_args(
        "index_copy_", input, dim, index, source,
        lambda a, b: "index_copy_(): self and source expected to have the same dtype, but got "
                     f"(self) {a} and (source) {b}")


@out_variant(dtype="exact")
@autocast_op
def index_copy(input, dim, index, source):
    """``input`` with the slices along ``dim`` at ``index`` replaced by those of ``source``."""
    dim, idx, source = _index_copy_args(input, dim, index, source)
    return _write_at(IndexCopy, input, _dim_key(dim, idx), source, False, inplace=False)


def _index_copy_(self, dim, index, source):
    dim, idx, source = _index_copy_args(self, dim, index, source)
    return _write_at(IndexCopy, self, _dim_key(dim, idx), source, False, inplace=True)


def _index_fill_args(input, dim, index, value):
    value = _fill_value(value, "index_fill_", input)
    dim, idx = _vector_index("index_fill_", input, dim, index, RuntimeError,
                             "Index has to be a vector/scalar", (np.int64,),
                             "index_fill_(): Expected dtype int64 for index.", IndexError)
    n = input._data.shape[dim] if input._data.ndim else 1
    check_range(idx, -n, n, lambda bad: IndexError(
        f"index {bad} is out of bounds for dimension {dim} with size {n}"))
    return dim, idx, value


def index_fill(input, dim, index, value):
    """``input`` with ``value`` (a number or 0-d tensor) at the positions ``index`` along
    ``dim``."""
    dim, idx, value = _index_fill_args(input, dim, index, value)
    return _write_at(IndexFill, input, _dim_key(dim, idx), value, False, inplace=False)


def _index_fill_(self, dim, index, value):
    dim, idx, value = _index_fill_args(self, dim, index, value)
    return _write_at(IndexFill, self, _dim_key(dim, idx), value, False, inplace=True)


@out_variant(dtype="exact")
def take(input, index):
    """``input`` read as 1-d at the positions ``index`` (negative ones count from the end)."""
    _check_index_dtype(index, "take(): Expected a long tensor for index, but got "
                       f"{legacy_name(index._data.dtype)}", allowed=(np.int64,))
    check_same_device("take", input, index)
    n = input._data.size
    idx = _index_on(input, index)
    check_range(idx, -n, n, lambda bad: IndexError(
        f"out of range: tried to access index {bad} on a tensor of {n} elements."))
    return Take.apply(input.reshape(-1), (idx,))


# ---------------------------------------------------------------------------- nonzero
@out_variant(dtype="exact")
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or with ``as_tuple``
    one 1-d tensor per dim (a 0-d input counts as 1-d)."""
    xp, a = input.xp, input._data
    if as_tuple:
        return tuple(make(i.astype(np.int64, copy=False), input._device)
                     for i in xp.nonzero(a if a.ndim else a.reshape(1)))
    return make(xp.argwhere(a).astype(np.int64, copy=False), input._device)


def argwhere(input):
    """The indices of the non-zero elements as an ``(n, ndim)`` int64 tensor."""
    return nonzero(input)


# ---------------------------------------------------------------------------- Tensor methods
class IndexMethods:
    """The indexing ``Tensor`` methods."""

    __slots__ = ()
    __getitem__ = _getitem

    def __setitem__(self, key, value):
        _setitem(self, key, value)

    masked_fill = masked_fill
    masked_fill_ = _masked_fill_
    masked_select = masked_select
    masked_scatter = masked_scatter
    masked_scatter_ = _masked_scatter_
    gather = gather
    scatter = scatter
    scatter_ = _scatter_
    scatter_add = scatter_add
    scatter_add_ = _scatter_add_
    take_along_dim = take_along_dim
    index_select = index_select
    index_add = index_add
    index_add_ = _index_add_
    index_copy = index_copy
    index_copy_ = _index_copy_
    index_fill = index_fill
    index_fill_ = _index_fill_
    index_put = index_put
    index_put_ = index_put_
    take = take
    nonzero = nonzero
    argwhere = argwhere
