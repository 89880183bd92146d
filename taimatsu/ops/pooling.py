"""Max-pooling kernels: windows as strided views or gathered by index tables, one fused Function.

Every max pooling (regular, adaptive, fractional; 1-3 spatial dims) hands ``MaxPool`` two
callables: ``windows(xp, a)`` gives the windows of the (N, C, *S) input as an (N, C, *out,
*window) array (a strided view for regular pooling, no copy; gathered by per-dim index tables
for windows of varying start), and ``locate(xp, k)`` turns the offset ``k`` of each window's
maximum into PyTorch's index, the position in the flattened input plane. The maximum is the
first one of each window, as PyTorch's (a NaN wins). The backward scatters the gradient to those
positions.
"""
from __future__ import annotations

import math

from .._tensor_base import make
from ..autograd.function import Function
from ..autograd.grad_mode import state as _grad_state
from .conv import pad_array, window_view

__all__: list[str] = []


def strided_windows(xp, a, kernel, stride, dilation, pad, out):
    """The (N, C, *out, *kernel) window view of ``a`` padded with its dtype's lowest value
    (padding never wins a maximum)."""
    low = -xp.inf if a.dtype.kind in "fV" else xp.iinfo(a.dtype).min
    view = window_view(xp, pad_array(xp, a, pad, low), kernel, stride, dilation, out)
    nd = len(kernel)
    return view.transpose((0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd)))


def strided_locate(xp, k, spatial, kernel, stride, dilation, pad):
    """Flat input-plane indices of offsets ``k`` (N, C, *out) of regular windows: the index of
    each window's start plus that of the offset inside a window (a table of prod(kernel))."""
    out = k.shape[2:]
    nd = len(out)
    start = xp.zeros((), xp.int64)
    inside = xp.zeros((), xp.int64)
    for d in range(nd):
        shape = (out[d],) + (1,) * (nd - 1 - d)
        start = start * spatial[d] + (xp.arange(out[d]) * stride[d] - pad[d][0]).reshape(shape)
        inside = inside[..., None] * spatial[d] + xp.arange(kernel[d]) * dilation[d]
    return start + inside.reshape(-1)[k]


def gather_tables(xp, tables, spatial):
    """``(windows, locate)`` for windows picked by index tables: ``tables[d][..., o, j]`` is the
    input coordinate along dim ``d`` of offset ``j`` of window ``o`` (leading dims broadcast
    over batch and channel, for the per-plane windows of fractional pooling)."""
    nd = len(tables)
    out = tuple(t.shape[2] for t in tables)
    width = math.prod(t.shape[3] for t in tables)
    # Each table shaped (N|1, C|1, *out, *window), to broadcast against the others.
    coords = [t.reshape(t.shape[:2] + (1,) * d + (t.shape[2],) + (1,) * (nd - 1) +
                        (t.shape[3],) + (1,) * (nd - 1 - d)) for d, t in enumerate(tables)]

    def windows(xp, a):
        n, c = a.shape[:2]
        key = (xp.arange(n).reshape((n,) + (1,) * (2 * nd + 1)),
               xp.arange(c).reshape((1, c) + (1,) * (2 * nd)), *coords)
        return a[key].reshape((n, c) + out + (width,))

    def locate(xp, k):
        flat = xp.zeros((), xp.int64)
        for size, t in zip(spatial, coords):
            flat = flat * size + t
        flat = xp.broadcast_to(flat, k.shape[:2] + flat.shape[2:]).reshape(k.shape + (width,))
        return xp.take_along_axis(flat, k[..., None], axis=-1)[..., 0]

    return windows, locate


class MaxPool(Function):
    """``(values, indices)`` of the maxima of the windows that ``windows(xp, a)`` gives as an
    (N, C, *out, *window) array; ``locate(xp, k)`` gives the indices of window offsets ``k``;
    ``disjoint`` says that no two windows share an input position."""

    @staticmethod
    def forward(ctx, x, windows, locate, disjoint=False):
        xp = x.xp
        a = x._data
        view = windows(xp, a)
        lead, win = view.shape[:a.ndim], view.shape[a.ndim:]
        width = math.prod(win)
        # The offset of each maximum in its window, in the smallest integer type that holds it.
        k = xp.zeros(lead, xp.min_scalar_type(max(width - 1, 0)))
        if view.size:
            # The windows as contiguous slabs, one per offset: a max over the first axis, then
            # one comparison per offset (a few passes, never one per element). Going down from
            # the last offset leaves the first maximum, as PyTorch's scan keeps; that scan also
            # lets the last NaN win, which is redone only where the input has one.
            slabs = xp.ascontiguousarray(xp.moveaxis(view, tuple(range(a.ndim, view.ndim)),
                                                     tuple(range(len(win)))))
            slabs = slabs.reshape((width,) + lead)
            best = slabs.max(axis=0)
            for j in range(width - 1, -1, -1):
                xp.copyto(k, j, where=slabs[j] == best)
            if a.dtype.kind == "f" and bool(xp.isnan(best).any()):
                for j in range(width):
                    xp.copyto(k, j, where=xp.isnan(slabs[j]))
        else:
            best = xp.zeros(lead, a.dtype)
        idx = make(locate(xp, k), x.device)
        ctx.in_shape = a.shape
        ctx.disjoint = disjoint
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return make(best, x.device), idx

    @staticmethod
    def backward(ctx, g, _):
        (idx,) = ctx.saved_tensors
        shape = ctx.in_shape
        n, c = shape[:2]
        plane = math.prod(shape[2:])
        if not _grad_state.enabled:
            xp = g.xp
            base = (xp.arange(n * c, dtype=xp.int64) * plane).reshape((n, c) + (1,) * (g.ndim - 2))
            pos = (idx._data + base).ravel()
            if ctx.disjoint:  # windows that do not overlap: each position is written once
                gx = xp.zeros(n * c * plane, g._data.dtype)
                gx[pos] = g._data.ravel()
            else:
                # One weighted bincount sums repeated positions; it accumulates in float64,
                # which only makes the sums more exact.
                gx = xp.bincount(pos, weights=g._data.ravel(), minlength=n * c * plane)
                gx = gx.astype(g._data.dtype)
            return make(gx.reshape(shape), g.device), None, None, None
        # create_graph: the same scatter as differentiable ops (its gradient is a gather).
        gx = g.new_zeros((n, c, plane)).scatter_add(2, idx.reshape(n, c, -1), g.reshape(n, c, -1))
        return gx.reshape(shape), None, None, None


MaxPool._node_name = "MaxPool2DWithIndicesBackward0"
