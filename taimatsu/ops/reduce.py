"""Reductions: sum, mean, prod, max/min (with indices), amax/amin, argmax/argmin, var/std,
logsumexp, norm; ``dim`` is an int or a tuple, ``keepdim`` keeps reduced dims as size 1."""
from __future__ import annotations

from .._tensor_base import make
from ..autograd.function import Function
from ..dtypes import from_numpy_dtype, to_dtype
from ._util import wrap_dims

__all__ = ["sum", "mean"]


def _expand_back(g, shape, dims, keepdim):
    """Broadcast a reduced gradient ``g`` back to the input ``shape``."""
    if not keepdim and dims:
        g = g.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))
    return g.expand(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.meta = (x._data.shape, dims, keepdim)
        a = x._data
        if dtype is None and a.dtype.kind in "bui":
            dtype = "int64"  # PyTorch sums integers and bools as int64
        out = a.sum(axis=dims, keepdims=keepdim, dtype=dtype)
        return make(out, x.device)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.meta
        return _expand_back(g, shape, dims, keepdim), None, None, None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum of elements, over ``dim`` (int or tuple) or all of them."""
    dims = wrap_dims(dim, input._data.ndim)
    return Sum.apply(input, dims, keepdim, None if dtype is None else to_dtype(dtype).np)


class SumToSize(Function):
    """Sum a broadcast tensor back to ``shape`` (the engine uses it for broadcast gradients)."""

    @staticmethod
    def forward(ctx, x, shape):
        a = x._data
        ctx.shape = a.shape
        lead = a.ndim - len(shape)
        dims = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1)
        if dims:
            a = a.sum(axis=dims, keepdims=True)
            if lead:
                a = a.reshape(shape)
        return make(a, x.device)

    @staticmethod
    def backward(ctx, g):
        return g.expand(ctx.shape), None


def sum_to_size(input, *size):
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
    if tuple(input._data.shape) == tuple(shape):
        return input
    return SumToSize.apply(input, tuple(shape))


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of elements over ``dim``; integer inputs need a float ``dtype`` (as in PyTorch)."""
    if dtype is None and input._data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {from_numpy_dtype(input._data.dtype).name.capitalize()}"
        )
    x = input if dtype is None else input.to(to_dtype(dtype))
    dims = wrap_dims(dim, x._data.ndim)
    n = 1
    for d in dims:
        n *= x._data.shape[d]
    return sum(x, dims, keepdim) / n if n else sum(x, dims, keepdim) * float("nan")


class ReduceMethods:
    """The reduction ``Tensor`` methods."""

    __slots__ = ()
    sum = sum
    sum_to_size = sum_to_size
    mean = mean
