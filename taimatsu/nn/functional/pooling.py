"""Pooling: max, average, adaptive, LP and fractional pooling, and max-unpooling (1-3 dims).

Max pooling of every kind is the fused ``taimatsu.ops.pooling.MaxPool``; average pooling is a
convolution of each plane with a box kernel (``taimatsu.ops.conv``), divided by the window counts;
adaptive average pooling is one product per spatial dim with an averaging matrix.
"""
from __future__ import annotations

import math

from ..._tensor_base import TensorBase, make
from ...creation import rand
from ...dtypes import int64, legacy_name
from ...ops._autocast import autocast_op
from ...ops._util import check_same_device
from ...ops.conv import Convolution
from ...ops.pooling import MaxPool, gather_tables, strided_locate, strided_windows
from .activation import relu
from .conv import expand_param

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "fractional_max_pool2d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d", "fractional_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d",
    "lp_pool3d", "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool2d_with_indices",
    "max_pool3d", "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
]

_AXES = ("depth", "height", "width")


def _axes(n: int) -> tuple:
    return _AXES[-n:] if n > 1 else ("width",)


def _batched(input, n: int):
    """``(input as (N, C, *S), unbatched)``, after PyTorch's rank and emptiness checks."""
    if not isinstance(input, TensorBase):
        raise TypeError(f"pooling expects a Tensor input, not {type(input).__name__}")
    shape = input._data.shape
    if len(shape) not in (n + 1, n + 2):
        raise RuntimeError(f"non-empty {n + 1}D or {n + 2}D (batch mode) tensor expected for "
                           "input")
    if any(s == 0 for s in shape[-n - 1:]):
        raise RuntimeError(f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{list(shape)}")
    unbatched = len(shape) == n + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


def _done(out, unbatched):
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out) if unbatched else out
    return out.squeeze(0) if unbatched else out


def _window_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, n):
    """Checked ``(kernel, stride, dilation, pad, out)`` of a sliding-window pooling, where
    ``pad`` holds (before, after) per dim: ``after`` reaches the last window of ``ceil_mode``."""
    kernel = expand_param(kernel_size, n, "kernel_size")
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else expand_param(stride, n, "stride")
    padding = expand_param(padding, n, "padding")
    dilation = expand_param(dilation, n, "dilation")
    axes = _axes(n)
    if any(k <= 0 for k in kernel):
        raise RuntimeError("kernel size should be greater than zero, but got " +
                           " ".join(f"k{a[0].upper()}: {k}" for a, k in zip(axes, kernel)))
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero, but got " +
                           " ".join(f"dilation{a[0].upper()}: {d}" for a, d in zip(axes, dilation)))
    for p, k, d in zip(padding, kernel, dilation):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    spatial = x._data.shape[2:]
    out = []
    for s, k, st, p, d in zip(spatial, kernel, stride, padding, dilation):
        span = s + 2 * p - d * (k - 1) - 1
        o = (-(-span // st) if ceil_mode else span // st) + 1
        if ceil_mode and (o - 1) * st >= s + p:  # the last window must start inside
            o -= 1
        out.append(o)
    if any(o <= 0 for o in out):
        c = x._data.shape[1]
        raise RuntimeError(f"Given input size: ({c}x{'x'.join(map(str, spatial))}). Calculated "
                           f"output size: ({c}x{'x'.join(map(str, out))}). Output size is too "
                           "small")
    pad = tuple((p, max((o - 1) * st + d * (k - 1) + 1 - s - p, 0))
                for s, k, st, p, d, o in zip(spatial, kernel, stride, padding, dilation, out))
    return kernel, stride, dilation, pad, tuple(out)


# ------------------------------------------------------------------------------ max pooling
def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, n):
    x, unbatched = _batched(input, n)
    kernel, stride, dilation, pad, out = _window_geometry(x, kernel_size, stride, padding,
                                                          dilation, ceil_mode, n)
    spatial = x._data.shape[2:]
    res = MaxPool.apply(
        x, lambda xp, a: strided_windows(xp, a, kernel, stride, dilation, pad, out),
        lambda xp, k: strided_locate(xp, k, spatial, kernel, stride, dilation, pad),
        all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel)))
    return _done(res, unbatched)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``(values, indices)`` of 1-D max pooling (indices into each input plane)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 1)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``(values, indices)`` of 2-D max pooling; an index is ``h * W + w`` in its input plane."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 2)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``(values, indices)`` of 3-D max pooling (indices into each flattened input volume)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 3)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling; ``stride`` defaults to ``kernel_size``, padding counts as ``-inf``.

    Shape: ``(N, C, L)`` or ``(C, L)`` to ``(N, C, L_out)``.
    """
    res = _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 1)
    return res if return_indices else res[0]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling; ``stride`` defaults to ``kernel_size``, padding counts as ``-inf``.

    Shape: ``(N, C, H, W)`` or ``(C, H, W)`` to ``(N, C, H_out, W_out)``,
    ``H_out = (H + 2*padding - dilation*(kernel_size-1) - 1) // stride + 1`` (rounded up with
    ``ceil_mode``, when the last window starts inside the input or its left padding).
    """
    res = _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 2)
    return res if return_indices else res[0]


