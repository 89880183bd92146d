"""Kernels behind padding and resampling (not PyTorch API; ``nn.functional`` wraps them).

Each kernel is a linear map with its adjoint beside it, and each is the other's backward: the
gradient of padding folds the borders back onto the input, the gradient of that fold pads again;
resampling along an axis is a matrix product whose gradient is the transposed product; unfold
(im2col) and fold (col2im) are adjoint. So every kernel is differentiable to any order while each
direction runs on arrays: slices, one gather per border, BLAS products, never a loop over elements.
"""
from __future__ import annotations

import math

from .._tensor_base import make
from ..autograd.function import Function
from ..dtypes import keep_dtype
from . import conv as _conv


def _at(axis: int, index) -> tuple:
    return (slice(None),) * axis + (index, Ellipsis)


def _borders(xp, mode: str, n: int, lo: int, hi: int):
    """Source indices (into the unpadded axis of length ``n``) of the left and right borders.

    Reflect and replicate index the original axis (as PyTorch does when a pad is negative on the
    other side); circular wraps around the axis after cropping, also as PyTorch does."""
    left, right = max(lo, 0), max(hi, 0)
    if mode == "reflect":
        return xp.arange(left, 0, -1), xp.arange(n - 2, n - 2 - right, -1)
    if mode == "replicate":
        return xp.zeros(left, xp.int64), xp.full(right, n - 1, xp.int64)
    start, stop = max(-lo, 0), n - max(-hi, 0)  # the cropped axis
    return xp.arange(stop - left, stop), xp.arange(start, start + right)


def _pad_array(xp, a, pads, mode, value):
    """``a`` padded by ``pads`` = ((axis, lo, hi), ...); negative amounts crop."""
    if mode == "constant":
        shape = list(a.shape)
        dst, src = [slice(None)] * a.ndim, [slice(None)] * a.ndim
        for axis, lo, hi in pads:
            n = shape[axis]
            shape[axis] = n + lo + hi
            src[axis] = slice(max(-lo, 0), n - max(-hi, 0))
            dst[axis] = slice(max(lo, 0), max(lo, 0) + max(n - max(-lo, 0) - max(-hi, 0), 0))
        out = xp.full(shape, value, a.dtype)
        out[tuple(dst)] = a[tuple(src)]
        return out
    if not pads:
        return a.copy()
    for axis, lo, hi in pads:
        n = a.shape[axis]
        left, right = _borders(xp, mode, n, lo, hi)
        parts = [a.take(left, axis=axis)] if lo > 0 else []
        parts.append(a[_at(axis, slice(max(-lo, 0), n - max(-hi, 0)))])
        if hi > 0:
            parts.append(a.take(right, axis=axis))
        a = xp.concatenate(parts, axis=axis)
    return a


def _unpad_array(xp, g, pads, mode, shape):
    """The adjoint of :func:`_pad_array`: ``g`` (padded) summed back onto an array of ``shape``."""
    if mode == "constant":
        return _pad_array(xp, g, [(axis, -lo, -hi) for axis, lo, hi in pads], mode, 0)
    for axis, lo, hi in reversed(pads):
        n, m = shape[axis], g.shape[axis]
        left, right = max(lo, 0), max(hi, 0)
        start, stop = max(-lo, 0), n - max(-hi, 0)
        out_shape = list(g.shape)
        out_shape[axis] = n
        out = xp.zeros(out_shape, g.dtype)
        out[_at(axis, slice(start, stop))] = g[_at(axis, slice(left, m - right))]
        gl, gr = g[_at(axis, slice(0, left))], g[_at(axis, slice(m - right, m))]
        if mode == "replicate":  # every border entry came from the edge
            out[_at(axis, slice(0, 1))] += gl.sum(axis=axis, keepdims=True)
            out[_at(axis, slice(n - 1, n))] += gr.sum(axis=axis, keepdims=True)
        else:  # reflect and circular borders read distinct entries: plain fancy-index adds
            li, ri = _borders(xp, mode, n, lo, hi)
            out[_at(axis, li)] += gl
            out[_at(axis, ri)] += gr
        g = out
    return g


class Pad(Function):
    """``x`` padded by ``pads`` = ((axis, lo, hi), ...) in ``mode`` (constant fills ``value``)."""

    @staticmethod
    def forward(ctx, x, pads, mode, value):
        ctx.pads, ctx.mode, ctx.shape = pads, mode, x._data.shape
        return make(_pad_array(x.xp, x._data, pads, mode, value), x.device)

    @staticmethod
    def backward(ctx, g):
        return PadAdjoint.apply(g, ctx.pads, ctx.mode, ctx.shape), None, None, None


class PadAdjoint(Function):
    """The gradient of :class:`Pad`: the padded ``g`` folded back onto the input's ``shape``."""

    @staticmethod
    def forward(ctx, g, pads, mode, shape):
        ctx.pads, ctx.mode = pads, mode
        return make(_unpad_array(g.xp, g._data, pads, mode, shape), g.device)

    @staticmethod
    def backward(ctx, gg):
        return Pad.apply(gg, ctx.pads, ctx.mode, 0), None, None, None


