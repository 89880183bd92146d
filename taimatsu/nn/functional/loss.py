"""Losses. Every loss reduces through :func:`_reduce`; fused nodes where one node beats a
composition (regression and class-index losses)."""
from __future__ import annotations

import math
import warnings

from ..._tensor_base import TensorBase, make
from ...autograd import grad_mode
from ...autograd.function import Function, _DelayedError
from ...backend import device_assert, known_all
from ...dtypes import int64, legacy_name, promote_types, uint8
from ...ops import elementwise as _ew
from ...ops import reduce as _red
from ...ops._autocast import autocast_op
from ...ops._util import check_same_device, wrap_dim
from ...size import broadcast_shapes
from .activation import Softplus, log_softmax, logsigmoid
from .distance import ClampMinValue, pairwise_distance

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
           "cross_entropy", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss",
           "kl_div", "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
           "multilabel_margin_loss", "multilabel_soft_margin_loss", "nll_loss",
           "poisson_nll_loss", "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss"]


def _legacy_reduction(size_average, reduce) -> str:
    """The ``reduction`` named by PyTorch's deprecated ``size_average`` / ``reduce`` pair."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def _reduction(size_average, reduce, reduction: str) -> str:
    """Resolve and validate a loss's reduction argument before anything is computed."""
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction: str, weights=None):
    """The one loss reduction: ``'none'``, ``'sum'``, or ``'mean'`` — the plain mean, or
    ``loss.sum() / weights.sum()`` when per-element ``weights`` define the normaliser."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if weights is None:
        return loss.mean()
    return loss.sum() / weights.sum()


def _warn_size(input, target) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)


def _check_loss_weight(weight, input) -> None:
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")


# NOTE: one node instead of sub, mul and sum (forward + backward on (64, 10): 138 -> 68 us):
# regression losses are small arrays, where each node's fixed cost dominates. backward recomputes
# ``x - y`` with tensor ops rather than keeping forward's array, so higher-order gradients stay
# exact.
class MseLoss(Function):
    """``(x - y) ** 2``, reduced, for operands of one shape, dtype and device."""

    @staticmethod
    def forward(ctx, x, y, reduction):
        d = x._data - y._data
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        d *= d
        if reduction == "none":
            return make(d, x.device)
        return make(d.sum() if reduction == "sum" else d.mean(), x.device)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        scale = 2.0 if ctx.reduction != "mean" else 2.0 / x._data.size
        gx = (x - y) * (g * scale)
        need_x, need_y, _ = ctx.needs_input_grad
        return gx if need_x else None, -gx if need_y else None, None


@autocast_op
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
             weight=None):
    """Mean squared error; ``weight`` (input-shaped) gives a weighted mean ``sum(w*l)/sum(w)``."""
    a, b = input._data, target._data
    if (weight is None and size_average is None and reduce is None and a.shape == b.shape
            and a.size and a.dtype == b.dtype and a.dtype.kind in "fV" and input.device is target.device
            and reduction in ("sum", "mean", "none")):
        return MseLoss.apply(input, target, reduction)
    # Broadcasting, mixed dtypes, empty inputs, weights, legacy arguments: composed ops.
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    _check_loss_weight(weight, input)
    broadcast_shapes(input.shape, target.shape)  # (PyTorch's size error comes first)
    dt = promote_types(input.dtype, target.dtype)
    if not dt.is_floating_point:
        raise NotImplementedError(f'"mse_cpu" not implemented for \'{legacy_name(dt.np)}\'')
    d = input.to(dt) - target.to(dt)  # (a bool target is 0/1: PyTorch's kernel casts it)
    loss = d * d
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, weight)


@autocast_op
def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
            weight=None):
    """Mean absolute error; ``weight`` (input-shaped) gives a weighted mean ``sum(w*l)/sum(w)``."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    _check_loss_weight(weight, input)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, weight)


@autocast_op
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``; ``beta=0`` is L1."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    ad = d.abs()
    if beta == 0:
        return _reduce(ad, reduction)
    loss = _ew.where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


