"""Activations. Those whose composition from tensor ops would be slow or unstable are
``Function`` primitives: forward computes on the storage array in one pass, backward is written
with tensor ops so higher-order gradients work."""
from __future__ import annotations

import math
import warnings

from ... import backend
from ..._out import out_variant
from ..._tensor_base import make
from ...autograd import grad_mode
from ...autograd.function import Function, apply_inplace
from ...dtypes import keep_dtype, legacy_name
from ...ops import elementwise as _ew
from ...ops import reduce as _red
from ...ops import shape as _shape
from ...ops._autocast import autocast_op
from ...ops._util import wrap_dim
from ...random import generator_for

__all__ = ["celu", "celu_", "elu", "elu_", "gelu", "glu", "gumbel_softmax", "hardshrink", "hardsigmoid",
           "hardswish", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "log_softmax",
           "logsigmoid", "mish", "prelu", "relu", "relu6", "relu_", "rrelu", "rrelu_", "selu",
           "selu_", "sigmoid", "silu", "softmax", "softmin", "softplus", "softshrink", "softsign",
           "tanh", "tanhshrink", "threshold", "threshold_"]


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
        # (ml_dtypes' clip of bfloat16 returns float32; the clipped values are exact)
        return make(keep_dtype(x.xp.clip(x._data, lo, hi), x._data), x.device)

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


# NOTE: a fused node: forward keeps Phi(x) (or the tanh) so that the first-order backward is a
# few array passes (no second erf, no ten-op graph); under create_graph the backward is composed
# from tensor ops, so higher orders stay exact. Both paths are tested against each other.
class Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate):
        xp, a = x.xp, x._data
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            ctx.kept = xp.tanh(_SQRT_2_PI * (a + _KAPPA * a * a * a))
            out = 0.5 * a * (1 + ctx.kept)
        else:
            cdf = backend.erf(xp, a * _SQRT1_2)
            cdf += 1
            cdf *= 0.5
            ctx.kept = cdf
            out = a * cdf
        return make(out.astype(a.dtype, copy=False), x._device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if not grad_mode.state.enabled:  # first order: on arrays
            return make(_gelu_grad_array(x.xp, x._data, ctx.kept, ctx.approximate) * g._data,
                        g._device), None
        if ctx.approximate == "tanh":
            x_sq = x * x
            th = ((x + x_sq * x * _KAPPA) * _SQRT_2_PI).tanh()
            d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * (_SQRT_2_PI * (1 + 3 * _KAPPA * x_sq))
        else:
            cdf = 0.5 * (1 + (x * _SQRT1_2).erf())
            d = cdf + x * (x * x * -0.5).exp() * _INV_SQRT_2PI
        return g * d, None


def _gelu_grad_array(xp, a, kept, approximate):
    """d gelu / dx from forward's Phi(x) (or tanh), with in-place steps on few temporaries."""
    if approximate == "tanh":
        d = kept * kept
        d -= 1  # th^2 - 1
        d *= a * (-0.5 * _SQRT_2_PI) * (1 + 3 * _KAPPA * a * a)
        d += 0.5 * (1 + kept)
        return d
    d = xp.exp(a * a * -0.5)
    d *= a
    d *= _INV_SQRT_2PI
    d += kept
    return d


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


@autocast_op
def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta * x)) / beta``; ``x`` itself where ``beta * x > threshold``."""
    return Softplus.apply(input, beta, threshold)


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


@autocast_op
def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    """``exp(x) / exp(x).sum(dim)``; ``dtype`` casts the input first."""
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _red.softmax(input, dim)


@autocast_op
def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    """``log(softmax(x, dim))`` computed stably; ``dtype`` casts the input first."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _red.log_softmax(input, dim)


@autocast_op
def softmin(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    """``softmax(-x, dim)``: slices along ``dim`` sum to 1, smaller values weigh more."""
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), _stacklevel)
    if dtype is not None:
        input = input.to(dtype)
    return _red.softmax(-input, dim)


def threshold(input, threshold: float, value: float, inplace: bool = False):
    """``x`` where ``x > threshold``, ``value`` elsewhere."""
    if inplace:
        return threshold_(input, threshold, value)
    return _ew.where(input > threshold, input, value)


def threshold_(input, threshold: float, value: float):
    """In-place :func:`threshold`."""
    return apply_inplace(input, lambda t: _ew.where(t > threshold, t, value))


def _check_float(name: str, input) -> None:
    if input._data.dtype.kind not in "fcV":
        raise NotImplementedError(
            f'"{name}_cpu" not implemented for \'{legacy_name(input._data.dtype)}\'')


# SELU's constants (Klambauer et al. 2017), to PyTorch's precision.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace: bool = False):
    """``scale * elu(x, alpha)`` with SELU's fixed ``alpha`` and ``scale``."""
    if inplace:
        return selu_(input)
    _check_float("elu", input)
    return Elu.apply(input, _SELU_ALPHA) * _SELU_SCALE


def selu_(input):
    """In-place :func:`selu`."""
    return _composed_inplace(input, selu)


