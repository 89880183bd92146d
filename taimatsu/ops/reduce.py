"""Reductions and scans: sum, mean, nansum, prod, max/min (with indices), amax/amin,
argmax/argmin, var/std, logsumexp, norm, all/any, count_nonzero, cumsum/cumprod,
softmax/log_softmax, sort/argsort/topk/kthvalue/median.

``dim`` is an int, a tuple, or None (all dims; an empty tuple also means all, as in PyTorch);
``keepdim`` keeps reduced dims as size 1. Backward passes are Tensor ops, so they differentiate
again; masks and one-hots that are constant almost everywhere enter them as constant tensors.
"""
from __future__ import annotations

import builtins
import warnings
from collections import namedtuple
from types import SimpleNamespace

from .._out import out_variant
from .._tensor_base import TensorBase, make
from ..autograd.function import Function, apply_inplace
from ..backend import scatter_add as _scatter_add
from ..dtypes import get_default_dtype, int64, legacy_name, to_dtype
from . import elementwise
from ._autocast import autocast_op
from ._util import wrap_dim, wrap_dims
from .index import _index_source_args, _scatter_prepare

__all__ = ["all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort", "count_nonzero",
           "cummax", "cummin", "cumprod", "cumsum", "index_reduce", "kthvalue", "log_softmax", "logcumsumexp",
           "logsumexp", "max", "mean", "median", "min", "mode", "nanmean", "nansum", "norm",
           "prod", "return_types", "scatter_reduce", "softmax", "sort", "std", "std_mean", "sum",
           "topk", "var", "var_mean"]

_INF = float("inf")
_NAN = float("nan")


# ---------------------------------------------------------------------------- return types
def _return_type(name, fields=("values", "indices")):
    """A named tuple like ``torch.return_types.<name>``: fields by name, unpacks as a tuple."""
    cls = namedtuple(name, fields)
    cls.__module__ = __name__
    cls.__qualname__ = f"return_types.{name}"  # so pickle finds it

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"taimatsu.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    return cls


return_types = SimpleNamespace(
    **{n: _return_type(n) for n in ("max", "min", "sort", "topk", "kthvalue", "median", "mode",
                                    "cummax", "cummin")},
    aminmax=_return_type("aminmax", ("min", "max")),
)


# ---------------------------------------------------------------------------- dim helpers
_ALL_DIMS = tuple(tuple(range(n)) for n in range(65))  # NumPy and CuPy allow 64 dims


def _dims(dim, ndim: int) -> tuple:
    """Reduced dims as a sorted tuple; None and an empty sequence mean every dim."""
    if dim is None:
        return _ALL_DIMS[ndim]
    if type(dim) is int and -ndim <= dim < ndim:  # the hot case, wrapped inline (not 0-d)
        return (dim % ndim,)
    if not isinstance(dim, int) and len(dim) == 0:
        return _ALL_DIMS[ndim]
    return wrap_dims(dim, ndim)


def _kept(shape, dims) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _out_shape(shape, dims, keepdim) -> tuple:
    return _kept(shape, dims) if keepdim else tuple(s for i, s in enumerate(shape)
                                                    if i not in dims)


def _numel(shape, dims) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _unreduce(g, shape, dims, keepdim):
    """A reduced tensor (or array) with its reduced dims back as size 1, ready to broadcast."""
    if keepdim or not dims or g.ndim == 0:  # a 0-d result broadcasts as it is
        return g
    return g.reshape(_kept(shape, dims))


def _expand_back(g, shape, dims, keepdim):
    """Broadcast a reduced gradient ``g`` back to the input ``shape`` (a view, no copy)."""
    return _unreduce(g, shape, dims, keepdim).expand(shape)


def _as_1d(a):
    """``a`` itself, or a 0-d array as shape (1,): NumPy has no axis 0 on 0-d arrays, PyTorch
    accepts dim 0/-1 there."""
    return a if a.ndim else a.reshape(1)


def _check_nonempty(name: str, a, dims, full: bool) -> None:
    """PyTorch's errors for reductions without an identity (max, min, ...) over nothing."""
    if a.size:
        return
    if full:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
            "the reduction dim with the 'dim' argument."
        )
    for d in dims:
        if a.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _check_float(name: str, x) -> None:
    if x._data.dtype.kind not in "fV":
        raise RuntimeError(f"{name} only support floating point and complex dtypes")


def _acc_dtype(dtype, a):
    """PyTorch accumulates integer and bool sums/products in int64 unless told otherwise."""
    if dtype is None:
        return int64.np if a.dtype.kind in "bui" else None
    return to_dtype(dtype).np


# ---------------------------------------------------------------------------- sum, mean
class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims=None, keepdim=False, dtype=None):
        # ``Sum.apply(x)`` (dims None: every dim) is the full float sum: a node with one input
        # costs less to record than one with four.
        a = x._data
        ctx.meta = (a.shape, dims, keepdim)
        # add.reduce is ndarray.sum without NumPy's Python-level wrapper (~0.7 us a call)
        return make(x.device.xp.add.reduce(a, axis=dims, dtype=dtype, keepdims=keepdim), x.device)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        if dims is None:
            return _expand_0d(g, shape)
        return _expand_back(g, shape, dims, keepdim), None, None, None


def _expand_0d(g, shape):
    """``g.expand(shape)`` for a 0-d ``g``. Outside create_graph on the CPU, the same read-only
    zero-stride view from NumPy's ndarray constructor (~1 us) rather than through expand and
    broadcast_to (~8 us, Python-level); CuPy's constructor differs, so it takes expand."""
    if g.requires_grad or g.device.type != "cpu":
        return g.expand(shape)
    a = g._data
    arr = g.xp.ndarray(shape, a.dtype, a, 0, (0,) * len(shape))
    arr.flags.writeable = False  # as broadcast_to's: one write would reach every element
    return make(arr, g.device)


