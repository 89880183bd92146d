"""Normalization: batch, instance, group, layer and RMS norms, local response norm, normalize.

The norms that standardise with the input's own statistics are one fused node each
(:class:`taimatsu.ops.normalization.NativeNorm`); batch norm with given running statistics is
a per-channel affine map, composed from differentiable ops.
"""
from __future__ import annotations

import math

from ...creation import arange
from ...dtypes import legacy_name
from ...ops import shape as _shape
from ...ops._autocast import autocast_op
from ...ops._util import check_same_device, wrap_dim
from ...ops.normalization import NativeBatchNorm, NativeGroupNorm, NativeLayerNorm, RmsNorm

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "local_response_norm",
           "normalize", "rms_norm"]


def _check_params(input, op: str, **params) -> None:
    """PyTorch's refusal of parameters or running stats on another device or of another dtype
    than the input."""
    check_same_device(op, input, *params.values())
    dt = input._data.dtype
    for t in params.values():
        if t is not None and t._data.dtype != dt:
            raise RuntimeError(f"mixed dtype (CPU): expect parameter to have scalar type of "
                               f"{legacy_name(dt)}")


def _channel_view(t, ndim: int):
    """A per-channel ``(C,)`` tensor viewed to broadcast along dim 1 of an ``ndim``-d input."""
    return t.reshape((-1,) + (1,) * (ndim - 2))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel (dim 1) by batch statistics in training, else by the running ones.

    In training, ``running_mean``/``running_var`` (if given) are updated in place with
    ``momentum``; the running variance is the unbiased one.
    """
    size = input.shape
    if training:
        n = size[0] if len(size) else 1
        if len(size) >= 2:
            n *= math.prod(size[2:])
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {size}")
    c = size[wrap_dim(1, len(size))]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be "
                         "None")
    if not training and running_mean is None:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    _check_params(input, "batch_norm", weight=weight, bias=bias, running_mean=running_mean,
                  running_var=running_var)
    nd = input.ndim
    if training:
        running = None if running_mean is None or input.numel() == 0 else (
            running_mean, running_var, momentum)
        axes = (0,) + tuple(range(2, nd))
        return NativeBatchNorm.apply(input, weight, bias, axes, (c,) + (1,) * (nd - 2), eps,
                                     True, running)
    # Given statistics make the norm a per-channel affine map: two passes over the input, and
    # differentiable in every argument (running stats included, should they require grad).
    scale = (running_var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return input * _channel_view(scale, nd) + _channel_view(shift, nd)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel of each sample over its spatial dims; with running stats
    given, their update averages the per-sample statistics."""
    size = input.shape
    if use_input_stats and math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{size}")
    nd = input.ndim
    n, c = size[0], size[wrap_dim(1, nd)]
    # PyTorch runs batch norm on an (1, N*C, ...) view with per-channel tensors repeated N
    # times, and reports sizes in those terms.
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {n * c} elements not {t.numel() * n}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when "
                               "use_input_stats is false")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    _check_params(input, "instance_norm", weight=weight, bias=bias, running_mean=running_mean,
                  running_var=running_var)
    running = None
    if running_mean is not None or running_var is not None:
        running = (running_mean, running_var, momentum)
    return NativeBatchNorm.apply(input, weight, bias, tuple(range(2, nd)),
                                 (c,) + (1,) * (nd - 2), eps, True,
                                 running if input.numel() else None)


@autocast_op
def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalise each sample over groups of ``C / num_groups`` channels (and spatial dims),
    then scale and shift per channel."""
    nd = input.ndim
    if nd < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {nd}")
    size = tuple(input.shape)
    c = size[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(size)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} and "
                               f"input of shape {list(size)}")
    _check_params(input, "group_norm", weight=weight, bias=bias)
    g = num_groups
    grouped = _shape.reshape(input, (size[0], g, c // g) + size[2:])
    out = NativeGroupNorm.apply(grouped, weight, bias, tuple(range(2, nd + 1)),
                           (g, c // g) + (1,) * (nd - 2), eps, True, None)
    return _shape.reshape(out, size)


def _normalized_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def _check_normalized(input, op: str, shape: tuple, sep: str, **params) -> None:
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    size = tuple(input.shape)
    k = len(shape)
    if len(size) < k or size[len(size) - k:] != shape:
        dims = ", ".join(str(s) for s in shape)
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{sep}{dims}], but got input of size{list(size)}")
    for name, t in params.items():
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                               f"{name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    _check_params(input, op, **params)


@autocast_op
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the trailing ``normalized_shape`` dims, then apply the element-wise
    ``weight`` and ``bias`` (each of shape ``normalized_shape``); one fused node."""
    shape = _normalized_shape(normalized_shape)
    _check_normalized(input, "layer_norm", shape, ", ", weight=weight, bias=bias)
    nd = input.ndim
    return NativeLayerNorm.apply(input, weight, bias, tuple(range(nd - len(shape), nd)), shape,
                                 eps, True, None)


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims;
    ``eps=None`` is the machine epsilon of the input's dtype."""
    shape = _normalized_shape(normalized_shape)
    _check_normalized(input, "rms_norm", shape, "", weight=weight)
    if eps is None:
        eps = float(input.xp.finfo(input._data.dtype).eps)
    nd = input.ndim
    return RmsNorm.apply(input, weight, None, tuple(range(nd - len(shape), nd)), shape, eps,
                         False, None)


def _channel_window_sum(sq, size: int, before: int):
    """Sum of ``sq`` over a window of ``size`` channels starting ``before`` channels back,
    zero beyond the edges: ``size`` shifted slices of one zero-padded tensor."""
    c = sq.shape[1]
    after = size - 1 - before
    pad = [sq.new_zeros((sq.shape[0], p) + tuple(sq.shape[2:])) for p in (before, after)]
    padded = _shape.cat([pad[0], sq, pad[1]], 1)
    total = padded.narrow(1, 0, c)
    for i in range(1, size):
        total = total + padded.narrow(1, i, c)
    return total


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0):
    """``x / (k + alpha * mean(x^2 over size neighbouring channels)) ** beta``; channels are
    dim 1 and the window is zero-padded at the edges."""
    dim = input.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input "
                         f"(got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = _channel_window_sum(input * input, size, size // 2)
    return input / (div * (alpha / size) + k) ** beta


@autocast_op
def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """``input / max(||input||_p, eps)`` along ``dim``."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is None:
        return result
    return out.copy_(result)


def _cross_map_lrn2d(input, size: int, alpha: float, beta: float, k: float):
    """``CrossMapLRN2d``'s ``x * (k + alpha / size * window_sum(x^2)) ** -beta``, with PyTorch's
    window exactly: channels ``c - p + 1 .. c + p - 1`` (``p = (size - 1) // 2 + 1``), and its
    legacy kernel's quirk that channel 0 is never dropped once the window has moved past it."""
    if input.ndim != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
    p = int((size - 1) / 2 + 1)
    sq = input * input
    window = _channel_window_sum(sq, 2 * p - 1, p - 1)
    c = input.shape[1]
    past = (arange(c, device=input.device) >= p).to(input.dtype).reshape(c, 1, 1)
    scale = (window + sq.narrow(1, 0, 1) * past) * (alpha / size) + k
    return input * scale ** -beta
