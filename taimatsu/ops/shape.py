"""Shape ops: reshape/view, squeeze/unsqueeze, permute/transpose/t, expand, flatten, cat/stack,
split/chunk/unbind, clone/contiguous. View ops return tensors that share storage (``_view``)."""
from __future__ import annotations

from .._tensor_base import make
from ..backend import reshape_view
from ..autograd.function import Function
from ._util import wrap_dim

__all__ = ["reshape", "t", "transpose", "clone"]


def _shape_arg(size):
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    if len(size) == 1 and not isinstance(size[0], int):
        return tuple(int(s) for s in size[0])
    return tuple(int(s) for s in size)


class View(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        try:
            arr = reshape_view(x._data, shape)
        except ValueError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return x._view(arr, lambda b: b.view(shape))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def _infer(shape, numel, in_shape):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def view(input, *shape):
    shape = _infer(_shape_arg(shape), input._data.size, input._data.shape)
    return View.apply(input, shape)


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return make(x._data.reshape(shape), x.device)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def reshape(input, *shape):
    """A tensor with ``shape``: a view when the layout allows, else a copy."""
    shape = _infer(_shape_arg(shape), input._data.size, input._data.shape)
    if input._data.flags.c_contiguous:
        return View.apply(input, shape)
    return Reshape.apply(input, shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, d0, d1):
        ctx.dims = (d0, d1)
        return x._view(x._data.swapaxes(d0, d1), lambda b: b.transpose(d0, d1))

    @staticmethod
    def backward(ctx, g):
        d0, d1 = ctx.dims
        return g.transpose(d0, d1), None, None


def transpose(input, dim0, dim1):
    n = input._data.ndim
    return Transpose.apply(input, wrap_dim(dim0, n), wrap_dim(dim1, n))


def t(input):
    """Transpose of a tensor with at most 2 dims."""
    n = input._data.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return transpose(input, 0, 1) if n == 2 else View.apply(input, input._data.shape)


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._view(x.xp.broadcast_to(x._data, shape), lambda b: b.expand(shape))

    @staticmethod
    def backward(ctx, g):
        return g.sum_to_size(ctx.in_shape), None


def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    shape = input._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})"
        )
    out = tuple(shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    for i, s in enumerate(shape):
        if s != 1 and s != out[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({out[lead + i]}) must match the existing size "
                f"({s}) at non-singleton dimension {lead + i}.  Target sizes: {list(sizes)}.  "
                f"Tensor sizes: {list(shape)}"
            )
    if out == shape:
        return View.apply(input, shape)
    return Expand.apply(input, out)


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return make(x._data.copy(), x.device)

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input, *, memory_format=None):
    return Clone.apply(input)


class ShapeMethods:
    """The shape ``Tensor`` methods."""

    __slots__ = ()
    view = view
    reshape = reshape
    transpose = transpose
    t = t
    expand = expand
    clone = clone

    @property
    def T(self):
        return self.permute(*reversed(range(self._data.ndim))) if self._data.ndim != 2 else t(self)
