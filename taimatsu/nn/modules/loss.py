"""Loss layers: each holds its options (and weight buffers) and calls ``nn.functional``.

``reduction`` is ``'mean'`` (default), ``'sum'`` or ``'none'``; the deprecated ``size_average`` /
``reduce`` arguments still override it, as in PyTorch.
"""
from __future__ import annotations

import warnings

from .. import functional as F
from .distance import PairwiseDistance
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CTCLoss", "CosineEmbeddingLoss", "CrossEntropyLoss",
           "GaussianNLLLoss", "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss", "L1Loss",
           "MSELoss", "MarginRankingLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
           "MultiMarginLoss", "NLLLoss", "NLLLoss2d", "PoissonNLLLoss", "SmoothL1Loss",
           "SoftMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss"]


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


class NLLLoss2d(NLLLoss):
    """:class:`NLLLoss` under its old, deprecated name for ``(N, C, H, W)`` inputs."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in "
                      "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss "
                      "for more details.", FutureWarning, stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


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


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of log-probabilities ``input`` from ``target``
    (log-probabilities too with ``log_target=True``); ``reduction='batchmean'`` gives the true
    KL divergence.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log likelihood of ``target`` given the rate ``input`` (its log with
    ``log_input=True``); ``full`` adds Stirling's approximation term.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None,
                 eps: float = 1e-8, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log likelihood of ``target`` given mean ``input`` and variance ``var``.

    Shape:
        - Input: ``(N, *)`` or ``(*)``; Target: the same; Var: the same, or with one dim of
          size 1, or without the last dim; Output: scalar, or ``(N, *)`` with
          ``reduction='none'``.
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6,
                 reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist temporal classification loss between an unsegmented sequence of
    log-probabilities and a target sequence.

    Shape:
        - Log_probs: ``(T, N, C)`` or ``(T, C)``; Targets: ``(N, S)`` or the concatenated
          ``(sum(target_lengths),)``; Input_lengths, Target_lengths: ``(N,)`` or ``()``;
          Output: scalar, or ``(N,)`` with ``reduction='none'``.

    Example::

        >>> ctc = nn.CTCLoss()
        >>> lp = torch.randn(50, 16, 20).log_softmax(2).detach().requires_grad_()
        >>> loss = ctc(lp, torch.randint(1, 20, (16, 30)), torch.full((16,), 50),
        ...            torch.randint(10, 30, (16,)))
    """

    def __init__(self, blank: int = 0, reduction: str = "mean",
                 zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


class _MarginLoss(_Loss):
    def __init__(self, margin: float, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


class MarginRankingLoss(_MarginLoss):
    """``max(0, -target * (input1 - input2) + margin)`` for targets in {1, -1}.

    Shape:
        - Input1, Input2, Target: ``(N,)`` or ``()``; Output: scalar, or ``(N,)`` with
          ``reduction='none'``.
    """

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_MarginLoss):
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin,
                                      reduction=self.reduction)


class CosineEmbeddingLoss(_MarginLoss):
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where -1.

    Shape:
        - Input1, Input2: ``(N, D)`` or ``(D,)``; Target: ``(N,)`` or ``()``; Output: scalar,
          or ``(N,)`` with ``reduction='none'``.
    """

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """Logistic loss ``log(1 + exp(-target * input))`` for targets in {1, -1}.

    Shape:
        - Input: ``(*)``; Target: ``(*)``, same shape; Output: scalar, or ``(*)`` with
          ``reduction='none'``.
    """

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss; each row of ``target`` lists its classes, ended by -1.

    Shape:
        - Input: ``(C,)`` or ``(N, C)``; Target: the same shape, int64; Output: scalar, or
          ``(N,)`` with ``reduction='none'``.
    """

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class logistic loss against 0/1 targets, averaged over the classes.

    Shape:
        - Input: ``(N, C)``; Target: ``(N, C)``; Output: scalar, or ``(N,)`` with
          ``reduction='none'``.
    """

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss ``sum_{i != y} max(0, margin - x[y] + x[i]) ** p / C``.

    Shape:
        - Input: ``(N, C)`` or ``(C,)``; Target: ``(N,)`` or ``()`` int64; Output: scalar, or
          ``(N,)`` with ``reduction='none'``.
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or 1D tensor, got "
                             f"{weight.dim()}D instead")
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


def _check_triplet_margin(name: str, margin: float) -> None:
    if margin <= 0:
        raise ValueError(f"{name}: expected margin to be greater than 0, got {margin} instead")


class TripletMarginLoss(_Loss):
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the ``p``-norm pairwise distance.

    Shape:
        - Anchor, Positive, Negative: ``(N, D)`` or ``(D,)``; Output: scalar, or ``(N,)`` with
          ``reduction='none'``.
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        _check_triplet_margin("TripletMarginLoss", margin)
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """:class:`TripletMarginLoss` with any ``distance_function`` (default
    :class:`PairwiseDistance`, held as a submodule as in PyTorch).

    Shape:
        - Anchor, Positive, Negative: ``(N, *)``; Output: scalar, or ``(N,)`` with
          ``reduction='none'``.
    """

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        _check_triplet_margin("TripletMarginWithDistanceLoss", margin)
        self.distance_function = (distance_function if distance_function is not None
                                  else PairwiseDistance())
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)