@autocast_op
def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""
    _warn_size(input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _check_loss_weight(weight, input)
    d = input - target
    ad = d.abs()
    loss = _ew.where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight  # NOTE: PyTorch's weighted Huber mean is the plain mean
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- class-index losses
def _class_axis_shape(shape, axis):
    """``shape`` with a size-1 class axis inserted at ``axis`` (targets -> input layout)."""
    return shape[:axis] + (1,) + shape[axis:]


class NllLoss(Function):
    """Gather: ``-x[n, index[n], ...] * coef[n, ...]``, exactly 0 where ``index`` is -1 (ignored).

    Its gradient is the scatter :class:`NllLossGrad`, whose gradient is this gather again, so
    every order of derivative is exact.
    """

    @staticmethod
    def forward(ctx, x, index, coef):
        xp, a, i = x.xp, x._data, index._data
        axis = 0 if a.ndim == 1 else 1
        safe = xp.maximum(i, 0).reshape(_class_axis_shape(i.shape, axis))
        picked = xp.take_along_axis(a, safe, axis=axis).reshape(i.shape)
        ctx.save_for_backward(index, coef)
        ctx.shape = a.shape
        # where, not a product with coef: an ignored target must give 0 even if x is -inf there.
        return make(-xp.where(i >= 0, picked, 0) * coef._data, x.device)

    @staticmethod
    def backward(ctx, g):
        index, coef = ctx.saved_tensors
        return NllLossGrad.apply(g, index, coef, ctx.shape), None, None


class NllLossGrad(Function):
    """Scatter: a ``shape``-sized zero tensor holding ``-g * coef`` at each target's class."""

    @staticmethod
    def forward(ctx, g, index, coef, shape):
        xp, i = g.xp, index._data
        axis = 0 if len(shape) == 1 else 1
        classes = xp.arange(shape[axis]).reshape([-1 if d == axis else 1 for d in range(len(shape))])
        # Ignored targets stay exactly 0 even when g is inf or nan (an all-ignored mean is 0/0).
        vals = -xp.where(i >= 0, g._data, 0) * coef._data
        lay = _class_axis_shape(i.shape, axis)
        ctx.save_for_backward(index, coef)
        return make(xp.where(i.reshape(lay) == classes, vals.reshape(lay), 0), g.device)

    @staticmethod
    def backward(ctx, gg):
        index, coef = ctx.saved_tensors
        return NllLoss.apply(gg, index, coef), None, None, None


# NOTE: one node instead of log_softmax, nll and the reduction (forward + backward on (128, 10):
# 226 -> 128 us). Its gradient ``(softmax(x) - onehot) * g`` is the node CrossEntropyGrad,
# computed from forward's log-probabilities; that node's own backward is written with tensor ops,
# so every order of derivative stays exact.
class CrossEntropy(Function):
    """``nll_loss(log_softmax(x), index)`` reduced, for unweighted targets. ``kept`` is None
    when every target is known to count, else their 0/1 mask (``index`` is -1 where it is 0):
    a GPU cannot tell which without a sync, so it always passes the mask."""

    @staticmethod
    def forward(ctx, x, index, kept, reduction):
        xp, a = x.xp, x._data
        axis = 0 if a.ndim == 1 else 1
        logp = a - a.max(axis=axis, keepdims=True)
        logp -= xp.log(xp.exp(logp).sum(axis=axis, keepdims=True))
        i = index._data
        safe = i if kept is None else xp.maximum(i, 0)
        nll = -xp.take_along_axis(logp, safe.reshape(_class_axis_shape(i.shape, axis)), axis)
        nll = nll.reshape(i.shape)
        ctx.save_for_backward(x, index, kept)
        ctx.logp, ctx.axis, ctx.reduction = logp, axis, reduction
        if kept is not None:  # (where, not a product: an ignored target is 0 even at -inf)
            nll = xp.where(i >= 0, nll, 0)
        if reduction == "none":
            return make(nll, x.device)
        if reduction == "sum":
            return make(nll.sum(), x.device)
        return make(nll.mean() if kept is None else nll.sum() / kept._data.sum(), x.device)

    @staticmethod
    def backward(ctx, g):
        x, index, kept = ctx.saved_tensors
        if kept is None:
            scale = 1.0 / index._data.size if ctx.reduction == "mean" else 1.0
        elif ctx.reduction == "mean":  # per-target scales, 0 where ignored, as PyTorch's even
            k = kept._data  # when all are (a count, so max(count, 1) only changes 0 / 0)
            scale = make(k / x.xp.maximum(k.sum(), 1), x.device)
        else:
            scale = kept
        return CrossEntropyGrad.apply(g, x, index, scale, ctx.logp, ctx.axis), None, None, None


CrossEntropy._node_name = "NllLossBackward0"  # PyTorch's last node of cross_entropy


class CrossEntropyGrad(Function):
    """``(softmax(x) - onehot(index)) * g * scale``, ``g`` per sample (or 0-d), from ``logp``
    (``log_softmax(x)``, already computed) on the forward pass. ``scale`` is a float, or a tensor
    of per-target scales (0 for an ignored target, whose index -1 matches no class)."""

    @staticmethod
    def forward(ctx, g, x, index, scale, logp, axis):
        xp, i = x.xp, index._data
        ctx.save_for_backward(g, x, index)
        ctx.scale, ctx.axis = scale, axis
        lay = _class_axis_shape(i.shape, axis)
        classes = xp.arange(logp.shape[axis]).reshape(
            [-1 if d == axis else 1 for d in range(logp.ndim)])
        out = xp.exp(logp)
        out -= i.reshape(lay) == classes
        if isinstance(scale, TensorBase):
            w = g._data * scale._data
        else:
            w = g._data * scale if scale != 1.0 else g._data
        out *= w.reshape(lay) if w.ndim else w
        return make(out, x.device)

    @staticmethod
    def backward(ctx, gg):
        g, x, index = ctx.saved_tensors
        scale, axis = ctx.scale, ctx.axis
        p = _red.softmax(x, axis)
        need_g, need_x = ctx.needs_input_grad[:2]
        grad_g = grad_x = None
        if need_g:  # sum over classes of gg * (p - onehot), per sample
            ones = make(x.xp.ones(index._data.shape, x._data.dtype), x.device)
            grad_g = ((gg * p).sum(axis) + NllLoss.apply(gg, index, ones)) * scale
        if need_x:  # the softmax Jacobian applied to u = gg * g * scale
            w = g * scale
            u = gg * (w.unsqueeze(axis) if w.dim() else w)
            grad_x = p * (u - (u * p).sum(axis, keepdim=True))
        return grad_g, grad_x, None, None, None, None


def _nll(input, target, weight, ignore_index: int):
    """Unreduced NLL after PyTorch's shape, dtype and range checks, and the weights that
    normalise its mean: ``w[target]`` per element (0 where ignored), or None for a plain mean."""
    index, coef, norm = _class_targets(input, target, weight, ignore_index)
    return NllLoss.apply(input, index, coef), norm


def _class_targets(input, target, weight, ignore_index: int):
    """PyTorch's shape, dtype and range checks of class-index targets, then ``(index, coef,
    norm)`` tensors: the targets as int64 with -1 where ignored, the per-element weight ``coef``
    (0 where ignored), and the mean's normaliser ``norm`` (None when it is the plain mean)."""
    check_same_device("nll_loss", input, target, weight, cpu_scalars=False)
    nd = input.dim()
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    ishape, tshape = list(input.shape), list(target.shape)
    if nd != 1 and (not tshape or ishape[0] != tshape[0]):
        got = tshape[0] if tshape else 1
        raise ValueError(f"Expected input batch_size ({ishape[0]}) to match target batch_size "
                         f"({got}).")
    if target.dtype is not int64 and target.dtype is not uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{legacy_name(target._data.dtype)}")
    if nd <= 2:
        if len(tshape) > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if nd == 1 and tshape:  # one unbatched sample may carry its target as shape (1,)
            if tshape[0] != 1:
                raise ValueError(f"For 1D input, 1D target must have size 1, but got target "
                                    f"size: {tshape[0]}")
            target = target.reshape(())
    elif nd == 4 and tshape[1:] != ishape[2:]:
        raise RuntimeError(f"size mismatch (got input: {ishape} , target: {tshape}")
    elif tshape[1:] != ishape[2:]:
        raise RuntimeError(f"Expected target size {ishape[:1] + ishape[2:]}, got {tshape}")
    n_classes = ishape[0 if nd == 1 else 1]
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or "
                           f"no classes but got weight tensor of shape: {list(weight.shape)}")
    xp, dev = input.xp, input.device
    t = target._data.astype(xp.int64, copy=False)
    kept = t != ignore_index
    index = xp.where(kept, t, -1)
    # As unsigned, negative targets are huge: one comparison finds both kinds of out-of-range.
    bad = kept & (t.astype(xp.uint64) >= n_classes)
    device_assert(bad.any(), lambda: IndexError(
        f"Target {int(t[bad].ravel()[0])} is out of bounds."))
    dt = input._data.dtype
    if weight is None:
        coef = kept.astype(dt)
        # (on a GPU, asking whether all are kept would sync: the general path is right anyway)
        norm = None if known_all(kept) else coef
    else:
        coef = norm = xp.where(kept, weight._data.astype(dt, copy=False)[xp.maximum(index, 0)], 0)
    return make(index, dev), make(coef, dev), None if norm is None else make(norm, dev)