# ------------------------------------------------------------------ resampling along one axis
def _map_array(xp, a, axis: int, w):
    """``a`` multiplied along ``axis`` by the (out, in) matrix ``w``: one BLAS product."""
    shape = a.shape
    n = shape[axis]
    if axis == a.ndim - 1:
        out = a.reshape(-1, n) @ w.T
    else:
        out = xp.matmul(w, a.reshape(math.prod(shape[:axis]), n, math.prod(shape[axis + 1:])))
    return keep_dtype(out, a).reshape(shape[:axis] + (w.shape[0],) + shape[axis + 1:])


class AxisMap(Function):
    """``x`` resampled along ``axis`` by the (out, in) weight matrix ``w`` (an array).

    Every interpolation mode is separable, so an N-d resize is one such map per axis, and its
    gradient is the map by ``w.T``. ``take`` (nearest modes, whose rows of ``w`` are one-hot)
    does the forward as a gather instead: the same values, and inf/nan stay where they are."""

    @staticmethod
    def forward(ctx, x, axis, w, take):
        ctx.axis, ctx.w = axis, w
        if take is not None:
            return make(x._data.take(take, axis=axis), x.device)
        return make(_map_array(x.xp, x._data, axis, w), x.device)

    @staticmethod
    def backward(ctx, g):
        return AxisMap.apply(g, ctx.axis, ctx.w.T, None), None, None, None


def _scale(n_in: int, n_out: int, scale, align_corners: bool, dt):
    """PyTorch's ``area_pixel_compute_scale`` in the kernel's compute type ``dt``."""
    if align_corners:
        return dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(n_in) / dt(n_out)


def _source(xp, n_in, n_out, scale, align_corners, cubic, dt):
    """The input coordinate of each output position (``area_pixel_compute_source_index``)."""
    s = _scale(n_in, n_out, scale, align_corners, dt)
    dst = xp.arange(n_out, dtype=dt)
    if align_corners:
        return s * dst
    src = s * (dst + dt(0.5)) - dt(0.5)
    return src if cubic else xp.maximum(src, dt(0))


def _guard(xp, src, n_in: int):
    """Integer part (at most ``n_in - 1``) and fraction in [0, 1] of the source coordinates."""
    i0 = xp.minimum(xp.floor(src).astype(xp.int64), n_in - 1)
    return i0, xp.clip(src - i0.astype(src.dtype), 0, 1)


def linear_weights(xp, n_in: int, n_out: int, scale, align_corners: bool, dtype):
    """(n_out, n_in) weights of linear interpolation, as PyTorch's upsample kernels compute."""
    dt = xp.float64 if dtype == xp.float64 else xp.float32
    i0, lam = _guard(xp, _source(xp, n_in, n_out, scale, align_corners, False, dt), n_in)
    i1 = i0 + (i0 < n_in - 1)
    w = xp.zeros((n_out, n_in), dt)
    rows = xp.arange(n_out)
    w[rows, i0] += 1 - lam
    w[rows, i1] += lam  # (i1 == i0 at the last input: the weights add up to one there)
    return w.astype(dtype)


def _cubic(t, a: float = -0.75):
    """The four cubic-convolution coefficients for fraction ``t`` (Keys kernel, A = -0.75)."""
    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def cubic_weights(xp, n_in: int, n_out: int, scale, align_corners: bool, dtype):
    """(n_out, n_in) weights of bicubic interpolation; taps beyond the edge read the edge."""
    dt = xp.float64 if dtype == xp.float64 else xp.float32
    src = _source(xp, n_in, n_out, scale, align_corners, True, dt)
    i0 = xp.floor(src).astype(xp.int64)
    t = xp.clip(src - i0.astype(dt), 0, 1)
    w = xp.zeros((n_out, n_in), dt)
    rows = xp.arange(n_out)
    for k, c in enumerate(_cubic(t)):  # four taps, each a distinct column per row
        w[rows, xp.clip(i0 - 1 + k, 0, n_in - 1)] += c
    return w.astype(dtype)


def nearest_index(xp, n_in: int, n_out: int, scale, exact: bool, shortcuts: bool = False):
    """Source index of each output position for 'nearest' / 'nearest-exact' (float32 math,
    as PyTorch's kernels do, so the same pixel is picked). ``shortcuts``: equal sizes and exact
    doubling map as identity and ``index // 2`` whatever the scale (PyTorch's 2-d kernel)."""
    f32 = xp.float32
    if shortcuts and n_out == n_in:
        return xp.arange(n_out)
    if shortcuts and n_out == 2 * n_in:
        return xp.arange(n_out) >> 1
    s = f32(1.0 / scale) if scale is not None and scale > 0 else f32(n_in) / f32(n_out)
    dst = xp.arange(n_out, dtype=f32)
    if exact:
        dst = dst + f32(0.5)
    return xp.minimum(xp.floor(dst * s).astype(xp.int64), n_in - 1)


