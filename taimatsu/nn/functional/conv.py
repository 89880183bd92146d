"""Convolutions: conv1d/2d/3d and conv_transpose1d/2d/3d, one N-d implementation.

The checks and the geometry (padding modes ``"same"``/``"valid"``, unbatched inputs) live here;
the math is the three fused Functions of ``taimatsu.ops.conv``.
"""
from __future__ import annotations

import operator

from ..._tensor_base import TensorBase
from ...dtypes import legacy_name
from ...ops._autocast import autocast_op
from ...ops._util import check_same_device
from ...ops.conv import Convolution, ConvolutionTranspose

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]


def expand_param(value, n: int, name: str) -> tuple:
    """An int or a length-``n`` sequence as an ``n``-tuple of ints (PyTorch's message else)."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise RuntimeError(
                f"expected {name} to be a single integer value or a list of {n} values to match "
                f"the convolution dimensions, but got {name}={list(value)}")
        return tuple(operator.index(v) for v in value)
    return (operator.index(value),) * n


def _sizes(shape) -> str:
    return " x ".join(str(s) for s in shape)


def _check(op, input, weight, bias, n, transposed, groups):
    """Rank, channel, group, dtype and device checks shared by both directions; returns whether
    the input is unbatched."""
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, TensorBase):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    x, w = input._data, weight._data
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {op}, "
                           f"but got input of size: {list(x.shape)}")
    if w.ndim != n + 2:
        raise RuntimeError(f"Expected {n + 2}-dimensional weight for {op}, but got weight of "
                           f"size {list(w.shape)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    check_same_device(op, input, weight, bias)
    c = x.shape[0 if x.ndim == n + 1 else 1]
    if transposed:
        if c != w.shape[0]:
            raise RuntimeError(
                f"Given transposed=1, weight of size {list(w.shape)}, expected input"
                f"{list(x.shape)} to have {w.shape[0]} channels, but got {c} channels instead")
        if w.shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size "
                               f"[{list(w.shape)}] instead")
        n_out = w.shape[1] * groups
    else:
        if w.shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                               f"{groups} at dimension 0, but got weight of size "
                               f"[{list(w.shape)}] instead")
        if c != w.shape[1] * groups:
            raise RuntimeError(
                f"Given groups={groups}, weight of size {list(w.shape)}, expected input"
                f"{list(x.shape)} to have {w.shape[1] * groups} channels, but got {c} channels "
                "instead")
        n_out = w.shape[0]
    if bias is not None and tuple(bias._data.shape) != (n_out,):
        raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be "
                           f"1-dimensional with {n_out} elements, but got bias of size "
                           f"{list(bias._data.shape)} instead")
    for t in (weight, bias):
        if t is not None and t._data.dtype != x.dtype:
            raise RuntimeError(f"expected scalar type {legacy_name(x.dtype)} but found "
                               f"{legacy_name(t._data.dtype)}")
    if x.dtype.kind not in "fcV":
        raise NotImplementedError(f"\"{op}\" not implemented for '{legacy_name(x.dtype)}'")
    return x.ndim == n + 1


def _geometry(stride, dilation, n):
    stride = expand_param(stride, n, "stride")
    dilation = expand_param(dilation, n, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    return stride, dilation


def _conv_padding(padding, kernel, stride, dilation, n):
    """``padding`` (int, tuple, "same", "valid") as ((before, after), ...) per spatial dim."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        # An odd total puts the extra element after, as PyTorch does.
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(kernel, dilation))
    padding = expand_param(padding, n, "padding")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    return tuple((p, p) for p in padding)


def convolution(op, input, weight, bias, stride, padding, dilation, groups, n):
    """The N-d convolution behind conv1d/2d/3d."""
    unbatched = _check(op, input, weight, bias, n, False, groups)
    stride, dilation = _geometry(stride, dilation, n)
    kernel = weight._data.shape[2:]
    pad = _conv_padding(padding, kernel, stride, dilation, n)
    spatial = input._data.shape[-n:]
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pad))
    dilated = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < k for p, k in zip(padded, dilated)):
        raise RuntimeError(f"Calculated padded input size per channel: ({_sizes(padded)}). "
                           f"Kernel size: ({_sizes(dilated)}). Kernel size can't be greater "
                           "than actual input size")
    x = input.unsqueeze(0) if unbatched else input
    y = Convolution.apply(x, weight, bias, stride, pad, dilation, groups)
    return y.squeeze(0) if unbatched else y


