"""``nn.functional``: the math behind the layers — linear maps, activations, dropout, losses.

Activations whose composition from tensor ops would be slow or unstable are ``Function``
primitives here: forward computes on the storage array in one pass, backward is written with
tensor ops so higher-order gradients work. Every loss reduces through :func:`_reduce`.
"""
from __future__ import annotations

import math
import warnings

from .. import backend
from .._tensor_base import make
from ..autograd.function import Function, apply_inplace
from ..dtypes import int64, legacy_name, uint8
from ..ops import elementwise as _ew
from ..ops import linalg as _la
from ..ops import reduce as _red
from ..random import generator_for

__all__ = ["bilinear", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "cross_entropy", "dropout", "elu", "elu_", "gelu", "hardtanh", "hardtanh_",
           "huber_loss", "l1_loss", "leaky_relu", "leaky_relu_", "linear", "log_softmax",
           "logsigmoid", "mse_loss", "nll_loss", "relu", "relu6", "relu_", "sigmoid", "silu",
           "smooth_l1_loss", "softmax", "softplus", "tanh"]


# ============================================================================ linear maps
class Linear(Function):
    """``x @ w.T + b`` for a 2-D ``x`` and already-checked operands (``b`` may be None).

    One BLAS call reads the weight transposed as a view, and the weight's gradient is computed
    as ``g.T @ x``, which comes out in the weight's own ``(out, in)`` layout: a gradient of
    ``w.t()`` would be a transposed view, which the engine must copy before storing in ``.grad``.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        need_x, need_w, _ = ctx.needs_input_grad
        if need_x or need_w:
            ctx.save_for_backward(x if need_w else None, w if need_x else None)
        out = x._data @ w._data.T
        if b is not None:
            out += b._data
        return make(out, x.device)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        return (g.mm(w) if need_x else None, g.t().mm(x) if need_w else None,
                g.sum(0) if need_b else None)


class _LinearNoBias(Linear):
    pass


# PyTorch's node names for linear: the addmm or mm that its 2-D case dispatches to.
Linear._node_name = "AddmmBackward0"
_LinearNoBias._node_name = "MmBackward0"


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, one fused op; N-D inputs are folded into one 2-D product.

    Shape: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)``, output ``(*, out)``.
    """
    x, w = input._data, weight._data
    if x.ndim == 0 or w.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{x.ndim}D and {w.ndim}D")
    if w.ndim != 2:  # a 1-D weight gives a dot product per row
        out = _la.matmul(input, weight.t())
        return out if bias is None else out + bias
    n_in = x.shape[-1]
    n_out, w_in = w.shape
    if x.ndim != 2:
        lead = x.shape[:-1]
        rows = math.prod(lead)
        if n_in != w_in:  # PyTorch reports the folded 2-D product
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{n_in} and "
                               f"{w_in}x{n_out})")
        return linear(input.reshape(rows, n_in), weight, bias).reshape(*lead, n_out)
    dt = x.dtype
    if (n_in == w_in and w.dtype == dt and dt.kind in "fc" and input.device is weight.device
            and (bias is None or (bias._data.shape == (n_out,) and bias._data.dtype == dt
                                  and bias.device is input.device))):
        return Linear.apply(input, weight, bias) if bias is not None else \
            _LinearNoBias.apply(input, weight, None)
    # Mixed dtypes or devices, integer weights, a broadcast bias: mm / addmm check and report.
    return input.mm(weight.t()) if bias is None else _la.addmm(bias, input, weight.t())


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = input1 @ weight[o] @ input2 + bias[o]``.

    Shape: input1 ``(*, in1)``, input2 ``(*, in2)``, weight ``(out, in1, in2)``, output
    ``(*, out)``.
    """
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError("bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    n_out, n1, n2 = weight.shape
    lead = tuple(input1.shape[:-1])
    rows = math.prod(lead)
    # (rows, in1) @ (in1, out*in2), then contract in2 against input2: two BLAS-friendly passes.
    w = weight.permute(1, 0, 2).reshape(n1, n_out * n2)
    t = input1.reshape(rows, n1).mm(w).reshape(rows, n_out, n2)
    out = (t * input2.reshape(rows, 1, n2)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, n_out)


# ============================================================================ activations
def relu(input, inplace: bool = False):
    """``max(0, x)`` elementwise."""
    return relu_(input) if inplace else _ew.relu(input)


def relu_(input):
    """In-place :func:`relu`."""
    return input.relu_()


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, slope):
        a = x._data
        ctx.save_for_backward(x)
        ctx.slope = slope
        return make(x.xp.where(a > 0, a, a * slope), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _ew.where(x > 0, g, g * ctx.slope), None


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    if inplace:
        return leaky_relu_(input, negative_slope)
    return LeakyRelu.apply(input, negative_slope)


def leaky_relu_(input, negative_slope: float = 0.01):
    """In-place :func:`leaky_relu`."""
    return apply_inplace(input, lambda t: leaky_relu(t, negative_slope))


class Hardtanh(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return make(x.xp.clip(x._data, lo, hi), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        # NOTE: unlike clamp, PyTorch's hardtanh passes no gradient at the bounds themselves.
        return _ew.where((x > lo) & (x < hi), g, 0.0), None, None


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``x`` clamped to ``[min_val, max_val]``."""
    if inplace:
        return hardtanh_(input, min_val, max_val)
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return Hardtanh.apply(input, min_val, max_val)


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0):
    """In-place :func:`hardtanh`."""
    return apply_inplace(input, lambda t: hardtanh(t, min_val, max_val))