@autocast_op
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling; ``stride`` defaults to ``kernel_size``, padding counts as ``-inf``.

    Shape: ``(N, C, D, H, W)`` or unbatched to ``(N, C, D_out, H_out, W_out)``.
    """
    res = _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 3)
    return res if return_indices else res[0]


# ------------------------------------------------------------------------------ average pooling
def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, n):
    x, unbatched = _batched(input, n)
    dt = x._data.dtype
    if dt.kind not in "fiuV":
        raise NotImplementedError(f"\"avg_pool{n}d\" not implemented for '{legacy_name(dt)}'")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    kernel, stride, _, pad, out = _window_geometry(x, kernel_size, stride, padding, 1, ceil_mode,
                                                   n)
    xp = x.xp
    shape = x._data.shape
    planes = x.reshape((shape[0] * shape[1], 1) + shape[2:])
    box = make(xp.ones((1, 1) + kernel, dt), x.device)
    y = Convolution.apply(planes, box, None, stride, pad, (1,) * n, 1).reshape(shape[:2] + out)
    if divisor_override is not None:
        div = xp.asarray(divisor_override)
        return _done(_divide(y, div), unbatched)
    # Window sizes per dim: inside the padded input (count_include_pad) or the input itself.
    div = xp.ones((), dt)
    for d, (s, k, st, (p, _), o) in enumerate(zip(shape[2:], kernel, stride, pad, out)):
        start = xp.arange(o) * st - p
        end = xp.minimum(start + k, s + p)
        size = end - start if count_include_pad else \
            xp.minimum(end, s) - xp.maximum(start, 0)
        div = div * size.reshape((o,) + (1,) * (n - 1 - d)).astype(dt)
    return _done(_divide(y, div), unbatched)


def _divide(y, div):
    """Window sums over their divisors; integer inputs stay integers (truncated, as PyTorch)."""
    if y._data.dtype.kind in "fV":
        return y / make(div.astype(y._data.dtype), y.device)
    return make((y._data / div).astype(y._data.dtype), y.device)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling. Shape: ``(N, C, L)`` or ``(C, L)`` to ``(N, C, L_out)``."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling; ``count_include_pad`` counts the zero padding in each window's
    size, ``divisor_override`` replaces that size.

    Shape: ``(N, C, H, W)`` or ``(C, H, W)`` to ``(N, C, H_out, W_out)``.
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


@autocast_op
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling. Shape: ``(N, C, D, H, W)`` or unbatched."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n, pool):
    kernel = expand_param(kernel_size, n, "kernel_size")
    if norm_type == math.inf:
        return pool(input.abs(), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -pool(-input.abs(), kernel, stride, 0, 1, ceil_mode)
    out = _avg_pool(input.pow(norm_type), kernel, stride, 0, ceil_mode, True, None, n)
    return (out.sign() * relu(out.abs())).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-D power-average pooling: ``(sum over the window of x**p) ** (1/p)``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, max_pool1d)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling: ``(sum over the window of x**p) ** (1/p)``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, max_pool2d)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling: ``(sum over the window of x**p) ** (1/p)``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, max_pool3d)


# ------------------------------------------------------------------------------ adaptive pooling
def _adaptive_sizes(x, output_size, n):
    spatial = x._data.shape[2:]
    size = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * n
    if len(size) != n:
        raise RuntimeError(f"adaptive_pool{n}d: output_size must be {n}, but got "
                           f"{len(size)}")
    size = tuple(s if o is None else int(o) for s, o in zip(spatial, size))
    if any(o < 0 for o in size):
        raise RuntimeError(f"adaptive_pool{n}d: elements of output_size must be greater than or "
                           f"equal to 0 but received {list(size)}")
    return spatial, size


def _adaptive_bounds(xp, s, o):
    """Window ``i`` of ``o`` over ``s`` is ``[floor(i*s/o), ceil((i+1)*s/o))``, as PyTorch."""
    i = xp.arange(o)
    return i * s // o, ((i + 1) * s + o - 1) // o


def _adaptive_avg(input, output_size, n):
    x, unbatched = _batched(input, n)
    spatial, size = _adaptive_sizes(x, output_size, n)
    xp = x.xp
    y = x
    for d, (s, o) in enumerate(zip(spatial, size)):
        start, end = _adaptive_bounds(xp, s, o)
        j = xp.arange(s)
        inside = (j >= start[:, None]) & (j < end[:, None])
        # The (s, o) averaging matrix of this dim: one product, differentiable as any matmul.
        avg = make((inside / (end - start)[:, None]).T.astype(x._data.dtype), x.device)
        y = y.movedim(2 + d, -1).matmul(avg).movedim(-1, 2 + d)
    return _done(y, unbatched)


def adaptive_avg_pool1d(input, output_size):
    """1-D average pooling to ``output_size`` windows of (nearly) equal size."""
    return _adaptive_avg(input, output_size, 1)


def adaptive_avg_pool2d(input, output_size):
    """2-D average pooling to ``output_size`` (an int, or a pair whose None entries keep the
    input size)."""
    return _adaptive_avg(input, output_size, 2)


@autocast_op
def adaptive_avg_pool3d(input, output_size):
    """3-D average pooling to ``output_size``."""
    return _adaptive_avg(input, output_size, 3)


def _adaptive_max(input, output_size, n):
    x, unbatched = _batched(input, n)
    spatial, size = _adaptive_sizes(x, output_size, n)
    xp = x.xp
    tables = []
    for s, o in zip(spatial, size):
        start, end = _adaptive_bounds(xp, s, o)
        width = int((end - start).max()) if o else 0
        # Windows shorter than the widest repeat their last element, which cannot change a max.
        t = xp.minimum(start[:, None] + xp.arange(width), end[:, None] - 1)
        tables.append(t.reshape(1, 1, o, width))
    res = MaxPool.apply(x, *gather_tables(xp, tables, spatial))
    return _done(res, unbatched)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """``(values, indices)`` of 1-D adaptive max pooling."""
    return _adaptive_max(input, output_size, 1)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """``(values, indices)`` of 2-D adaptive max pooling."""
    return _adaptive_max(input, output_size, 2)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """``(values, indices)`` of 3-D adaptive max pooling."""
    return _adaptive_max(input, output_size, 3)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-D max pooling to ``output_size`` windows."""
    res = _adaptive_max(input, output_size, 1)
    return res if return_indices else res[0]


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D max pooling to ``output_size`` windows."""
    res = _adaptive_max(input, output_size, 2)
    return res if return_indices else res[0]


@autocast_op
def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-D max pooling to ``output_size`` windows."""
    res = _adaptive_max(input, output_size, 3)
    return res if return_indices else res[0]


