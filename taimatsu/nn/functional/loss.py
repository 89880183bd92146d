"""Losses. Every loss reduces through :func:`_reduce`; fused nodes where one node beats a
composition (regression and class-index losses)."""
from __future__ import annotations

import warnings

from ..._tensor_base import make
from ...autograd.function import Function
from ...dtypes import int64, legacy_name, uint8
from ...ops import elementwise as _ew
from ...ops import reduce as _red
from .activation import log_softmax, logsigmoid

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss", "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss"]


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


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
             weight=None):
    """Mean squared error; ``weight`` (input-shaped) gives a weighted mean ``sum(w*l)/sum(w)``."""
    a, b = input._data, target._data
    if (weight is None and size_average is None and reduce is None and a.shape == b.shape
            and a.size and a.dtype == b.dtype and a.dtype.kind == "f" and input.device is target.device
            and reduction in ("sum", "mean", "none")):
        return MseLoss.apply(input, target, reduction)
    # Broadcasting, mixed dtypes, empty inputs, weights, legacy arguments: composed ops.
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    _check_loss_weight(weight, input)
    d = input - target
    loss = d * d
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, weight)


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
    """``nll_loss(log_softmax(x), index)`` reduced, for unweighted targets that are all kept."""

    @staticmethod
    def forward(ctx, x, index, reduction):
        xp, a = x.xp, x._data
        axis = 0 if a.ndim == 1 else 1
        logp = a - a.max(axis=axis, keepdims=True)
        logp -= xp.log(xp.exp(logp).sum(axis=axis, keepdims=True))
        i = index._data
        nll = -xp.take_along_axis(logp, i.reshape(_class_axis_shape(i.shape, axis)), axis)
        nll = nll.reshape(i.shape)
        ctx.save_for_backward(x, index)
        ctx.logp, ctx.axis, ctx.reduction = logp, axis, reduction
        if reduction == "none":
            return make(nll, x.device)
        return make(nll.sum() if reduction == "sum" else nll.mean(), x.device)

    @staticmethod
    def backward(ctx, g):
        x, index = ctx.saved_tensors
        scale = 1.0 / index._data.size if ctx.reduction == "mean" else 1.0
        return CrossEntropyGrad.apply(g, x, index, scale, ctx.logp, ctx.axis), None, None


CrossEntropy._node_name = "NllLossBackward0"  # PyTorch's last node of cross_entropy


class CrossEntropyGrad(Function):
    """``(softmax(x) - onehot(index)) * g * scale``, ``g`` per sample (or 0-d), from ``logp``
    (``log_softmax(x)``, already computed) on the forward pass."""

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
    nd = input.dim()
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    ishape, tshape = list(input.shape), list(target.shape)
    if nd != 1 and (not tshape or ishape[0] != tshape[0]):
        got = tshape[0] if tshape else 1
        raise ValueError(f"Expected input batch_size ({ishape[0]}) to match target batch_size "
                         f"({got}).")
    if nd <= 2:
        if len(tshape) > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if nd == 1 and tshape:  # one unbatched sample may carry its target as shape (1,)
            if tshape[0] != 1:
                raise RuntimeError(f"For 1D input, 1D target must have size 1, but got target "
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
    if target.dtype is not int64 and target.dtype is not uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{legacy_name(target._data.dtype)}")
    xp, dev = input.xp, input.device
    t = target._data.astype(xp.int64, copy=False)
    kept = t != ignore_index
    index = xp.where(kept, t, -1)
    # As unsigned, negative targets are huge: one comparison finds both kinds of out-of-range.
    bad = kept & (t.astype(xp.uint64) >= n_classes)
    if bad.any():
        raise IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds.")
    dt = input._data.dtype
    if weight is None:
        coef = kept.astype(dt)
        norm = None if kept.all() else coef
    else:
        coef = norm = xp.where(kept, weight._data.astype(dt, copy=False)[xp.maximum(index, 0)], 0)
    return make(index, dev), make(coef, dev), None if norm is None else make(norm, dev)


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
    index, coef, norm = _class_targets(input, target, weight, ignore_index)
    if (weight is None and norm is None and label_smoothing <= 0 and input._data.size
            and input._data.dtype.kind == "f"):
        return CrossEntropy.apply(input, index, reduction)
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
    if target._data.dtype.kind != "f":
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
        if not bool(((a >= 0) & (a <= 1)).all()):
            raise RuntimeError("all elements of input should be between 0 and 1")
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


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """Binary cross entropy of probabilities ``input`` in [0, 1]; ``weight`` broadcasts."""
    reduction = _reduction(size_average, reduce, reduction)
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
