"""Activations. Those whose composition from tensor ops would be slow or unstable are
``Function`` primitives: forward computes on the storage array in one pass, backward is written
with tensor ops so higher-order gradients work."""
from __future__ import annotations

import math
import warnings

from ... import backend
from ..._tensor_base import make
from ...autograd.function import Function, apply_inplace
from ...ops import elementwise as _ew
from ...ops import reduce as _red

__all__ = ["elu", "elu_", "gelu", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "log_softmax", "logsigmoid", "relu", "relu6", "relu_", "sigmoid", "silu", "softmax", "softplus", "tanh"]


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