# ------------------------------------------------------------------------------ fractional pooling
def _fractional(input, kernel_size, output_size, output_ratio, _random_samples, n):
    op = f"fractional_max_pool{n}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    x, unbatched = _batched(input, n)
    kernel = expand_param(kernel_size, n, "kernel_size")
    spatial = x._data.shape[2:]
    if output_size is None:
        ratio = tuple(output_ratio) if isinstance(output_ratio, (list, tuple)) else \
            (output_ratio,) * n
        if len(ratio) != n:
            raise ValueError(f"{op} requires output_ratio to either be a single Int or tuple of "
                             "Ints.")
        output_size = tuple(int(s * r) for s, r in zip(spatial, ratio))
    size = expand_param(output_size, n, "output_size")
    names = ("time", "height", "width")[-n:]
    for s, k, o, name in zip(spatial, kernel, size, names):
        if o + k - 1 > s:
            raise RuntimeError(f"{op}(): pool {name} {k} too large relative to input {name} {s}")
    nb, c = x._data.shape[:2]
    if _random_samples is None:
        _random_samples = rand(nb, c, n, dtype=x.dtype, device=x.device)
    check_same_device(op, x, _random_samples)
    u = _random_samples._data.astype("float64")
    if u.shape != (nb, c, n):
        raise RuntimeError(f"{op}(): expected _random_samples of shape {[nb, c, n]}, but got "
                           f"{list(u.shape)}")
    xp = x.xp
    tables = []
    for d, (s, k, o) in enumerate(zip(spatial, kernel, size)):
        # PyTorch's draws: the 2-D kernel reads the samples as (width, height), the 3-D one as
        # (time, height, width).
        sample = u[..., n - 1 - d if n == 2 else d][..., None]
        i = xp.arange(o)
        alpha = (s - k) / (o - 1) if o > 1 else 0.0
        seq = (xp.floor((i + sample) * alpha) - xp.floor(sample * alpha)).astype(xp.int64)
        seq[..., o - 1] = s - k
        tables.append(seq[..., None] + xp.arange(k))
    res = MaxPool.apply(x, *gather_tables(xp, tables, spatial))
    return _done(res, unbatched)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """``(values, indices)`` of 2-D fractional max pooling."""
    return _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """``(values, indices)`` of 3-D fractional max pooling."""
    return _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """2-D fractional max pooling (Graham, 2014): windows of ``kernel_size`` at pseudo-random
    starts, one draw per plane from taimatsu's generator unless ``_random_samples`` (N, C, 2)
    in ``[0, 1)`` are given."""
    res = _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 2)
    return res if return_indices else res[0]


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """3-D fractional max pooling; ``_random_samples`` is (N, C, 3)."""
    res = _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 3)
    return res if return_indices else res[0]