def celu(input, alpha: float = 1.0, inplace: bool = False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``, i.e. ``alpha * elu(x / alpha)``."""
    if inplace:
        return celu_(input, alpha)
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    _check_float("elu", input)
    return Elu.apply(input / alpha, 1.0) * alpha


def celu_(input, alpha: float = 1.0):
    """In-place :func:`celu`."""
    return _composed_inplace(input, lambda t: celu(t, alpha))


def _composed_inplace(input, fn):
    """``fn`` (a composition of ops) written into ``input``.

    NOTE: apply_inplace keeps the input's old values only for ``fn``'s last node; an inner
    node that saved the input (elu in selu, softplus in mish) would see it overwritten, so a
    recorded call composes on a copy.
    """
    return apply_inplace(input, lambda t: fn(t.clone() if t.requires_grad else t))


def _maybe_inplace(input, fn, inplace: bool):
    return _composed_inplace(input, fn) if inplace else fn(input)


def mish(input, inplace: bool = False):
    """``x * tanh(softplus(x))`` elementwise."""
    _check_float("mish", input)
    return _maybe_inplace(input, lambda t: t * Softplus.apply(t, 1.0, 20.0).tanh(), inplace)


def _hardsigmoid(t):
    # hardtanh's gradient is 0 at its bounds, as PyTorch's hardsigmoid's is at x = -3 and 3.
    return Hardtanh.apply(t + 3.0, 0.0, 6.0) / 6.0


def hardsigmoid(input, inplace: bool = False):
    """``relu6(x + 3) / 6`` elementwise."""
    _check_float("hardsigmoid", input)
    return _maybe_inplace(input, _hardsigmoid, inplace)


def hardswish(input, inplace: bool = False):
    """``x * relu6(x + 3) / 6`` elementwise."""
    _check_float("hardswish", input)
    return _maybe_inplace(input, lambda t: t * _hardsigmoid(t), inplace)


def _check_lambd(input, lambd: float) -> None:
    _check_float("softshrink_check", input)
    if lambd < 0:
        dt = input._data.dtype
        big = float(input.xp.finfo(dt).max)
        raise RuntimeError(f"lambda must be in range [0, {big:g}] for input dtype "
                           f"{legacy_name(dt)}, but found {lambd:g}")


@out_variant(dtype="exact")
def hardshrink(input, lambd: float = 0.5):
    """``x`` where ``|x| > lambd``, 0 elsewhere."""
    _check_float("hardshrink", input)
    return _ew.where(input.abs() > lambd, input, 0.0)


def softshrink(input, lambd: float = 0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    _check_lambd(input, lambd)
    # clamp passes the gradient at its bounds, so x - clamp has gradient 0 at |x| = lambd,
    # as PyTorch's softshrink does.
    return input - input.clamp(-lambd, lambd)


def tanhshrink(input):
    """``x - tanh(x)`` elementwise."""
    return input - input.tanh()


def softsign(input):
    """``x / (1 + |x|)`` elementwise."""
    return input / (input.abs() + 1)


def glu(input, dim: int = -1):
    """Gated linear unit: ``a * sigmoid(b)`` for the halves ``a, b`` of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _check_float("glu", input)
    d = wrap_dim(dim, input.dim())
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = _shape.chunk(input, 2, d)
    return a * b.sigmoid()


@autocast_op
def prelu(input, weight):
    """``x`` where positive, ``weight * x`` elsewhere; ``weight`` has one slope or one per
    channel (dim 1, or dim 0 of a 1-d input)."""
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.dim()}")
    n = weight.numel()
    if n != 1:
        if input.dim() == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.dim() >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        weight = weight.reshape([-1 if i == 1 else 1 for i in range(input.dim())])
    elif weight.dim() == 1 and input.dim() == 0:
        weight = weight.reshape(())
    return _ew.where(input > 0, input, input * weight)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False):
    """Randomized leaky ReLU: in training, each non-positive ``x`` gets a slope drawn uniformly
    from ``[lower, upper]`` (from taimatsu's generator); in eval the slope is their mean."""
    if inplace:
        return rrelu_(input, lower, upper, training)
    return _rrelu(input, lower, upper, training)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator=None):
    """In-place :func:`rrelu` (slopes drawn from ``generator``, default the device's)."""
    return apply_inplace(input, lambda t: _rrelu(t, lower, upper, training, generator))


def _rrelu(input, lower, upper, training, generator=None):
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    _check_float("rrelu_with_noise_out", input)
    if not training:
        return LeakyRelu.apply(input, (lower + upper) / 2)
    xp, a = input.xp, input._data
    rng_dtype = a.dtype if a.dtype == xp.float64 else xp.float32
    r = generator_for(input.device, generator).rng.random(a.shape, dtype=rng_dtype).astype(a.dtype)
    r = r * a.dtype.type(upper - lower) + a.dtype.type(lower)
    # PyTorch draws a slope for x == 0 too (its gradient there is the slope).
    noise = make(xp.where(a > 0, a.dtype.type(1), r), input.device)
    return input * noise


def gumbel_softmax(logits, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1):
    """A sample of the Gumbel-softmax (Concrete) distribution: ``softmax((logits + g) / tau)``
    with Gumbel noise ``g`` from taimatsu's generator; ``hard=True`` returns the one-hot
    argmax whose gradient is the soft sample's (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    xp, a = logits.xp, logits._data
    rng_dtype = a.dtype if a.dtype == xp.float64 else xp.float32
    exp_noise = generator_for(logits.device).rng.standard_exponential(a.shape, dtype=rng_dtype)
    gumbels = make(-xp.log(exp_noise).astype(a.dtype), logits.device)
    y_soft = _red.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    s = y_soft._data
    if s.ndim:  # one-hot of the first maximum along dim
        d = wrap_dim(dim, s.ndim)
        classes = xp.arange(s.shape[d]).reshape([-1 if i == d else 1 for i in range(s.ndim)])
        one_hot = xp.expand_dims(s.argmax(axis=d), d) == classes
    else:  # a 0-d softmax is 1
        one_hot = xp.ones((), dtype=bool)
    y_hard = make(one_hot.astype(s.dtype), logits.device)
    return y_hard - y_soft.detach() + y_soft
