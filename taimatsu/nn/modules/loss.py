"""Loss layers: each holds its options (and weight buffers) and calls ``nn.functional``.

``reduction`` is ``'mean'`` (default), ``'sum'`` or ``'none'``; the deprecated ``size_average`` /
``reduce`` arguments still override it, as in PyTorch.
"""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "L1Loss", "MSELoss",
           "NLLLoss", "SmoothL1Loss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = F._legacy_reduction(size_average, reduce)
        else:
            self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error ``(input - target) ** 2``, reduced.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``, reduced.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of class-index targets given log-probabilities.

    ``weight`` (shape ``(C,)``) rescales classes; targets equal to ``ignore_index`` contribute
    nothing; the weighted mean divides by the summed weight of the non-ignored targets.

    Shape:
        - Input: ``(N, C)`` or ``(C,)`` or ``(N, C, d1, ...)``; Target: ``(N,)`` or ``()`` or
          ``(N, d1, ...)`` of int64 in ``[0, C)``; Output: scalar, or the target's shape with
          ``reduction='none'``.
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy between logits and class-index or class-probability targets.

    Computed as ``nll_loss(log_softmax(input, 1), target)``; ``label_smoothing`` mixes the
    target with the uniform distribution over classes.

    Shape:
        - Input: ``(N, C)`` or ``(C,)`` or ``(N, C, d1, ...)``; Target: class indices of shape
          ``(N,)`` / ``()`` / ``(N, d1, ...)``, or probabilities shaped like the input; Output:
          scalar, or the per-sample shape with ``reduction='none'``.

    Example::

        >>> loss = nn.CrossEntropyLoss()
        >>> loss(torch.randn(3, 5, requires_grad=True), torch.tensor([1, 0, 4])).backward()
    """

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    """Binary cross entropy between probabilities ``input`` in [0, 1] and ``target``.

    Each log is clamped to ``>= -100`` so a probability of exactly 0 or 1 gives a finite loss.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``BCELoss(sigmoid(input), target)`` computed stably from logits.

    ``pos_weight`` (broadcast against the target, e.g. shape ``(C,)``) rescales the positive
    term of each class.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 * d**2 / beta`` where ``|d| < beta``, ``|d| - 0.5 * beta`` elsewhere
    (``d = input - target``); ``beta=0`` is the L1 loss.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 * d**2`` where ``|d| < delta``, ``delta * (|d| - 0.5 * delta)`` elsewhere.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)