def one_hot_weights(xp, index, n_in: int, dtype):
    """(len(index), n_in) matrix picking ``index``: the nearest modes' map as weights."""
    w = xp.zeros((index.shape[0], n_in), dtype)
    w[xp.arange(index.shape[0]), index] = 1
    return w


def area_weights(xp, n_in: int, n_out: int, dtype):
    """(n_out, n_in) weights averaging adaptive-pooling windows [floor(i n/o), ceil((i+1) n/o))."""
    i = xp.arange(n_out)
    start = (i * n_in) // n_out
    stop = ((i + 1) * n_in + n_out - 1) // n_out
    j = xp.arange(n_in)
    inside = (j >= start[:, None]) & (j < stop[:, None])
    return (inside / (stop - start)[:, None]).astype(dtype)


# ------------------------------------------------------------------ unfold (im2col) / fold
# The window kernels are the convolution's (ops/conv.py); these only fix PyTorch's layouts.
def blocks(sizes, kernel, dilation, padding, stride) -> tuple:
    """Number of sliding blocks along each spatial dim (of ``sizes`` padded by ``padding``)."""
    return _conv.out_size([n + 2 * p for n, p in zip(sizes, padding)], kernel, stride, dilation)


def _unfold_array(xp, a, kernel, dilation, padding, stride):
    """(N, C, *spatial) -> (N, C * prod(kernel), prod(blocks)): every window as a column."""
    nb = blocks(a.shape[2:], kernel, dilation, padding, stride)
    cols = _conv.im2col(xp, a, kernel, stride, tuple((p, p) for p in padding), dilation, 1, nb)
    return cols.reshape(a.shape[0], a.shape[1] * math.prod(kernel), math.prod(nb))


def _fold_array(xp, cols, output_size, kernel, dilation, padding, stride):
    """The adjoint of :func:`_unfold_array`: columns summed back into an (N, C, *output_size)."""
    nb = blocks(output_size, kernel, dilation, padding, stride)
    nd = len(kernel)
    n, c = cols.shape[0], cols.shape[1] // math.prod(kernel)
    # (N, C, *K, *blocks) -> (N, *K, C, *blocks): the layout window_add sums from.
    cols = cols.reshape((n, c) + tuple(kernel) + tuple(nb)).transpose(
        (0,) + tuple(range(2, 2 + nd)) + (1,) + tuple(range(2 + nd, 2 + 2 * nd)))
    pad = tuple((p, p) for p in padding)
    padded = tuple(o + 2 * p for o, p in zip(output_size, padding))
    out = _conv.window_add(xp, cols, padded, stride, dilation)
    return out[_conv.inner(pad, output_size)] if any(padding) else out


class Unfold(Function):
    """im2col of a batched ``x``; ``geometry`` = (kernel, dilation, padding, stride) tuples."""

    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry, ctx.size = geometry, x._data.shape[2:]
        return make(_unfold_array(x.xp, x._data, *geometry), x.device)

    @staticmethod
    def backward(ctx, g):
        return Fold.apply(g, ctx.size, ctx.geometry), None


class Fold(Function):
    """col2im: columns summed into a batched ``output_size`` image (overlaps add up)."""

    @staticmethod
    def forward(ctx, cols, output_size, geometry):
        ctx.geometry = geometry
        return make(_fold_array(cols.xp, cols._data, output_size, *geometry), cols.device)

    @staticmethod
    def backward(ctx, g):
        return Unfold.apply(g, ctx.geometry), None, None


def antialias_weights(xp, n_in: int, n_out: int, scale, align_corners: bool, cubic: bool,
                      dtype):
    """(n_out, n_in) weights of antialiased bilinear / bicubic resizing (PIL's filters, as
    PyTorch's ``_upsample_*_aa``): when downsampling, the filter widens by the scale, so every
    input pixel under an output pixel contributes; each row is normalised to sum to one."""
    dt = xp.float64 if dtype == xp.float64 else xp.float32
    s = float(_scale(n_in, n_out, scale, align_corners, dt))
    support = (2.0 if cubic else 1.0) * max(s, 1.0)
    invscale = 1.0 / s if s >= 1.0 else 1.0
    center = s * (xp.arange(n_out, dtype=dt) + 0.5)
    # (C++ casts: truncation toward zero; at most 2 * ceil(support) + 1 taps per row)
    lo = xp.maximum(xp.trunc(center - support + 0.5).astype(xp.int64), 0)
    hi = xp.minimum(xp.trunc(center + support + 0.5).astype(xp.int64), n_in)
    hi = xp.minimum(hi, lo + 2 * math.ceil(support) + 1)
    j = xp.arange(n_in)
    x = xp.abs((j - center[:, None] + 0.5) * invscale).astype(dt)
    if cubic:  # Keys' kernel with a = -0.5 (PIL's), not the -0.75 of plain bicubic
        a = -0.5
        w = xp.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                     xp.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0))
    else:
        w = xp.maximum(1 - x, 0)
    w = xp.where((j >= lo[:, None]) & (j < hi[:, None]), w, 0).astype(dt)
    total = w.sum(axis=1, keepdims=True)
    return (w / xp.where(total == 0, 1, total)).astype(dtype)