def convolution_transpose(op, input, weight, bias, stride, padding, output_padding, groups,
                          dilation, n):
    """The N-d transposed convolution behind conv_transpose1d/2d/3d."""
    unbatched = _check(op, input, weight, bias, n, True, groups)
    stride, dilation = _geometry(stride, dilation, n)
    if isinstance(padding, str):
        raise TypeError(f"{op}(): argument 'padding' must be tuple of ints, not str")
    padding = expand_param(padding, n, "padding")
    output_padding = expand_param(output_padding, n, "output_padding")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(o < 0 for o in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        names = ("depth", "height", "width")[-n:] if n > 1 else ("width",)
        parts = [f"output_padding_{a}: {o}" for a, o in zip(names, output_padding)]
        parts += [f"stride_{a}: {s}" for a, s in zip(names, stride)]
        parts += [f"dilation_{a}: {d}" for a, d in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           "got " + " ".join(parts))
    kernel = weight._data.shape[2:]
    spatial = input._data.shape[-n:]
    size = tuple((i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, s, p, d, k, o in
                 zip(spatial, stride, padding, dilation, kernel, output_padding))
    if any(s <= 0 for s in size):
        raise RuntimeError(f"Given input size per channel: ({_sizes(spatial)}). Calculated output "
                           f"size per channel: ({_sizes(size)}). Output size is too small")
    x = input.unsqueeze(0) if unbatched else input
    y = ConvolutionTranspose.apply(x, weight, bias, size, stride,
                                   tuple((p, p) for p in padding), dilation, groups)
    return y.squeeze(0) if unbatched else y


@autocast_op
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (a cross-correlation, as in PyTorch).

    Shape: input ``(N, C_in, L)`` or ``(C_in, L)``, weight ``(C_out, C_in/groups, k)``.
    ``padding`` is an int, a tuple, ``"valid"`` or ``"same"``.
    """
    return convolution("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


@autocast_op
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (a cross-correlation, as in PyTorch).

    Shape: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``, weight ``(C_out, C_in/groups, kH, kW)``.
    ``padding`` is an int, a tuple, ``"valid"`` or ``"same"``.

    Example::

        >>> F.conv2d(torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3), padding=1).shape
        torch.Size([1, 4, 8, 8])
    """
    return convolution("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


@autocast_op
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (a cross-correlation, as in PyTorch).

    Shape: input ``(N, C_in, D, H, W)`` or unbatched, weight ``(C_out, C_in/groups, kD, kH, kW)``.
    """
    return convolution("conv3d", input, weight, bias, stride, padding, dilation, groups, 3)


@autocast_op
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution (the adjoint of conv1d in its input).

    Shape: input ``(N, C_in, L)`` or unbatched, weight ``(C_in, C_out/groups, k)``; output length
    ``(L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
    """
    return convolution_transpose("conv_transpose1d", input, weight, bias, stride, padding,
                                 output_padding, groups, dilation, 1)


@autocast_op
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the adjoint of conv2d in its input).

    Shape: input ``(N, C_in, H, W)`` or unbatched, weight ``(C_in, C_out/groups, kH, kW)``.
    """
    return convolution_transpose("conv_transpose2d", input, weight, bias, stride, padding,
                                 output_padding, groups, dilation, 2)


@autocast_op
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution (the adjoint of conv3d in its input).

    Shape: input ``(N, C_in, D, H, W)`` or unbatched, weight ``(C_in, C_out/groups, kD, kH, kW)``.
    """
    return convolution_transpose("conv_transpose3d", input, weight, bias, stride, padding,
                                 output_padding, groups, dilation, 3)