# ------------------------------------------------------------------------------ unpooling
def _max_unpool(input, indices, kernel_size, stride, padding, output_size, n):
    kernel = expand_param(kernel_size, n, "kernel_size")
    stride = kernel if stride is None else expand_param(stride, n, "stride")
    padding = expand_param(padding, n, "padding")
    if not isinstance(indices, TensorBase) or indices._data.dtype != int64.np:
        got = legacy_name(indices._data.dtype) if isinstance(indices, TensorBase) else \
            type(indices).__name__
        raise RuntimeError(f"elements in indices should be type int64 but got: {got}")
    x, unbatched = _batched(input, n)
    idx = indices.unsqueeze(0) if unbatched else indices
    if tuple(idx._data.shape) != tuple(x._data.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input._data.shape)}) but got indices tensor with shape: "
                           f"{list(indices._data.shape)}")
    spatial = x._data.shape[2:]
    default = [(s - 1) * st + k - 2 * p for s, st, k, p in zip(spatial, stride, kernel, padding)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)
        if len(size) == n + 2:
            size = size[2:]
        if len(size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} "
                             f"elements, but it has a length of '{len(size)}'")
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < size[d] < high:
                raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                                 f"between {low} and {high})")
    plane = math.prod(size)
    a = idx._data
    invalid = ((a < 0) | (a >= plane)).ravel()
    if invalid.any():
        bad = int(a.ravel()[int(invalid.argmax())])  # the first, as PyTorch's scan reports
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, size))})")
    nb, c = x._data.shape[:2]
    y = x.new_zeros((nb, c, plane)).scatter(2, idx.reshape(nb, c, -1), x.reshape(nb, c, -1))
    return _done(y.reshape((nb, c) + tuple(size)), unbatched)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d: each value back at its index, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: each value back at its index (from
    ``return_indices=True``), zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool3d."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)