@autocast_op
def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean"):
    """Negative log likelihood of class-index targets given log-probabilities (class dim 1).

    ``'mean'`` divides by the summed ``weight`` of the non-ignored targets.
    """
    reduction = _reduction(size_average, reduce, reduction)
    loss, norm = _nll(input, target, weight, ignore_index)
    return _reduce(loss, reduction, norm)


def _class_view(weight, input, class_dim: int):
    """``weight`` (shape ``(C,)``) shaped to broadcast along ``input``'s class dim."""
    return weight.reshape([-1 if i == class_dim else 1 for i in range(input.dim())])


@autocast_op
def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross entropy of logits (class dim 1) against class indices or class probabilities.

    A target shaped like the input holds probabilities; otherwise class indices, where
    ``ignore_index`` targets are skipped. ``label_smoothing`` mixes in the uniform distribution.
    """
    reduction = _reduction(size_average, reduce, reduction)
    class_dim = 0 if input.dim() == 1 else 1
    if tuple(input.shape) == tuple(target.shape):
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction,
                                    label_smoothing, class_dim)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    wrap_dim(class_dim, input.dim())  # (PyTorch's log_softmax refuses a 0-d input first)
    index, coef, norm = _class_targets(input, target, weight, ignore_index)
    if (weight is None and label_smoothing <= 0 and input._data.size
            and input._data.dtype.kind in "fV"):
        return CrossEntropy.apply(input, index, norm, reduction)
    logp = log_softmax(input, class_dim)
    loss = NllLoss.apply(logp, index, coef)
    loss_shape = loss.shape
    loss = _reduce(loss, reduction, norm)
    if label_smoothing <= 0:
        return loss
    # The smoothing term: minus the (weighted) sum of log-probabilities over classes, zero for
    # ignored targets, normalised like the NLL term.
    wlogp = logp if weight is None else logp * _class_view(weight, input, class_dim)
    smooth = _ew.where(target.reshape(loss_shape) != ignore_index, -wlogp.sum(class_dim), 0.0)
    n_classes = input.shape[class_dim]
    return loss * (1 - label_smoothing) + _reduce(smooth, reduction, norm) * (
        label_smoothing / n_classes)


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing,
                         class_dim):
    if target._data.dtype.kind not in "fV":
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {legacy_name(target._data.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    n_classes = input.shape[class_dim]
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                           f"{n_classes} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    if label_smoothing > 0:
        if label_smoothing > 1.0:
            raise RuntimeError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = log_softmax(input, class_dim) * target
    if weight is not None:
        prod = prod * _class_view(weight, input, class_dim)
    return _reduce(-prod.sum(class_dim), reduction)


# ---------------------------------------------------------------- binary losses
class BinaryCrossEntropy(Function):
    """Unreduced, weighted BCE with each log clamped to ``>= -100`` as PyTorch does."""

    @staticmethod
    def forward(ctx, x, t, w):
        xp, a, b = x.xp, x._data, t._data
        device_assert(~((a >= 0) & (a <= 1)).all(), lambda: RuntimeError(
            "all elements of input should be between 0 and 1"))
        with warnings.catch_warnings():  # log(0) = -inf is expected here and clamped
            warnings.simplefilter("ignore", RuntimeWarning)
            log_x = xp.maximum(xp.log(a), -100)
            log_1mx = xp.maximum(xp.log1p(-a), -100)
        out = -(b * log_x + (1 - b) * log_1mx)
        if w is not None:
            out = out * w._data
        ctx.save_for_backward(x, t, w)
        return make(out.astype(a.dtype, copy=False), x.device)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        if w is not None:
            g = g * w
        gx = gt = None
        if ctx.needs_input_grad[0]:
            # NOTE: PyTorch's formula, finite at x = 0 or 1 where the composed one is nan.
            gx = g * (x - t) / ((1 - x) * x).clamp(min=1e-12)
        if ctx.needs_input_grad[1]:
            gt = g * ((-x).log1p() - x.log())
        return gx, gt, None


@autocast_op
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """Binary cross entropy of probabilities ``input`` in [0, 1]; ``weight`` broadcasts."""
    reduction = _reduction(size_average, reduce, reduction)
    check_same_device("binary_cross_entropy", input, target, weight)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input "
                         f"size ({input.size()}) is deprecated. Please ensure they have the same "
                         "size.")
    if target._data.dtype != input._data.dtype:
        raise RuntimeError(f"Found dtype {legacy_name(target._data.dtype)} but expected "
                           f"{legacy_name(input._data.dtype)}")
    if weight is not None:
        weight = weight.expand(input.shape)
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


@autocast_op
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean", pos_weight=None):
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably from logits.

    ``pos_weight`` (broadcast against the target) scales the positive term of each class.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    log_sig = logsigmoid(input)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input - log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- distribution losses
def _check_reduction_name(reduction: str) -> None:
    """The check of the losses PyTorch writes in Python, with their own message."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not valid")


