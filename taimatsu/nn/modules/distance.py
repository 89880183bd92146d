"""Distance layers: ``PairwiseDistance`` and ``CosineSimilarity``."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class PairwiseDistance(Module):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim.

    Shape:
        - Input1: ``(N, D)`` or ``(D,)``; Input2: the same or broadcastable; Output: ``(N,)``
          or ``()`` (``(N, 1)`` / ``(1,)`` with ``keepdim=True``).
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity of ``x1`` and ``x2`` along ``dim``, each norm clamped below at ``eps``.

    Shape:
        - Input1: ``(*, D, *)``; Input2: broadcastable to it; Output: the broadcast shape
          without ``dim``.
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