def relu6(input, inplace: bool = False):
    """``min(max(0, x), 6)`` elementwise."""
    return hardtanh(input, 0.0, 6.0, inplace)


class Elu(Function):
    @staticmethod
    def forward(ctx, x, alpha):
        a = x._data
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        # expm1 sees only non-positive values: the discarded branch must not overflow either.
        return make(x.xp.where(a > 0, a, alpha * x.xp.expm1(x.xp.minimum(a, 0))), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _ew.where(x > 0, g, g * (x.clamp(max=0).exp() * ctx.alpha)), None


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    if inplace:
        return elu_(input, alpha)
    return Elu.apply(input, alpha)


def elu_(input, alpha: float = 1.0):
    """In-place :func:`elu`."""
    return apply_inplace(input, lambda t: elu(t, alpha))


def sigmoid(input):
    """``1 / (1 + exp(-x))`` elementwise."""
    return input.sigmoid()


def tanh(input):
    """``tanh(x)`` elementwise."""
    return input.tanh()


class LogSigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        xp, a = x.xp, x._data
        ctx.save_for_backward(x)
        # NOTE: log(sigmoid(x)) underflows to -inf for x << 0; this form is exact everywhere.
        return make(xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a))), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (-x).sigmoid()


def logsigmoid(input):
    """``log(sigmoid(x))``, computed stably."""
    return LogSigmoid.apply(input)


class Silu(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return make(x._data * _ew._sigmoid(x.xp, x._data), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return g * (s * (1 + x * (1 - s)))


def silu(input, inplace: bool = False):
    """``x * sigmoid(x)`` elementwise."""
    if inplace:
        return apply_inplace(input, Silu.apply)
    return Silu.apply(input)


_SQRT1_2 = 1 / math.sqrt(2)
_SQRT_2_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_KAPPA = 0.044715


class Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate):
        xp, a = x.xp, x._data
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            out = 0.5 * a * (1 + xp.tanh(_SQRT_2_PI * (a + _KAPPA * a * a * a)))
        else:
            out = 0.5 * a * (1 + backend.erf(xp, a * _SQRT1_2))
        return make(out.astype(a.dtype, copy=False), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            x_sq = x * x
            th = ((x + x_sq * x * _KAPPA) * _SQRT_2_PI).tanh()
            d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * (_SQRT_2_PI * (1 + 3 * _KAPPA * x_sq))
        else:
            cdf = 0.5 * (1 + (x * _SQRT1_2).erf())
            d = cdf + x * (x * x * -0.5).exp() * _INV_SQRT_2PI
        return g * d, None


def gelu(input, approximate: str = "none"):
    """``x * Phi(x)``; ``approximate='tanh'`` uses ``0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))``."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(input, approximate)


class Softplus(Function):
    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp, a = x.xp, x._data
        ctx.save_for_backward(x)
        ctx.args = (beta, threshold)
        z = a * beta
        # max(z, 0) + log1p(exp(-|z|)) is log1p(exp(z)) without overflow.
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
        return make(xp.where(z > threshold, a, soft).astype(a.dtype, copy=False), x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.args
        z = x * beta
        return _ew.where(z > threshold, g, g * z.sigmoid()), None, None


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta * x)) / beta``; ``x`` itself where ``beta * x > threshold``."""
    return Softplus.apply(input, beta, threshold)


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    """``exp(x) / exp(x).sum(dim)``; ``dtype`` casts the input first."""
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _red.softmax(input, dim)


def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    """``log(softmax(x, dim))`` computed stably; ``dtype`` casts the input first."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _red.log_softmax(input, dim)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask comes from the device's default generator (``manual_seed`` reproduces it); with
    ``training=False`` or ``p=0`` the input is returned as is.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    xp, a = input.xp, input._data
    if p == 1:
        mask = xp.zeros(a.shape, dtype=a.dtype)
    else:
        rng_dtype = a.dtype if a.dtype == xp.float64 else xp.float32
        keep = generator_for(input.device).rng.random(a.shape, dtype=rng_dtype) < 1 - p
        mask = keep.astype(a.dtype) * a.dtype.type(1 / (1 - p))
    mask = make(mask, input.device)
    return input.mul_(mask) if inplace else input * mask


# ============================================================================ losses
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
