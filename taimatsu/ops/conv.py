"""Convolution kernels: strided window views, im2col / col2im, and the three fused Functions.

One N-d convolution is written as three linear maps, each a few BLAS products on arrays:

- ``Convolution``: ``y = conv(x, w) (+ b)``, one batched product of the weight with the im2col
  matrix of ``x`` (a copy of a strided window view).
- ``ConvolutionTranspose``: its adjoint in ``x``, ``conv_transpose(y, w)``, which is also the input
  gradient of a convolution: one product with the transposed weight, then col2im (the windows
  added back, one strided slice-add per kernel offset, never per pixel).
- ``ConvolutionWeight``: its adjoint in ``w``, the weight gradient: one batched product of the
  output gradient with the im2col matrix of ``x``.

Each one's backward is the other two, applied as Functions: outside ``create_graph`` they take
``Function.apply``'s no-recording path and compute on arrays; under ``create_graph`` the same
calls record, so every order of derivative exists. ``Convolution`` keeps its im2col matrix for the
weight gradient when nothing records (the fused path), and recomputes it through
``ConvolutionWeight`` otherwise; tests compare both.

Geometry arguments (already checked by ``nn.functional.conv``): ``stride`` and ``dilation`` are
tuples per spatial dim, ``pad`` a tuple of ``(before, after)`` zero paddings per spatial dim.
"""
from __future__ import annotations

import itertools
import math

from .._tensor_base import make
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from ..dtypes import keep_dtype

__all__: list[str] = []


# ------------------------------------------------------------------------------ array kernels
def pad_array(xp, a, pad, value=0):
    """``a`` (N, C, *S) with ``pad`` = ((before, after), ...) added around its spatial dims."""
    if not any(lo or hi for lo, hi in pad):
        return a
    shape = a.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(a.shape[2:], pad))
    out = xp.full(shape, value, a.dtype)
    out[inner(pad, a.shape[2:])] = a
    return out


def inner(pad, spatial) -> tuple:
    """The index of the unpadded region inside a padded (N, C, *S) array."""
    return (slice(None), slice(None)) + tuple(slice(lo, lo + s) for (lo, _), s in
                                              zip(pad, spatial))


def out_size(size, kernel, stride, dilation) -> tuple:
    """Window positions per spatial dim of an already padded ``size``."""
    return tuple((s - d * (k - 1) - 1) // st + 1
                 for s, k, st, d in zip(size, kernel, stride, dilation))


def window_view(xp, a, kernel, stride, dilation, out):
    """A view (N, C, *kernel, *out) of the windows of ``a`` (N, C, *S): element
    ``[n, c, *k, *o]`` is ``a[n, c, *(o * stride + k * dilation)]``. No copy; its elements
    overlap, so it is only ever read (CuPy's as_strided has no ``writeable`` flag to say so)."""
    st = a.strides
    sp = st[2:]
    strides = st[:2] + tuple(s * d for s, d in zip(sp, dilation)) + \
        tuple(s * t for s, t in zip(sp, stride))
    return xp.lib.stride_tricks.as_strided(a, a.shape[:2] + tuple(kernel) + tuple(out), strides)


def window_add(xp, cols, size, stride, dilation):
    """The adjoint of ``window_view``: ``cols`` (N, *kernel, *channels, *out) summed back into a
    new (N, *channels, *size) array (overlapping windows add). One strided slice-add per kernel
    offset, each reading a contiguous (channels, out) block."""
    nd = len(size)
    kernel = cols.shape[1:1 + nd]
    out = cols.shape[cols.ndim - nd:]
    chan = cols.shape[1 + nd:cols.ndim - nd]
    res = xp.zeros(cols.shape[:1] + chan + tuple(size), cols.dtype)
    lead = (slice(None),) * (1 + len(chan))
    for k in itertools.product(*(range(n) for n in kernel)):
        dst = lead + tuple(slice(j * d, j * d + t * (o - 1) + 1, t)
                           for j, d, t, o in zip(k, dilation, stride, out))
        res[dst] += cols[(slice(None),) + k]
    return res


