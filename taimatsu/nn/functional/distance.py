"""Distances: pairwise_distance, cosine_similarity, pdist (compositions of differentiable ops)."""
from __future__ import annotations

from ..._tensor_base import make
from ...autograd.function import Function
from ...dtypes import legacy_name, result_type
from ...ops import reduce as _red
from ...ops import shape as _shape
from ...ops._autocast import autocast_op

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


class ClampMinValue(Function):
    """``max(x, lo)`` in value, the identity in gradient.

    NOTE: PyTorch clamps some denominators (cosine_similarity's norms, gaussian_nll_loss's
    variance) in place under ``no_grad``, so their gradient flows as if unclamped; an ordinary
    clamp would zero it below the bound.
    """

    @staticmethod
    def forward(ctx, x, lo):
        return make(x.xp.maximum(x._data, x._data.dtype.type(lo)), x.device)

    @staticmethod
    def backward(ctx, g):
        return g, None


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim (inputs broadcast).

    Shape:
        - ``x1``, ``x2``: ``(N, D)`` or ``(D,)``; Output: ``(N,)`` or ``()`` (``keepdim`` keeps
          the reduced dim).
    """
    dim = max(x1.dim(), x2.dim()) - 1
    return _red.norm(x1 - x2 + eps, p, dim if dim >= 0 else None, keepdim)


@autocast_op
def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """``x1 . x2 / (max(|x1|, eps) * max(|x2|, eps))`` along ``dim`` (inputs broadcast).

    Each input is divided by its own norm first, as PyTorch does, so the result stays in
    ``[-1, 1]``.
    """
    dt = result_type(x1, x2)
    if not dt.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{legacy_name(dt.np)}")
    x1, x2 = _shape.broadcast_tensors(x1, x2)
    n1 = ClampMinValue.apply(_red.norm(x1, 2, dim, True), eps)
    n2 = ClampMinValue.apply(_red.norm(x2, 2, dim, True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


@autocast_op
def pdist(input, p: float = 2):
    """``p``-norm distances between every pair of rows ``i < j`` of a 2-D input, in the order
    of the upper triangle (``N * (N - 1) / 2`` values)."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    xp, n = input.xp, input.shape[0]
    i, j = (make(ix, input.device) for ix in xp.triu_indices(n, 1))
    diff = input.index_select(0, i) - input.index_select(0, j)
    return _red.norm(diff, p, 1)