@autocast_op
def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False):
    """Kullback-Leibler divergence ``target * (log(target) - input)`` of log-probabilities
    ``input``; ``log_target`` takes ``target`` as log-probabilities too.

    ``reduction='batchmean'`` divides the sum by the batch size (the KL divergence);
    ``'mean'`` divides by the number of elements and warns, as PyTorch does.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    elif reduction != "batchmean":
        _reduction(None, None, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy(t, t): 0 where t == 0 (log of 1 there keeps the gradient finite).
        loss = target * _ew.where(target == 0, 1.0, target).log() - target * input
    if reduction != "batchmean":
        return _reduce(loss, reduction)
    total = loss.sum()
    return total / input.shape[0] if input.dim() else total


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@autocast_op
def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    """Poisson negative log likelihood: ``exp(input) - target * input`` (``log_input``), else
    ``input - target * log(input + eps)``; ``full`` adds Stirling's term where ``target > 1``."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        # Stirling's approximation of log(target!), evaluated at a safe value where masked out.
        safe = _ew.where(target > 1, target, 1.0)
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + _ew.where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


@autocast_op
def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean"):
    """Gaussian negative log likelihood ``0.5 * (log(var) + (input - target)**2 / var)``.

    ``var`` is a number, input-shaped, or input-shaped with one dimension of size 1 (or the last
    one missing), and is clamped below at ``eps`` for stability (the gradient passes unclamped,
    as in PyTorch); ``full`` adds ``0.5 * log(2 * pi)``.
    """
    if not isinstance(var, TensorBase):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.new_full(input.shape, float(var))
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    ishape, vshape = tuple(input.shape), tuple(var.shape)
    if vshape != ishape:
        if ishape[:-1] == vshape:  # one variance per sample: a homoscedastic last dim
            var = var.unsqueeze(-1)
        elif not (len(ishape) == len(vshape)
                  and sum(v for i, v in zip(ishape, vshape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    _check_reduction_name(reduction)
    var = ClampMinValue.apply(var, eps)
    d = input - target
    loss = (var.log() + d * d / var) * 0.5
    if full:
        loss = loss + _HALF_LOG_2PI
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- margin losses
@autocast_op
def margin_ranking_loss(input1, input2, target, margin: float = 0, size_average=None,
                        reduce=None, reduction: str = "mean"):
    """``max(0, -target * (input1 - input2) + margin)``, targets in {1, -1}."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


@autocast_op
def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = _reduction(size_average, reduce, reduction)
    beyond = _ew.where(target != 1, (margin - input).clamp(min=0), 0.0)
    return _reduce(beyond + _ew.where(target != -1, input, 0.0), reduction)


@autocast_op
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Logistic loss ``log(1 + exp(-target * input))``, targets in {1, -1}."""
    reduction = _reduction(size_average, reduce, reduction)
    # softplus, not log1p(exp(z)): finite where exp would overflow.
    return _reduce(Softplus.apply(-input * target, 1.0, 20.0), reduction)


_COSINE_EPS = 1e-12  # PyTorch's constant inside cosine_embedding_loss's norms


@autocast_op
def cosine_embedding_loss(input1, input2, target, margin: float = 0, size_average=None,
                          reduce=None, reduction: str = "mean"):
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where -1."""
    reduction = _reduction(size_average, reduce, reduction)
    tdim = target.dim()
    if tdim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.dim() != tdim + 1 or input2.dim() != tdim + 1:
        raise RuntimeError(f"{tdim}D target tensor expects {tdim + 1}D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}.")
    dot = (input1 * input2).sum(tdim)
    sq1 = (input1 * input1).sum(tdim) + _COSINE_EPS
    sq2 = (input2 * input2).sum(tdim) + _COSINE_EPS
    cos = dot / (sq1 * sq2).sqrt()
    loss = (_ew.where(target == 1, 1 - cos, 0.0)
            + _ew.where(target == -1, (cos - margin).clamp(min=0), 0.0))
    return _reduce(loss, reduction)


def _check_long(target) -> None:
    if target.dtype is not int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{legacy_name(target._data.dtype)}")


def _frames(input) -> tuple:
    """``(nframe, dim)`` of a margin loss's input: a vector or a matrix (empty batch allowed)."""
    nd = input.dim()
    if not (nd == 0 or (nd == 1 and input.shape[0]) or (nd == 2 and input.shape[1])):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")
    return (input.shape[0] if nd == 2 else 1), (input.shape[-1] if nd else 1)


@autocast_op
def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,
                      size_average=None, reduce=None, reduction: str = "mean"):
    """Multi-class hinge loss: ``sum_{i != y} max(0, margin - x[y] + x[i]) ** p / C`` per
    sample, each term scaled by ``weight[y]``; ``p`` is 1 or 2."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    check_same_device("multi_margin_loss", input, target, weight, cpu_scalars=False)
    nframe, dim = _frames(input)
    if target.dim() > 1 or target.numel() != nframe:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to "
                           f"the number of input samples (batch size). Expected target size "
                           f"[{nframe}], but got {list(target.shape)}. Input has shape "
                           f"{list(input.shape)}.")
    if weight is not None and weight.numel() != dim:
        raise RuntimeError(f"inconsistent weight size, expected {dim} but got "
                           f"{list(weight.shape)}")
    _check_long(target)
    xp, t = input.xp, target._data.reshape(nframe)
    if bool(((t < 0) | (t >= dim)).any()):
        raise RuntimeError("target out of range")
    x = input.reshape(nframe, dim)
    index = make(t.reshape(nframe, 1), input.device)
    z = (x - x.gather(1, index) + margin).relu()  # relu: no gradient at z == 0, as in PyTorch
    h = z if p == 1 else z * z
    if weight is not None:
        h = h * weight.index_select(0, index.reshape(-1)).unsqueeze(1)
    others = make(xp.arange(dim) != t.reshape(nframe, 1), input.device)
    loss = _ew.where(others, h, 0.0).sum(1) / dim
    return _reduce(loss if input.dim() == 2 else loss.reshape(target.shape), reduction)


@autocast_op
def multilabel_margin_loss(input, target, size_average=None, reduce=None,
                           reduction: str = "mean"):
    """Multi-label hinge loss: for each target class ``j`` (the leading non-negative entries of
    ``target``) and each non-target ``i``, ``max(0, 1 - (x[j] - x[i]))``, summed over ``C``."""
    reduction = _reduction(size_average, reduce, reduction)
    check_same_device("multilabel_margin_loss", input, target, cpu_scalars=False)
    nframe, dim = _frames(input)
    bad_shape = (target.dim() != 2 or tuple(target.shape) != (nframe, dim)) if input.dim() == 2 \
        else (target.dim() > 1 or target.numel() != dim)
    if bad_shape:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    _check_long(target)
    xp, dev = input.xp, input.device
    t = target._data.reshape(nframe, dim)
    if bool(((t < -1) | (t >= dim)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    # The targets of a row are its entries before the first -1; only the first k columns can
    # hold any, so the pairwise terms are (nframe, k, dim), not (nframe, dim, dim).
    valid = xp.cumprod(t >= 0, axis=1).astype(bool)
    k = int(valid.sum(1).max()) if nframe else 0
    valid, safe = valid[:, :k], xp.where(valid, t, 0)[:, :k]
    is_target = xp.zeros((nframe, dim), dtype=bool)
    rows = xp.broadcast_to(xp.arange(nframe)[:, None], safe.shape)
    is_target[rows[valid], safe[valid]] = True
    x = input.reshape(nframe, dim)
    xt = x.gather(1, make(safe, dev))
    z = (1 - xt.unsqueeze(2) + x.unsqueeze(1)).relu()
    pairs = make(valid[:, :, None] & ~is_target[:, None, :], dev)
    loss = _ew.where(pairs, z, 0.0).sum((1, 2)) / dim
    return _reduce(loss if input.dim() == 2 else loss.reshape(()), reduction)


@autocast_op
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    """Per-class logistic loss against 0/1 targets, averaged over the classes (last dim);
    ``weight`` broadcasts against the input."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    _check_reduction_name(reduction)
    return _reduce(loss, reduction)


def _triplet(anchor, positive, negative, distance, margin, swap, reduction):
    """The triplet loss ``max(0, margin + d(a, p) - d(a, n))`` after PyTorch's checks."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not a == p == n:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a}D, positive {p}D, and "
                           f"negative {n}D inputs")
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = _ew.minimum(d_neg, distance(positive, negative))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), reduction)


@autocast_op
def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean"):
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the ``p``-norm pairwise distance;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = _reduction(size_average, reduce, reduction)
    return _triplet(anchor, positive, negative,
                    lambda x1, x2: pairwise_distance(x1, x2, p, eps), margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean"):
    """:func:`triplet_margin_loss` with any ``distance_function(x1, x2)`` (default
    :func:`pairwise_distance`)."""
    reduction = _reduction(None, None, reduction)
    return _triplet(anchor, positive, negative, distance_function or pairwise_distance, margin,
                    swap, reduction)


# ---------------------------------------------------------------- CTC
def _ctc_lengths(name: str, lengths, batch: int, xp):
    """``input_lengths`` / ``target_lengths`` (a tensor or a sequence of ints) as an int64 array
    of one value per sample."""
    if isinstance(lengths, TensorBase):
        if lengths._data.dtype.kind not in "iu":
            raise RuntimeError(f"{name} must be integral")
        arr = lengths._data.astype(xp.int64).reshape(-1)
    else:
        arr = xp.asarray(lengths, dtype=xp.int64).reshape(-1)
    if arr.shape[0] != batch:
        raise RuntimeError(f"{name} must be of size batch_size")
    if arr.size and int(arr.min()) < 0:
        raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                           f"{int(arr.min())} (while checking arguments for "
                           "ctc_loss_allocate_outputs)")
    return arr


def _ctc_extended(xp, targets, target_lengths, batch: int, blank: int, concatenated: bool):
    """The blank-interleaved label sequences ``(N, 2 S + 1)``: blank, l1, blank, l2, ..., blank
    (padded with blanks), from padded ``(N, S)`` or ``concatenated`` 1-d targets."""
    t = targets._data.astype(xp.int64)
    max_len = int(target_lengths.max()) if batch else 0
    where = "for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)"
    if concatenated:
        total = int(target_lengths.sum())
        if t.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got "
                               f"size {t.shape[0]} {where}")
        # Row n of the padded layout reads the concatenation from offset[n] onwards.
        offsets = xp.cumsum(target_lengths) - target_lengths
        cols = xp.arange(max_len)
        padded = t[xp.minimum(offsets[:, None] + cols, max(total - 1, 0))] if total else \
            xp.zeros((batch, max_len), xp.int64)
    else:
        padded = t.reshape(batch, -1)
        if padded.shape[1] < max_len:
            raise RuntimeError(f"Expected tensor to have size at least {max_len} at dimension 1, "
                               f"but got size {padded.shape[1]} {where}")
        padded = padded[:, :max_len]
    in_target = xp.arange(max_len) < target_lengths[:, None]
    ext = xp.full((batch, 2 * max_len + 1), blank, dtype=xp.int64)
    ext[:, 1::2] = xp.where(in_target, padded, blank)
    return ext


class CtcLoss(Function):
    """Per-sample CTC negative log likelihood ``-log p(target | log_probs)``.

    NOTE: a primitive because the loss is a dynamic programme over time: the forward (alpha)
    and backward (beta) recursions run on arrays, vectorised over the batch and the label
    positions, with one loop over time. The gradient is PyTorch's, ``exp(log_probs) - posterior
    occupation`` (the gradient with respect to the logits when ``log_probs`` is a log_softmax;
    through a log_softmax it equals the exact one), and, as in PyTorch, it is not itself
    differentiable.
    """

    @staticmethod
    def forward(ctx, log_probs, ext, input_lengths, target_lengths, zero_infinity):
        xp, lp = log_probs.xp, log_probs._data
        n_steps, batch, _ = lp.shape
        width = ext.shape[1]
        neg_inf = lp.dtype.type(-xp.inf)
        # lp_ext[t, n, s]: the log-probability of the s-th extended label at time t.
        lp_ext = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (n_steps,) + ext.shape), 2)
        # A skip from s - 2 to s is allowed onto a label differing from the one two back.
        skip = xp.zeros(ext.shape, dtype=bool)
        skip[:, 2:] = (ext[:, 2:] != ext[:, :-2]) & (xp.arange(2, width) % 2 == 1)
        # alpha behind two -inf columns: the moves from s - 1 and s - 2 are plain slices, and
        # each step is four ufunc calls writing in place.
        padded = xp.full((n_steps, batch, width + 2), neg_inf, dtype=lp.dtype)
        alpha = padded[:, :, 2:]
        if n_steps:
            alpha[0, :, 0] = lp_ext[0, :, 0]
            if width > 1:
                alpha[0, :, 1] = xp.where(target_lengths > 0, lp_ext[0, :, 1], neg_inf)
        skip_penalty = xp.where(skip, 0, neg_inf).astype(lp.dtype)
        for t in range(1, n_steps):
            prev, out = padded[t - 1], alpha[t]
            xp.logaddexp(prev[:, 2:], prev[:, 1:-1], out=out)
            xp.logaddexp(out, prev[:, :-2] + skip_penalty, out=out)
            out += lp_ext[t]
        nll = -_ctc_final(xp, alpha, input_lengths, target_lengths, neg_inf)
        ctx.save_for_backward(log_probs)
        ctx.arrays = (ext, lp_ext, skip, alpha, nll, input_lengths, target_lengths)
        ctx.zero_infinity = zero_infinity
        if zero_infinity:
            nll = xp.where(xp.isinf(nll), 0, nll).astype(lp.dtype)
        return make(nll, log_probs.device)

    @staticmethod
    def backward(ctx, g):
        (log_probs,) = ctx.saved_tensors
        ext, lp_ext, skip, alpha, nll, input_lengths, target_lengths = ctx.arrays
        xp, lp = log_probs.xp, log_probs._data
        n_steps, batch, n_classes = lp.shape
        width = ext.shape[1]
        neg_inf = lp.dtype.type(-xp.inf)
        last = xp.arange(n_steps)[:, None] == (input_lengths - 1)[None, :]  # (T, N)
        ends = xp.arange(width)[None, :] >= (2 * target_lengths)[:, None] - 1
        ends &= xp.arange(width)[None, :] <= (2 * target_lengths)[:, None]
        # beta's skip from s + 2 to s mirrors alpha's: allowed where s + 2 may skip back.
        skip_penalty = xp.full(ext.shape, neg_inf, dtype=lp.dtype)
        skip_penalty[:, :-2] = xp.where(skip[:, 2:], 0, neg_inf)
        # beta before two -inf columns and an -inf step after the last (see forward).
        padded = xp.full((n_steps + 1, batch, width + 2), neg_inf, dtype=lp.dtype)
        beta = padded[:n_steps, :, :width]
        start = xp.where(ends, lp_ext, neg_inf)  # beta at each sample's last step
        for t in range(n_steps - 1, -1, -1):
            nxt, out = padded[t + 1], beta[t]
            xp.logaddexp(nxt[:, :width], nxt[:, 1:-1], out=out)
            xp.logaddexp(out, nxt[:, 2:] + skip_penalty, out=out)
            out += lp_ext[t]
            xp.copyto(out, start[t], where=last[t][:, None])
        # Posterior occupation of each extended label (summed into its class below); an
        # impossible target (nll = inf) gives inf - inf = nan here, as in PyTorch.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            occupancy = xp.exp(alpha + beta - lp_ext + nll[None, :, None])
        occupancy = xp.nan_to_num(occupancy, nan=0.0) if ctx.zero_infinity else occupancy
        onehot = (ext[:, :, None] == xp.arange(n_classes)).astype(lp.dtype)  # (N, 2S+1, C)
        gamma = xp.matmul(occupancy.transpose(1, 0, 2), onehot).transpose(1, 0, 2)
        grad = xp.exp(lp) - gamma
        active = xp.arange(n_steps)[:, None] < input_lengths[None, :]
        if ctx.zero_infinity:
            active &= ~xp.isinf(nll)[None, :]
        grad = xp.where(active[:, :, None], grad * g._data[None, :, None], 0)
        grad = make(grad.astype(lp.dtype, copy=False), log_probs.device)
        if grad_mode.state.enabled:  # create_graph: differentiating this gradient must raise
            grad = _DelayedError.apply(grad, log_probs)
        return grad, None, None, None, None


def _ctc_final(xp, alpha, input_lengths, target_lengths, neg_inf):
    """``log p``: the log-sum of alpha at the last two positions at each sample's last step."""
    batch = alpha.shape[1]
    # No input steps: only the empty target is possible (log p = 0).
    empty = xp.where(target_lengths > 0, neg_inf, 0).astype(alpha.dtype)
    if not alpha.shape[0]:
        return empty
    rows = xp.arange(batch)
    at_end = alpha[xp.maximum(input_lengths - 1, 0), rows]  # (N, 2S+1)
    last = at_end[rows, 2 * target_lengths]
    before = xp.where(target_lengths > 0, at_end[rows, xp.maximum(2 * target_lengths - 1, 0)],
                      neg_inf)
    return xp.where(input_lengths > 0, xp.logaddexp(last, before), empty)


@autocast_op
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False):
    """Connectionist temporal classification loss of ``log_probs`` (``(T, N, C)``, or ``(T, C)``
    unbatched) against unaligned ``targets`` (padded ``(N, S)`` or concatenated 1-d).

    ``'mean'`` divides each sample's loss by its target length, then averages over the batch;
    ``zero_infinity`` replaces infinite losses (impossible alignments) and their gradients
    with 0.
    """
    reduction = _reduction(None, None, reduction)
    unbatched = log_probs.dim() == 2
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.dim()}-dimensional "
                           "tensor for argument #1 'log_probs' (while checking arguments for "
                           "ctc_loss_allocate_outputs)")
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    n_steps, batch, n_classes = lp.shape
    if not 0 <= blank < n_classes:
        raise RuntimeError("blank must be in label range")
    xp = lp.xp
    # PyTorch takes the targets and lengths from any device (its kernels read the lengths on
    # the host), so they are moved here, explicitly.
    targets, input_lengths, target_lengths = (
        v.to(lp.device) if isinstance(v, TensorBase) else v
        for v in (targets, input_lengths, target_lengths))
    in_lens = _ctc_lengths("input_lengths", input_lengths, batch, xp)
    tg_lens = _ctc_lengths("target_lengths", target_lengths, batch, xp)
    if in_lens.size and int(in_lens.max()) > n_steps:
        raise RuntimeError(f"Expected input_lengths to have value at most {n_steps}, but got "
                           f"value {int(in_lens.max())} (while checking arguments for "
                           "ctc_loss_allocate_outputs)")
    ext = _ctc_extended(xp, targets, tg_lens, batch, blank, targets.dim() == 1 and not unbatched)
    nll = CtcLoss.apply(lp, ext, in_lens, tg_lens, zero_infinity)
    if unbatched:
        nll = nll.reshape(())
    if reduction == "mean":
        lens = make(xp.maximum(tg_lens, 1).astype(lp._data.dtype), lp.device)
        return (nll / (lens.reshape(()) if unbatched else lens)).mean()
    return _reduce(nll, reduction)