def im2col(xp, x, kernel, stride, pad, dilation, groups, out):
    """The (N, groups, C/groups * prod(kernel), prod(out)) matrix of windows of ``x``: one copy
    of a window view, in the layout the batched weight product reads contiguously."""
    a = pad_array(xp, x, pad)
    n = a.shape[0]
    view = window_view(xp, a, kernel, stride, dilation, out)
    rows = a.shape[1] // groups * math.prod(kernel)
    return xp.ascontiguousarray(view).reshape(n, groups, rows, math.prod(out))


def conv_arrays(xp, x, w, b, stride, pad, dilation, groups):
    """``(y, cols)``: the convolution of ``x`` (N, C, *S) with ``w`` (O, C/g, *K) (plus ``b``)
    and the im2col matrix it used."""
    kernel = w.shape[2:]
    spatial = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pad))
    out = out_size(spatial, kernel, stride, dilation)
    cols = im2col(xp, x, kernel, stride, pad, dilation, groups, out)
    o = w.shape[0]
    y = xp.matmul(w.reshape(groups, o // groups, -1), cols)  # (N, g, O/g, L)
    y = y.reshape((x.shape[0], o) + out)
    if b is not None:
        y += b.reshape((o,) + (1,) * len(out))
    return keep_dtype(y, x), cols


def conv_transpose_arrays(xp, gy, w, b, size, stride, pad, dilation, groups):
    """The adjoint of ``conv_arrays`` in ``x``: ``gy`` (N, O, *out) to (N, C, *size) (plus
    ``b``), where ``size`` is the unpadded spatial size of the result."""
    n, o = gy.shape[:2]
    out = gy.shape[2:]
    kernel = w.shape[2:]
    c = w.shape[1] * groups
    nd = len(kernel)
    cg = w.shape[1]
    reach = tuple(d * (k - 1) for k, d in zip(kernel, dilation))
    if (all(s == 1 for s in stride) and all(lo <= r and hi <= r for (lo, hi), r in
                                            zip(pad, reach))
            and o * math.prod(size) <= c * math.prod(out)):
        # NOTE: with stride 1 the adjoint is itself a convolution: of gy, zero-padded by the
        # rest of each window, with the kernel flipped and its channel dims swapped. Where its
        # im2col matrix is no larger than the windows below, its one product (inner dimension
        # O*K) beats a product of inner dimension O that writes C*K*L windows to add back.
        flipped = w[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
        flipped = flipped.reshape((groups, o // groups, cg) + tuple(kernel)).swapaxes(1, 2)
        flipped = xp.ascontiguousarray(flipped).reshape((c, o // groups) + tuple(kernel))
        rest = tuple((r - lo, r - hi) for (lo, hi), r in zip(pad, reach))
        return conv_arrays(xp, gy, flipped, b, stride, rest, dilation, groups)[0]
    # The weight as (g, K*C/g, O/g), kernel offsets first: the product then gives the windows
    # as (N, g, *K, C/g, *out), whose per-offset slices window_add reads as contiguous blocks.
    wg = w.reshape((groups, o // groups, cg) + tuple(kernel))
    wg = wg.transpose((0,) + tuple(range(3, 3 + nd)) + (2, 1)).reshape(groups, -1, o // groups)
    gcols = xp.matmul(wg, gy.reshape(n, groups, o // groups, -1))
    gcols = gcols.reshape((n, groups) + tuple(kernel) + (cg,) + tuple(out))
    gcols = gcols.transpose((0,) + tuple(range(2, 2 + nd)) + (1,) + tuple(range(2 + nd,
                                                                                gcols.ndim)))
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(size, pad))
    gx = window_add(xp, gcols, padded, stride, dilation).reshape((n, c) + padded)
    if padded != tuple(size):
        gx = xp.ascontiguousarray(gx[inner(pad, size)])
    if b is not None:
        gx += b.reshape((c,) + (1,) * len(size))
    return keep_dtype(gx, gy)


def conv_weight_arrays(xp, cols, gy, groups, weight_shape):
    """The weight gradient from the im2col matrix of the input and the output gradient."""
    n, o = gy.shape[:2]
    g4 = gy.reshape(n, groups, o // groups, -1)
    # Batched over the batch, then summed: the (N, g, O/g, C/g*K) partials are small, while one
    # big product would first copy the im2col matrix into a (C*K, N*L) layout.
    return xp.matmul(g4, cols.transpose(0, 1, 3, 2)).sum(0).reshape(weight_shape)


# ------------------------------------------------------------------------------ Functions
class Convolution(Function):
    """``conv(x, w) + b`` for checked operands; see the module docstring."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pad, dilation, groups):
        y, cols = conv_arrays(x.xp, x._data, w._data, None if b is None else b._data, stride,
                              pad, dilation, groups)
        need_x, need_w = ctx.needs_input_grad[:2]
        ctx.geometry = (stride, pad, dilation, groups)
        ctx.in_size = x._data.shape[2:]
        ctx.w_shape = w._data.shape
        if need_x or need_w:
            # The im2col matrix is kept for the fused weight gradient, as a saved tensor so that
            # it is freed with the graph after backward.
            ctx.save_for_backward(x if need_w else None, w if need_x else None,
                                  make(cols, x.device) if need_w else None)
        return make(y, x.device)

    @staticmethod
    def backward(ctx, gy):
        x, w, cols = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        geo = ctx.geometry
        gx = gw = gb = None
        if need_x:
            gx = ConvolutionTranspose.apply(gy, w, None, ctx.in_size, *geo)
        if need_w:
            if not _grad_state.enabled and gy._data.dtype == cols._data.dtype:
                gw = make(conv_weight_arrays(gy.xp, cols._data, gy._data, geo[3], ctx.w_shape),
                          gy.device)
            else:
                gw = ConvolutionWeight.apply(x, gy, ctx.w_shape, *geo)
        if need_b:
            gb = gy.sum((0,) + tuple(range(2, gy._data.ndim)))
        return gx, gw, gb, None, None, None, None


class ConvolutionTranspose(Function):
    """``conv_transpose(y, w) + b``: the adjoint of ``Convolution`` in its input, with result
    spatial size ``size``."""

    @staticmethod
    def forward(ctx, gy, w, b, size, stride, pad, dilation, groups):
        ctx.geometry = (stride, pad, dilation, groups)
        ctx.w_shape = w._data.shape
        need_y, need_w = ctx.needs_input_grad[:2]
        if need_y or need_w:
            ctx.save_for_backward(gy if need_w else None, w if need_y else None)
        return make(conv_transpose_arrays(gy.xp, gy._data, w._data,
                                          None if b is None else b._data, size, stride, pad,
                                          dilation, groups), gy.device)

    @staticmethod
    def backward(ctx, gx):
        gy, w = ctx.saved_tensors
        need_y, need_w, need_b = ctx.needs_input_grad[:3]
        geo = ctx.geometry
        ggy = Convolution.apply(gx, w, None, *geo) if need_y else None
        gw = ConvolutionWeight.apply(gx, gy, ctx.w_shape, *geo) if need_w else None
        gb = gx.sum((0,) + tuple(range(2, gx._data.ndim))) if need_b else None
        return ggy, gw, gb, None, None, None, None, None


class ConvolutionWeight(Function):
    """The weight gradient of ``Convolution``: bilinear in the input ``x`` and the output
    gradient ``gy``."""

    @staticmethod
    def forward(ctx, x, gy, weight_shape, stride, pad, dilation, groups):
        ctx.geometry = (stride, pad, dilation, groups)
        ctx.in_size = x._data.shape[2:]
        need_x, need_y = ctx.needs_input_grad[:2]
        if need_x or need_y:
            ctx.save_for_backward(x if need_y else None, gy if need_x else None)
        cols = im2col(x.xp, x._data, weight_shape[2:], stride, pad, dilation, groups,
                      gy._data.shape[2:])
        return make(conv_weight_arrays(x.xp, cols, gy._data, groups, weight_shape), x.device)

    @staticmethod
    def backward(ctx, ggw):
        x, gy = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad[:2]
        geo = ctx.geometry
        gx = ConvolutionTranspose.apply(gy, ggw, None, ctx.in_size, *geo) if need_x else None
        ggy = Convolution.apply(x, ggw, None, *geo) if need_y else None
        return gx, ggy, None, None, None, None, None


# PyTorch names every convolution node this way (grad_fn=<ConvolutionBackward0>).
Convolution._node_name = ConvolutionTranspose._node_name = "ConvolutionBackward0"
ConvolutionWeight._node_name = "ConvolutionBackwardBackward0"