@out_variant(dtype="out")
@autocast_op
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum of elements over ``dim`` (int or tuple) or all of them; integers sum as int64."""
    a = input._data
    if dim is None and dtype is None and not keepdim and a.dtype.kind == "f":
        return Sum.apply(input)
    if a.dtype.kind == "V" and dtype is None:  # bfloat16 accumulates in float32, as in PyTorch
        return sum(input.float(), dim, keepdim).to(input.dtype)
    acc = None if dtype is None and a.dtype.kind == "f" else _acc_dtype(dtype, a)
    return Sum.apply(input, _ALL_DIMS[a.ndim] if dim is None else _dims(dim, a.ndim), keepdim, acc)


class SumToSize(Function):
    """Sum a broadcast tensor back to ``shape`` (the engine uses it for broadcast gradients)."""

    @staticmethod
    def forward(ctx, x, shape):
        a = x._data
        have = ctx.shape = a.shape
        lead = a.ndim - len(shape)
        kept = ()  # size-1 dims of ``shape`` that were broadcast
        for i, s in enumerate(shape):
            if s == 1 and have[lead + i] != 1:
                kept += (lead + i,)
        if lead or kept:
            a = a.sum(axis=_ALL_DIMS[lead] + kept, keepdims=True)
            if lead:
                a = a.reshape(shape)
        return make(a, x.device)

    @staticmethod
    def backward(ctx, g):
        return g.expand(ctx.shape), None


def sum_to_size(input, *size):
    """Sum ``input`` down to ``size``, to which it must be broadcastable."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    have = input._data.shape
    if have == shape:
        return input
    lead = len(have) - len(shape)
    if lead >= 0:
        for s, h in zip(shape, have[lead:]):
            if s != 1 and s != h:
                break
        else:
            return SumToSize.apply(input, shape)
    raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(have)}}}.")


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        a = x._data
        n = _numel(a.shape, dims)
        ctx.meta = (a.shape, dims, keepdim)
        ctx.n = n
        if n == 0:  # NumPy warns about an empty mean; PyTorch quietly gives NaN
            out = x.xp.full(_out_shape(a.shape, dims, keepdim), _NAN, dtype or a.dtype)
        elif dtype is None and a.dtype.kind in "fV" and a.dtype.itemsize >= 4 and n < 1 << 24:
            # NumPy's mean is this sum and division (it divides in float64 and rounds, which
            # for a float32 sum and an n exact in float32 is the same float32 quotient), minus
            # ~8 us of Python bookkeeping.
            out = a.sum(axis=dims, keepdims=keepdim) / n
        else:
            out = a.mean(axis=dims, keepdims=keepdim, dtype=dtype)
        return make(out, x.device)

    @staticmethod
    def backward(ctx, g):
        # An empty mean's gradient is empty: skip the division by 0.
        return _expand_back(g / ctx.n if ctx.n else g, *ctx.meta), None, None, None


@out_variant
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of elements over ``dim``; integer inputs need a float ``dtype`` (as in PyTorch)."""
    kind = input._data.dtype if dtype is None else to_dtype(dtype).np
    if kind.kind not in "fV":
        which = "Input" if dtype is None else "Optional"
        raise RuntimeError(
            "mean(): could not infer output dtype. " f"{which} dtype must be either a floating "
            f"point or complex dtype. Got: {legacy_name(kind)}"
        )
    if kind.kind == "V" and dtype is None:  # bfloat16 accumulates in float32, as in PyTorch
        return mean(input.float(), dim, keepdim).to(input.dtype)
    return Mean.apply(input, _dims(dim, input._data.ndim), keepdim,
                      None if dtype is None else kind)


class Nansum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        a = x._data
        ctx.meta = (a.shape, dims, keepdim)
        ctx.save_for_backward(x)
        return make(x.xp.nansum(a, axis=dims, keepdims=keepdim, dtype=dtype), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        keep = make(~x.xp.isnan(x._data), x.device)
        return _unreduce(g, *ctx.meta) * keep, None, None, None


@out_variant(dtype="out")
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` treating NaN as zero."""
    if input._data.dtype.kind not in "fV":
        return sum(input, dim, keepdim, dtype=dtype)
    return Nansum.apply(input, _dims(dim, input._data.ndim), keepdim,
                        None if dtype is None else to_dtype(dtype).np)


@out_variant
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` of the non-NaN elements."""
    a = input._data
    if a.dtype.kind not in "fV":
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {legacy_name(a.dtype)}")
    xp = input.xp
    dims = _dims(dim, a.ndim)
    count = (~xp.isnan(a)).sum(axis=dims, keepdims=keepdim)
    total = nansum(input, dims, keepdim, dtype=dtype)
    # An all-NaN slice has count 0: divide by NaN rather than 0 (same answer, no warning).
    count = xp.where(count == 0, _NAN, count).astype(total._data.dtype)
    return total / make(count, input.device)


# ---------------------------------------------------------------------------- prod
class Prod(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        a = x._data
        out = make(a.prod(axis=dims, keepdims=keepdim, dtype=dtype), x.device)
        ctx.meta = (a.shape, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        dims = ctx.meta[1]
        g, out = _unreduce(g, *ctx.meta), _unreduce(out, *ctx.meta)
        zero = x._data == 0
        if not zero.any():  # a host sync, as in PyTorch: the common case is a cheap division
            return g * (out / x), None, None, None
        # With zeros, d out / d x_i is the product of the others: out / x_i where x_i != 0; for a
        # slice's only zero, the product p of its non-zero elements; for one of exactly two
        # zeros, p times the other zero (0, but its derivative is p); with more zeros, 0. Zeros
        # are replaced by constants in x1 so that these expressions also differentiate right.
        z, nz = make(zero, x.device), make(~zero, x.device)
        x1 = x * nz + z
        count = zero.sum(axis=dims, keepdims=True)
        p = Prod.apply(x1, dims, True, None)
        other_zero = (x * z).sum(dims, keepdim=True) - x
        others = p * (make(zero & (count == 1), x.device)
                      + make(zero & (count == 2), x.device) * other_zero)
        return g * (nz * out / x1 + others), None, None, None


@out_variant(dtype="out")
@autocast_op
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of elements over ``dim`` or all of them; integers multiply as int64."""
    return Prod.apply(input, _dims(dim, input._data.ndim), keepdim, _acc_dtype(dtype, input._data))


# ---------------------------------------------------------------------------- max, min
def _even_split(xp, a, o, dims, nan_ties):
    """Weights that share a gradient evenly among the elements of ``a`` equal to the reduced
    value ``o`` (kept dims). With ``nan_ties`` NaN equals NaN (PyTorch's max()/min()/median());
    without, a NaN result gets NaN weights (its amax/amin/inf-norm)."""
    mask = a == o
    if nan_ties and a.dtype.kind in "fV":
        mask |= xp.isnan(a) & xp.isnan(o)
    count = mask.sum(axis=dims, keepdims=True)
    # Dividing by NaN instead of 0 gives the same answer without NumPy's warning.
    return (mask / xp.where(count == 0, _NAN, count)).astype(a.dtype)


class Amax(Function):
    """Largest value over ``dims``; the gradient is shared evenly among ties."""

    @staticmethod
    def _compute(xp, a, dims, keepdim):
        return a.max(axis=dims, keepdims=keepdim)

    @staticmethod
    def forward(ctx, x, dims, keepdim, nan_ties):
        a = x._data
        out = make(type(ctx)._compute(x.xp, a, dims, keepdim), x.device)
        ctx.meta = (a.shape, dims, keepdim)
        ctx.nan_ties = nan_ties
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        dims = ctx.meta[1]
        w = _even_split(x.xp, x._data, _unreduce(out._data, *ctx.meta), dims, ctx.nan_ties)
        return _unreduce(g, *ctx.meta) * make(w, x.device), None, None, None


class Amin(Amax):
    """Smallest value over ``dims``; the gradient is shared evenly among ties."""

    @staticmethod
    def _compute(xp, a, dims, keepdim):
        return a.min(axis=dims, keepdims=keepdim)


class Median(Amax):
    """The lower median of all elements (NaN if any is NaN); ties share the gradient evenly."""

    @staticmethod
    def _compute(xp, a, dims, keepdim):
        if a.size == 0:
            return xp.full((), _NAN, a.dtype)
        s = xp.sort(a.reshape(-1))
        mid = s[(s.size - 1) // 2]
        if a.dtype.kind in "fV":  # NaN sorts last; any NaN makes the median NaN
            mid = xp.where(s[-1] != s[-1], s[-1], mid)
        return mid


class SelectAlongDim(Function):
    """Values of ``x`` at one index per slice along ``dim`` (max/min/kthvalue/median over a
    dim); the gradient goes to those positions only."""

    @staticmethod
    def forward(ctx, x, idx, dim, keepdim):
        a = x._data
        dims = (dim,) if a.ndim else ()
        ctx.meta = (a.shape, dims, keepdim)
        ctx.dim, ctx.idx, ctx.xp = dim, idx, x.xp
        v = x.xp.take_along_axis(_as_1d(a), idx, axis=dim)
        if not a.ndim:
            v = v.reshape(())
        elif not keepdim:
            v = v.squeeze(axis=dim)
        return make(v, x.device)

    @staticmethod
    def backward(ctx, g):
        shape = ctx.meta[0]
        a1_shape = shape or (1,)
        pos = ctx.xp.arange(a1_shape[ctx.dim]).reshape(
            tuple(-1 if i == ctx.dim else 1 for i in range(len(a1_shape))))
        hot = make((pos == ctx.idx).reshape(shape), g.device)
        return _unreduce(g, *ctx.meta) * hot, None, None, None


# Graph nodes named as PyTorch names them (MaxBackward0, ...); the math is SelectAlongDim's.
_SELECT_NODES = {n: type(n.capitalize(), (SelectAlongDim,), {})
                 for n in ("max", "min", "kthvalue", "median", "mode")}


def _select(kind, name, input, dim, keepdim, pick):
    """(values, indices) for one index per slice along ``dim``; ``pick(a1, d)`` returns the
    indices (keepdims) on the input as at least 1-d."""
    a = input._data
    d = wrap_dim(dim, a.ndim)
    _check_nonempty(name, a, (d,) if a.ndim else (), False)
    idx = pick(_as_1d(a), d)
    values = _SELECT_NODES[name].apply(input, idx, d, keepdim)
    return kind(values, make(idx.reshape(values._data.shape).astype(int64.np, copy=False),
                             input.device))


def _max_or_min(name, input, dim, keepdim, other):
    if other is not None:  # max(input, other=t): PyTorch takes the overload's name by keyword
        if dim is not None:
            raise TypeError(f"{name}() received both dim and other")
        dim = other
    if isinstance(dim, TensorBase):  # max(input, other): the elementwise maximum
        return getattr(elementwise, "maximum" if name == "max" else "minimum")(input, dim)
    if dim is None:
        _check_nonempty(name, input._data, (), True)
        return (Amax if name == "max" else Amin).apply(input, tuple(range(input._data.ndim)),
                                                       False, True)
    fn = "argmax" if name == "max" else "argmin"
    return _select(getattr(return_types, name), name, input, dim, keepdim,
                   lambda a, d: getattr(a, fn)(axis=d, keepdims=True))


@out_variant
def max(input, dim=None, keepdim=False, *, other=None):
    """``max(x)``: the largest element; ``max(x, dim, keepdim)``: (values, indices) along
    ``dim``; ``max(x, other)``: the elementwise maximum."""
    return _max_or_min("max", input, dim, keepdim, other)


@out_variant
def min(input, dim=None, keepdim=False, *, other=None):
    """``min(x)``, ``min(x, dim, keepdim)`` -> (values, indices), or ``min(x, other)``."""
    return _max_or_min("min", input, dim, keepdim, other)


@out_variant(dtype="exact")
def amax(input, dim=(), keepdim=False):
    """Largest values over ``dim`` (all dims by default); ties share the gradient evenly."""
    a = input._data
    dims = _dims(dim, a.ndim)
    _check_nonempty("amax", a, dims, dim is None or dim == ())
    return Amax.apply(input, dims, keepdim, False)


@out_variant(dtype="exact")
def amin(input, dim=(), keepdim=False):
    """Smallest values over ``dim`` (all dims by default); ties share the gradient evenly."""
    a = input._data
    dims = _dims(dim, a.ndim)
    _check_nonempty("amin", a, dims, dim is None or dim == ())
    return Amin.apply(input, dims, keepdim, False)


@out_variant(dtype="exact")
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over ``dim`` or all elements."""
    d = () if dim is None else dim
    return return_types.aminmax(amin(input, d, keepdim), amax(input, d, keepdim))


def _arg(name, input, dim, keepdim):
    a = input._data
    if a.dtype.kind == "b":
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if a.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        flat = getattr(a.reshape(-1), name)()
        out = input.xp.asarray(flat, dtype=int64.np).reshape((1,) * a.ndim if keepdim else ())
        return make(out, input.device)
    d = wrap_dim(dim, a.ndim)
    _check_nonempty(name, a, (d,) if a.ndim else (), False)
    idx = getattr(_as_1d(a), name)(axis=d, keepdims=True)
    out = idx.reshape(_out_shape(a.shape, (d,) if a.ndim else (), keepdim))
    return make(out.astype(int64.np, copy=False), input.device)


@out_variant(dtype="exact")
def argmax(input, dim=None, keepdim=False):
    """Index of the largest element (of the flattened input when ``dim`` is None)."""
    return _arg("argmax", input, dim, keepdim)


@out_variant(dtype="exact")
def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element (of the flattened input when ``dim`` is None)."""
    return _arg("argmin", input, dim, keepdim)


# ---------------------------------------------------------------------------- var, std
def _correction(dim, unbiased, correction):
    """(dim, correction) from PyTorch's two signatures: ``var(x, dim, unbiased, keepdim)`` (also
    ``var(x, unbiased)``) and ``var(x, dim, *, correction=1, keepdim)``."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None:
        if correction is not None:
            raise RuntimeError("var(): cannot specify both unbiased and correction")
        return dim, int(unbiased)
    return dim, 1 if correction is None else correction


def _var(xp, a, dims, correction, keepdim):
    """Variance over ``dims`` with ``n - correction`` degrees of freedom (clamped at 0)."""
    n = _numel(a.shape, dims)
    if n:
        d = a - a.mean(axis=dims, keepdims=True)
        d *= d  # in place (a 0-d input gives a NumPy scalar, which this rebinds instead)
        s = d.sum(axis=dims, keepdims=keepdim)
    else:
        s = xp.zeros(_out_shape(a.shape, dims, keepdim), a.dtype)
    dof = n - correction
    if dof > 0:
        return s / dof
    return xp.where(s > 0, _INF, _NAN).astype(a.dtype)  # s / 0, without NumPy's warning


def _over_dof(t, dof):
    """``t / dof`` for backward (``dof`` clamped at 0, as in PyTorch); with ``dof == 0`` the
    answer is inf (NaN where ``t`` is 0), made without NumPy's divide-by-zero warnings."""
    if dof:
        return t / dof
    return t * make(t.xp.where(t._data == 0, _NAN, _INF).astype(t._data.dtype), t.device)


class Var(Function):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        a = x._data
        ctx.meta = (a.shape, dims, keepdim)
        ctx.dof = builtins.max(0, _numel(a.shape, dims) - correction)
        ctx.save_for_backward(x)
        return make(_var(x.xp, a, dims, correction, keepdim), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        dims = ctx.meta[1]
        dev = x - x.mean(dims, keepdim=True)
        return _over_dof(_unreduce(g, *ctx.meta) * 2 * dev, ctx.dof), None, None, None


class Std(Function):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        a = x._data
        ctx.meta = (a.shape, dims, keepdim)
        ctx.dof = builtins.max(0, _numel(a.shape, dims) - correction)
        out = make(x.xp.sqrt(_var(x.xp, a, dims, correction, keepdim)), x.device)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        dims = ctx.meta[1]
        out = _unreduce(out, *ctx.meta)
        # d std = d var / (2 std); PyTorch sends 0 (not 0/0) where std == 0.
        nz = out._data != 0
        gs = _unreduce(g, *ctx.meta) * make(nz, x.device) / (out + make(~nz, x.device))
        return _over_dof(gs * (x - x.mean(dims, keepdim=True)), ctx.dof), None, None, None


def _var_args(name, input, dim, unbiased, correction):
    """Checked (dims, correction) for var/std, warning as PyTorch does when no degree of
    freedom is left."""
    _check_float("std and var", input)
    dim, c = _correction(dim, unbiased, correction)
    shape = input._data.shape
    dims = _dims(dim, len(shape))
    if _numel(shape, dims) - c <= 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return dims, c


@out_variant
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with ``correction`` (default 1: Bessel's) subtracted from the count;
    the legacy ``unbiased`` flag means correction 1 (True) or 0 (False)."""
    return Var.apply(input, *_var_args("var", input, dim, unbiased, correction), keepdim)


@out_variant
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation over ``dim``; ``correction``/``unbiased`` as in :func:`var`."""
    return Std.apply(input, *_var_args("std", input, dim, unbiased, correction), keepdim)


@out_variant
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(variance, mean) over ``dim``."""
    v = var(input, dim, unbiased, keepdim, correction=correction)
    dim, _ = _correction(dim, unbiased, correction)
    return v, mean(input, dim, keepdim)


@out_variant
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(standard deviation, mean) over ``dim``."""
    s = std(input, dim, unbiased, keepdim, correction=correction)
    dim, _ = _correction(dim, unbiased, correction)
    return s, mean(input, dim, keepdim)


# ---------------------------------------------------------------------------- logsumexp
class Logsumexp(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        a = x._data
        xp = x.xp
        if a.dtype.kind not in "fV":
            a = a.astype(get_default_dtype().np)
        ctx.meta = (a.shape, dims, keepdim)
        if _numel(a.shape, dims) == 0:
            out = xp.full(_out_shape(a.shape, dims, keepdim), -_INF, a.dtype)
        else:
            # Shift by the max for stability; an infinite max (all -inf, or a +inf) shifts by 0
            # so that the answer is that infinity rather than inf - inf = NaN.
            m = a.max(axis=dims, keepdims=True)
            m = xp.where(xp.isinf(m), 0, m).astype(a.dtype, copy=False)
            s = xp.exp(a - m).sum(axis=dims, keepdims=True)
            pos = s > 0
            out = xp.where(pos, xp.log(xp.where(pos, s, 1)), -_INF) + m  # log 0 without warning
            out = out.astype(a.dtype, copy=False)
            if not keepdim:
                out = out.squeeze(axis=dims)
        out = make(out, x.device)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return _unreduce(g, *ctx.meta) * (x - _unreduce(out, *ctx.meta)).exp(), None, None


@out_variant
@autocast_op
def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input)))`` over ``dim``, computed stably."""
    return Logsumexp.apply(input, _dims(dim, input._data.ndim), keepdim)


# ---------------------------------------------------------------------------- norm
class Norm(Function):
    """The vector p-norm over ``dims``."""

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        a = x._data
        xp = x.xp
        if p == 2:
            out = xp.sqrt(xp.square(a).sum(axis=dims, keepdims=keepdim))
        elif p == 1:
            out = xp.abs(a).sum(axis=dims, keepdims=keepdim)
        elif p == _INF:
            out = xp.abs(a).max(axis=dims, keepdims=keepdim)
        elif p == -_INF:
            out = xp.abs(a).min(axis=dims, keepdims=keepdim)
        elif p == 0:
            out = (a != 0).sum(axis=dims, keepdims=keepdim, dtype=a.dtype)
        else:
            out = (xp.abs(a) ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        out = make(out, x.device)
        ctx.p = p
        ctx.meta = (a.shape, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        p = ctx.p
        dims = ctx.meta[1]
        a, xp, dev = x._data, x.xp, x.device
        g, out = _unreduce(g, *ctx.meta), _unreduce(out, *ctx.meta)
        if p == 0:
            return g * make(xp.zeros_like(a), dev), None, None, None
        sign = xp.sign(a)
        if p == 1:
            return g * make(sign, dev), None, None, None
        if p in (_INF, -_INF):
            w = sign * _even_split(xp, xp.abs(a), out._data, dims, False)
            return g * make(w, dev), None, None, None
        # PyTorch's subgradient: 0 where the norm is 0 (not 0/0).
        nz = out._data != 0
        g = g * make(nz, dev)
        safe = out + make(~nz, dev)
        if p == 2:
            return g * x / safe, None, None, None
        # sign(x) (|x| / norm)^(p-1), with |x| as x*sign(x) (differentiable) and 1 where x == 0
        # (the sign makes those entries 0 anyway).
        s = make(sign, dev)
        ax = x * s + make(a == 0, dev)
        return g * s * (ax / safe) ** (p - 1), None, None, None


@out_variant(dtype="exact")
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector ``p``-norm over ``dim`` (all elements by default); ``'fro'`` is the 2-norm.

    ``p`` may be any number, ``inf`` or ``-inf``; the gradient where the norm is 0 is 0.
    """
    if isinstance(p, str):
        if p != "fro":
            raise RuntimeError(f"norm(): p='{p}' (a matrix norm) is not supported; use a number "
                               "or 'fro'")
        p = 2
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    a = input._data
    if a.dtype.kind not in "fV":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {legacy_name(a.dtype)}")
    dims = _dims(dim, a.ndim)
    p = float(p)
    if p in (_INF, -_INF) and _numel(a.shape, dims) == 0:
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor because the "
            "operation does not have an identity")
    return Norm.apply(input, p, dims, keepdim)


# ---------------------------------------------------------------------------- all, any
def _logical(name, input, dim, keepdim):
    a = input._data
    out = getattr(a, name)(axis=_dims(dim, a.ndim), keepdims=keepdim)
    # PyTorch keeps uint8 for backward compatibility; every other dtype gives bool.
    return make(out.astype(a.dtype) if a.dtype.kind == "u" else out, input.device)


@out_variant(dtype="exact")
def all(input, dim=None, keepdim=False):
    """True where every element over ``dim`` is non-zero."""
    return _logical("all", input, dim, keepdim)


@out_variant(dtype="exact")
def any(input, dim=None, keepdim=False):
    """True where some element over ``dim`` is non-zero."""
    return _logical("any", input, dim, keepdim)


def count_nonzero(input, dim=None):
    """Number of non-zero elements over ``dim`` (int64)."""
    a = input._data
    return make((a != 0).sum(axis=_dims(dim, a.ndim), dtype=int64.np), input.device)


# ---------------------------------------------------------------------------- scans
class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        a = x._data
        ctx.dim = dim
        return make(_as_1d(a).cumsum(axis=dim, dtype=dtype).reshape(a.shape), x.device)

    @staticmethod
    def backward(ctx, g):
        return ReverseCumsum.apply(g, ctx.dim), None, None


class ReverseCumsum(Function):
    """Sums from each position to the end of ``dim``: the adjoint of cumsum (and vice versa)."""

    @staticmethod
    def forward(ctx, x, dim):
        a = x._data
        xp = x.xp
        ctx.dim = dim
        a1 = _as_1d(a)
        return make(xp.flip(xp.flip(a1, dim).cumsum(axis=dim), dim).reshape(a.shape), x.device)

    @staticmethod
    def backward(ctx, g):
        return Cumsum.apply(g, ctx.dim, None), None


@out_variant(dtype="out")
@autocast_op
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim``; integers accumulate as int64."""
    return Cumsum.apply(input, wrap_dim(dim, input._data.ndim), _acc_dtype(dtype, input._data))


class Cumprod(Function):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        a = x._data
        ctx.dim = dim
        out = make(_as_1d(a).cumprod(axis=dim, dtype=dtype).reshape(a.shape), x.device)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        dim, dev = ctx.dim, x.device
        zero = _as_1d(x._data == 0)
        if not zero.any():  # a host sync, as in PyTorch
            return ReverseCumsum.apply(g * out, dim) / x, None, None
        # d out_k / d x_i = prod_{j<=k, j!=i} x_j. Before a slice's first zero that is
        # out_k / x_i; at the first zero it is the running product with that zero replaced by
        # 1; after it, every such product contains the first zero and is 0. (Second derivatives
        # are exact where there is no zero.)
        seen = zero.cumsum(axis=dim)
        shape = x._data.shape
        first = (zero & (seen == 1)).reshape(shape)
        before = make((seen == 0).reshape(shape), dev)
        grad = before * (ReverseCumsum.apply(g * out, dim) / (x + make(zero.reshape(shape), dev)))
        x1 = x * make(~first, dev) + make(first, dev)  # the first zero replaced by a constant 1
        at_zero = make(first, dev) * ReverseCumsum.apply(g * cumprod(x1, dim), dim)
        return grad + at_zero, None, None


@out_variant(dtype="out")
@autocast_op
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``; integers accumulate as int64."""
    return Cumprod.apply(input, wrap_dim(dim, input._data.ndim), _acc_dtype(dtype, input._data))


def _cum_extreme(name, input, dim, ufunc):
    """(values, indices) of the running max/min along ``dim``: each index is the last position
    where the running extreme was reached (ties go to the later element; from a NaN on, the
    value is NaN and the index the latest NaN's), as in PyTorch."""
    a = input._data
    xp = input.xp
    d = wrap_dim(dim, a.ndim)
    a1 = _as_1d(a)
    run = getattr(xp, ufunc).accumulate(a1, axis=d)
    hit = a1 == run
    if a1.dtype.kind in "fV":
        hit |= xp.isnan(a1)
    pos = xp.arange(a1.shape[d]).reshape([-1 if i == d else 1 for i in range(a1.ndim)])
    order = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d)
    return name(*_take(input, d, order))


@out_variant(dtype="exact")
def cummax(input, dim):
    """(values, indices) of the running maximum along ``dim``."""
    return _cum_extreme(return_types.cummax, input, dim, "maximum")


@out_variant(dtype="exact")
def cummin(input, dim):
    """(values, indices) of the running minimum along ``dim``."""
    return _cum_extreme(return_types.cummin, input, dim, "minimum")


class Logcumsumexp(Function):
    @staticmethod
    def forward(ctx, x, dim):
        a = x._data
        if a.dtype.kind not in "fV":
            raise NotImplementedError(
                f'"logcumsumexp_out_{x.device.type}" not implemented for \'{legacy_name(a.dtype)}\'')
        ctx.dim = dim
        # A running logaddexp: exact for any spread of values (a shift by the slice's max
        # would underflow the terms far below it).
        out = make(x.xp.logaddexp.accumulate(_as_1d(a), axis=dim).reshape(a.shape), x.device)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        dim = ctx.dim
        # d out_k / d x_i = exp(x_i - out_k) for k >= i. The sum over k is taken in log space,
        # separately for the positive and negative parts of g, so nothing overflows; the
        # dtype's lowest finite value stands for log(0) (no NaN from -inf - -inf).
        lowest = float(x.xp.finfo(x._data.dtype).min)
        nonzero = g != 0
        where = elementwise.where
        log_g = where(nonzero, g.abs(), 1.0).log() - out
        x1 = x if x._data.ndim else x.reshape(1)
        shape = x1.shape

        def suffix(t):
            t = t.reshape(shape)
            return Logcumsumexp.apply(t.flip(dim), dim).flip(dim).reshape(x._data.shape)

        pos = suffix(where(g > 0, log_g, lowest))
        neg = suffix(where(g < 0, log_g, lowest))
        return (x + pos).exp() - (x + neg).exp(), None


@out_variant(dtype="exact")
def logcumsumexp(input, dim):
    """``log(cumsum(exp(input)))`` along ``dim``, computed without overflow."""
    return Logcumsumexp.apply(input, wrap_dim(dim, input._data.ndim))


# ---------------------------------------------------------------------------- softmax
def _softmax_args(name, input, dim, dtype):
    """The input (cast to ``dtype``) and ``dim`` wrapped, after PyTorch's checks."""
    if dtype is not None:
        input = input.to(to_dtype(dtype))
    a = input._data
    n = a.ndim
    # NOTE: an in-range int dim (the hot case) is wrapped inline; wrap_dim handles the rest.
    dim = dim % n if type(dim) is int and -n <= dim < n else wrap_dim(dim, n)
    if a.dtype.kind not in "fV" and a.size:  # (after the dim check; no kernel runs when empty)
        raise NotImplementedError(f'"{name}" not implemented for \'{legacy_name(a.dtype)}\'')
    return input, dim


def _shifted(a, dim):
    """``a`` minus its max along ``dim`` (as at least 1-d): exp of it cannot overflow."""
    a1 = a if a.ndim else a.reshape(1)  # (_as_1d, inline: softmax is hot)
    return a1 - a1.max(axis=dim, keepdims=True)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        a = x._data
        ctx.dim = dim
        if a.size == 0:
            out = a.copy()
        else:
            e = _shifted(a, dim)
            x.xp.exp(e, out=e)
            e /= e.sum(axis=dim, keepdims=True)
            out = e.reshape(a.shape)
        out = make(out, x.device)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        gy = g * y
        return gy - y * gy.sum(ctx.dim, keepdim=True), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        a = x._data
        xp = x.xp
        ctx.dim = dim
        if a.size == 0:
            out = a.copy()
        else:
            s = _shifted(a, dim)
            s -= xp.log(xp.exp(s).sum(axis=dim, keepdims=True))
            out = s.reshape(a.shape)
        out = make(out, x.device)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - y.exp() * g.sum(ctx.dim, keepdim=True), None


@out_variant(dtype="exact", differentiable=True)
@autocast_op
def softmax(input, dim, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably (``dtype`` casts the input)."""
    return Softmax.apply(*_softmax_args("softmax", input, dim, dtype))


@out_variant(dtype="exact", differentiable=True)
@autocast_op
def log_softmax(input, dim, dtype=None):
    """``log(softmax(x))`` along ``dim``, computed stably (``dtype`` casts the input)."""
    return LogSoftmax.apply(*_softmax_args("log_softmax", input, dim, dtype))


# ---------------------------------------------------------------------------- sorting
def _order(xp, a, dim, descending):
    """Stable argsort of ``a`` (at least 1-d) along ``dim``; NaN counts as the largest value."""
    if not descending:
        return xp.argsort(a, axis=dim, kind="stable")
    # Sort the reversed array and reverse the answer: descending, with equal values still in
    # their original order (and NaN, last when ascending, first).
    r = xp.argsort(xp.flip(a, dim), axis=dim, kind="stable")
    return (a.shape[dim] - 1) - xp.flip(r, dim)


def _along(dim, start, stop):
    """An index selecting ``start:stop`` along ``dim``."""
    return (slice(None),) * dim + (slice(start, stop),)


def _take(input, dim, order):
    """``input`` gathered along ``dim`` at ``order`` (an index array) and the indices tensor."""
    idx = make(order.astype(int64.np, copy=False), input.device)
    if input._data.ndim == 0:
        return input.clone(), idx.reshape(())
    return input.gather(dim, idx), idx


@out_variant(dtype="exact")
def sort(input, dim=-1, descending=False, *, stable=False):
    """(values, indices) sorted along ``dim``.

    Always stable (equal values keep their order), whatever ``stable`` says: PyTorch's CPU
    sort is too in practice, so tie order matches it.
    """
    a = input._data
    d = wrap_dim(dim, a.ndim)
    order = _order(input.xp, _as_1d(a), d, descending)
    return return_types.sort(*_take(input, d, order))


@out_variant(dtype="exact")
def argsort(input, dim=-1, descending=False, *, stable=False):
    """Indices that sort ``input`` along ``dim`` (stably, as :func:`sort`)."""
    a = input._data
    d = wrap_dim(dim, a.ndim)
    order = _order(input.xp, _as_1d(a), d, descending).reshape(a.shape)
    return make(order.astype(int64.np, copy=False), input.device)


@out_variant(dtype="exact")
def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``, in order."""
    a = input._data
    xp = input.xp
    d = wrap_dim(-1 if dim is None else dim, a.ndim)
    a1 = _as_1d(a)
    n = a1.shape[d]
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if 0 < k < n:
        # Partition first (linear time), then sort only the k candidates.
        part = xp.argpartition(a1, n - k if largest else k - 1, axis=d)
        cand = part[_along(d, n - k, n) if largest else _along(d, 0, k)]
        order = _order(xp, xp.take_along_axis(a1, cand, axis=d), d, largest)
        order = xp.take_along_axis(cand, order, axis=d)
    else:
        order = _order(xp, a1, d, largest)[_along(d, 0, k)]
    return return_types.topk(*_take(input, d, order))


@out_variant(dtype="exact")
def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the ``k``-th smallest element along ``dim`` (k counts from 1)."""
    a = input._data
    d = wrap_dim(dim, a.ndim)
    if not 1 <= k <= _as_1d(a).shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    return _select(return_types.kthvalue, "kthvalue", input, d, keepdim,
                   lambda a1, d: input.xp.argpartition(a1, k - 1, axis=d)[_along(d, k - 1, k)])


def _median_index(xp, a1, d):
    """Index of the lower median along ``d``, or of the first NaN where a slice has one."""
    order = _order(xp, a1, d, False)
    n = a1.shape[d]
    pos = xp.full(_kept(a1.shape, (d,)), (n - 1) // 2, dtype=order.dtype)
    if a1.dtype.kind in "fV":
        nans = xp.isnan(a1).sum(axis=d, keepdims=True)
        pos = xp.where(nans > 0, n - nans, pos)  # NaNs sort last, in their original order
    return xp.take_along_axis(order, pos, axis=d)


@out_variant(dtype="exact")
def median(input, dim=None, keepdim=False):
    """``median(x)``: the lower median of all elements; ``median(x, dim, keepdim)``: (values,
    indices) along ``dim``. NaN propagates."""
    a = input._data
    if dim is None:
        return Median.apply(input, tuple(range(a.ndim)), False, True)
    return _select(return_types.median, "median", input, dim, keepdim,
                   lambda a1, d: _median_index(input.xp, a1, d))


def _mode_index(xp, a1, d):
    """Index of the most frequent value along ``d`` (the smallest such value on ties; its last
    occurrence), from one stable sort: runs of equal sorted values are counted in place."""
    order = _order(xp, a1, d, False)
    s = xp.take_along_axis(a1, order, axis=d)
    n = s.shape[d]
    pos = xp.arange(n).reshape([-1 if i == d else 1 for i in range(s.ndim)])
    starts = xp.ones(s.shape, dtype=bool)
    starts[_along(d, 1, n)] = s[_along(d, 1, n)] != s[_along(d, 0, n - 1)]
    run_start = xp.maximum.accumulate(xp.where(starts, pos, 0), axis=d)
    count = pos - run_start + 1  # the length of the run so far, full at the run's last element
    best = xp.argmax(count, axis=d, keepdims=True)  # first maximum: the smallest value
    return xp.take_along_axis(order, best, axis=d)


@out_variant(dtype="exact")
def mode(input, dim=-1, keepdim=False):
    """(values, indices): the most frequent value along ``dim`` (the smallest one on ties) and
    the index of its last occurrence."""
    return _select(return_types.mode, "mode", input, dim, keepdim,
                   lambda a1, d: _mode_index(input.xp, a1, d))


# ---------------------------------------------------------------------------- scatter_reduce
_SCATTER_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _scatter_reduce_array(xp, a, key, src, reduce, include_self):
    """``a`` with ``src`` reduced into the positions ``key`` (repeats combine)."""
    out = a.copy()
    if not include_self:  # start the scattered positions from the reduction's identity
        if reduce in ("sum", "mean"):
            ident = 0
        elif reduce == "prod":
            ident = 1
        elif a.dtype.kind in "fV":
            ident = -_INF if reduce == "amax" else _INF
        else:
            info = xp.iinfo(a.dtype) if a.dtype.kind in "iu" else None
            ident = (info.min if reduce == "amax" else info.max) if info else reduce == "amin"
        out[key] = ident
    if reduce in ("sum", "mean"):
        _scatter_add(xp, out, key, src)
    else:
        ufunc = {"prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
        ufunc.at(out, key, src)
    if reduce == "mean":
        count = xp.ones(a.shape, dtype=a.dtype)  # self counts once where it is included
        if not include_self:
            count[key] = 0
        _scatter_add(xp, count, key, xp.ones(src.shape, dtype=a.dtype))
        count = xp.maximum(count, 1)
        out = out / count if a.dtype.kind in "fV" else xp.floor_divide(out, count)
    return out


class ScatterReduce(Function):
    @staticmethod
    def forward(ctx, x, src, key, index, dim, reduce, include_self):
        out = make(_scatter_reduce_array(x.xp, x._data, key, src._data, reduce, include_self),
                   x.device)
        ctx.args = (index, dim, reduce, include_self)
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, out = ctx.saved_tensors
        index, dim, reduce, include_self = ctx.args
        where = elementwise.where
        if reduce == "sum":
            gx, gs = g, g.gather(dim, index)
        elif reduce == "mean":
            n = (x.new_ones(x.shape) if include_self else x.new_zeros(x.shape)).scatter_add(
                dim, index, src.new_ones(src.shape))
            n = where(n == 0, 1.0, n)
            gx, gs = g / n, g.gather(dim, index) / n.gather(dim, index)
        elif reduce == "prod":
            # Products that leave out one factor, without dividing by a zero: a zero of self
            # is replaced by 1 (then out/self is the product of the others); a zero of src
            # that is alone at its position, likewise.
            x1 = where(x == 0, 1.0, x)
            gx = g * scatter_reduce(x1, dim, index, src, "prod", include_self=include_self) / x1
            zero = src == 0
            zeros_at = x.new_zeros(x.shape).scatter_add(dim, index, zero.to(x.dtype))
            single = zero & (zeros_at.gather(dim, index) == 1)
            others = scatter_reduce(x, dim, index, where(single, 1.0, src), "prod",
                                    include_self=include_self)
            gs = where(single, (g * others).gather(dim, index),
                       (g * out).gather(dim, index) / where(zero, 1.0, src))
        else:  # amax / amin: the gradient is shared evenly by the elements equal to the result
            value = out.gather(dim, index)
            x_wins = (x == out).to(x.dtype)
            src_wins = (src == value).to(x.dtype)
            share = g / x_wins.scatter_add(dim, index, src_wins)
            gx, gs = x_wins * share, src_wins * share.gather(dim, index)
        if not include_self:  # self's values at the scattered positions were not used
            gx = gx.scatter(dim, index, 0.0)
        need = ctx.needs_input_grad
        return (gx if need[0] else None, gs if need[1] else None, None, None, None, None, None)


def _scatter_reduce_args(input, dim, index, src, reduce):
    if not isinstance(src, TensorBase):
        raise TypeError("scatter_reduce(): argument 'src' (position 4) must be Tensor, not "
                        f"{type(src).__name__}")
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # (PyTorch's silent aliases)
    if reduce not in _SCATTER_REDUCTIONS:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    key, src = _scatter_prepare("scatter_reduce", input, dim, index, src)
    d = wrap_dim(dim, input._data.ndim)
    idx = make(key[d].astype(int64.np, copy=False), input.device)
    if src._data.shape != idx._data.shape:  # a 0-d src or index, read as one element
        src = src.reshape(idx._data.shape)
    return key, src, idx, d, reduce


@out_variant(dtype="exact")
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``input`` with each ``src[i][j]`` reduced into position ``index[i][j]`` along ``dim``
    (for ``dim=1``) by ``reduce`` (``"sum"``, ``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``);
    ``include_self=False`` leaves ``input``'s own values at those positions out."""
    key, src, idx, d, reduce = _scatter_reduce_args(input, dim, index, src, reduce)
    x = input if input._data.ndim else input.reshape(1)
    out = ScatterReduce.apply(x, src, key, idx, d, reduce, include_self)
    return out if input._data.ndim else out.reshape(())


def _scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    _scatter_reduce_args(self, dim, index, src, reduce)  # (errors before anything changes)
    return apply_inplace(self, lambda t, s: scatter_reduce(t, dim, index, s, reduce,
                                                           include_self=include_self), src)


def _index_reduce_args(input, dim, index, source, reduce):
    """index_reduce's checks; returns (dim, source, the index spread to source's shape)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or amin "
                           f"but got {reduce}.")
    dim, idx, source = _index_source_args(
        "index_reduce_", input, dim, index, source,
        lambda a, b: f"index_reduce_(): self ({a}) and source ({b}) must have the same scalar "
                     "type")
    along = [1] * source._data.ndim
    along[dim] = -1
    spread = make(idx.astype(int64.np, copy=False), input.device).reshape(along)
    return dim, source, spread.expand(source._data.shape)


@out_variant(dtype="exact")
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``input`` with the slices of ``source`` reduced by ``reduce`` (``"prod"``, ``"mean"``,
    ``"amax"``, ``"amin"``) into the slices along ``dim`` at ``index``: ``scatter_reduce`` with
    ``index`` spread over each slice."""
    dim, source, spread = _index_reduce_args(input, dim, index, source, reduce)
    x = input if input._data.ndim else input.reshape(1)
    out = scatter_reduce(x, dim, spread, source, reduce, include_self=include_self)
    return out if input._data.ndim else out.reshape(())


def _index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    _index_reduce_args(self, dim, index, source, reduce)  # (errors before anything changes)
    return apply_inplace(self, lambda t, s: index_reduce(t, dim, index, s, reduce,
                                                         include_self=include_self), source)


# ---------------------------------------------------------------------------- Tensor methods
class ReduceMethods:
    """The reduction ``Tensor`` methods."""

    __slots__ = ()
    sum = sum
    sum_to_size = sum_to_size
    mean = mean
    nansum = nansum
    nanmean = nanmean
    prod = prod
    max = max
    min = min
    amax = amax
    amin = amin
    aminmax = aminmax
    argmax = argmax
    argmin = argmin
    var = var
    std = std
    logsumexp = logsumexp
    all = all
    any = any
    count_nonzero = count_nonzero
    cumsum = cumsum
    cumprod = cumprod
    softmax = softmax
    log_softmax = log_softmax
    sort = sort
    argsort = argsort
    topk = topk
    kthvalue = kthvalue
    median = median
    mode = mode
    cummax = cummax
    cummin = cummin
    logcumsumexp = logcumsumexp
    scatter_reduce = scatter_reduce
    scatter_reduce_ = _scatter_reduce_
    index_reduce = index_reduce
    index_reduce_ = _index_reduce_

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return norm(self, p, dim, keepdim, dtype=dtype)
