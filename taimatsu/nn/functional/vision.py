"""Resampling and rearranging: interpolate, grid_sample, affine_grid, pixel_shuffle, fold/unfold."""
from __future__ import annotations

import itertools
import math
import operator
import warnings

from ... import creation as _cr
from ...dtypes import legacy_name
from ...ops import elementwise as _ew
from ...ops import resample as _rs
from ...ops import shape as _shape
from ...ops._autocast import autocast_op

__all__ = ["affine_grid", "channel_shuffle", "fold", "grid_sample", "interpolate",
           "native_channel_shuffle", "pixel_shuffle", "pixel_unshuffle", "unfold", "upsample",
           "upsample_bilinear", "upsample_nearest"]

_MODE_LIST = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _is_int(v) -> bool:
    if isinstance(v, bool):
        return False
    try:
        operator.index(v)
    except TypeError:
        return False
    return True


def _per_dim(value, spatial: tuple, name: str, given: str, fmt: str) -> list:
    """``value`` (one number, or one per spatial dim) as a list with one per spatial dim."""
    if not isinstance(value, (list, tuple)):
        return [value] * len(spatial)
    if len(value) != len(spatial):
        raise ValueError(
            f"Input and {name} must have the same number of spatial dimensions, but got input "
            f"with spatial dimensions of {list(spatial)} and {given} {value}. Please provide "
            f"input tensor in (N, C, d1, d2, ...,dK) format and {fmt} format.")
    return list(value)


def _sizes_message(names: str, shape: tuple, out: list) -> str:
    given = ", ".join(f"{c}: {n}" for c, n in zip(names, shape))
    got = ", ".join(f"{c}: {n}" for c, n in zip(names, out))
    sep = " and " if len(names) == 1 else " "  # (PyTorch's 1-d message has the "and")
    return (f"Input and output sizes should be greater than 0, but got input ({given}){sep}"
            f"output ({got})")


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims of an ``(N, C, *spatial)`` input to ``size`` or by
    ``scale_factor``.

    ``mode``: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-d input), ``'bilinear'`` and
    ``'bicubic'`` (4-d), ``'trilinear'`` (5-d), ``'area'`` (adaptive average pooling). With a
    ``scale_factor`` the output size is ``floor(in * scale_factor)`` and the sampling uses
    ``1 / scale_factor`` itself unless ``recompute_scale_factor=True`` (then ``in / out``), as in
    PyTorch. Every mode is separable: one weight-matrix product (a gather for the nearest
    modes) per spatial dim, so the gradient is exact. ``antialias=True`` (bilinear, bicubic)
    widens the filter when downsampling, as PIL and PyTorch do.

    Example::

        >>> F.interpolate(torch.arange(4.).view(1, 1, 4), scale_factor=2, mode="linear")
        tensor([[[0.0000, 0.2500, 0.7500, 1.2500, 1.7500, 2.2500, 2.7500, 3.0000]]])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    shape = tuple(input.shape)
    dim = len(shape) - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    scales = None
    if size is not None:
        out = _per_dim(size, shape[2:], "output", "output size of",
                       "output size in (o1, o2, ...,oK)")
        if not all(_is_int(s) for s in out):
            raise TypeError(
                "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                f"Tuple[int, int, int], but got size with types {[type(s) for s in out]}")
        out = [operator.index(s) for s in out]
    elif scale_factor is not None:
        scales = [float(s) for s in _per_dim(scale_factor, shape[2:], "scale_factor",
                                             "scale_factor of shape",
                                             "scale_factor in (s1, s2, ...,sK)")]
        # (a C++ cast: truncation toward zero, so a negative factor reaches the size check)
        out = [int(n * s) for n, s in zip(shape[2:], scales)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor or mode == "area":
        scales = None  # sample at in / out, the ratio of the sizes
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and dim == 2):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes "
                         "and requires a 4-D tensor as input")
    if mode == "lanczos":
        raise NotImplementedError("interpolate(): mode 'lanczos' is not supported by taimatsu; "
                                  "use 'bicubic' with antialias=True (PIL's bicubic filter)")
    _check_mode(mode, dim, len(shape))
    supported = input.dtype.is_floating_point or (mode.startswith("nearest") and
                                                  input._data.dtype.name == "uint8")
    if not supported:
        kernel = {"area": "adaptive_avg_pool2d"}.get(mode, "compute_indices_weights_" + (
            "nearest" if mode.startswith("nearest") else
            "cubic" if mode == "bicubic" else "linear"))
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{legacy_name(input._data.dtype)}'")
    if mode != "area":
        names = "DHW"[3 - dim:]
        if any(n <= 0 for n in shape[2:]) or any(o <= 0 for o in out):
            raise RuntimeError(_sizes_message(names, shape[2:], out))
        if input._data.size == 0 and math.prod(shape[1:]) == 0:
            raise RuntimeError(f"Non-empty {len(shape)}D data tensor expected but got a tensor "
                               f"with sizes {list(shape)}")
    return _resample(input, out, scales, mode, align_corners, antialias)


def _check_mode(mode: str, dim: int, ndim: int) -> None:
    want = _LINEAR_DIMS.get(mode)
    if want is None and mode in ("nearest", "nearest-exact", "area") and 1 <= dim <= 3:
        return
    if want is not None and dim == want:
        return
    if want is not None and 1 <= dim <= 3 and not (mode == "bicubic"):
        raise NotImplementedError(f"Got {ndim}D input, but {mode} mode needs {want + 2}D input")
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                              f"{ndim}D) for the modes: {_MODE_LIST} (got {mode})")


def _resample(input, out: list, scales, mode: str, align_corners: bool, antialias: bool):
    """One separable map per spatial axis, skipping the axes it would leave unchanged."""
    xp = input.xp
    dtype = input._data.dtype
    x = input
    # NOTE: every map at scale 1 is the identity, but PyTorch's forward kernels also leave an
    # axis of unchanged size alone when a scale_factor says otherwise, in some modes only
    # (measured against PyTorch 2.13): the linear modes, antialiasing, and 2-d nearest (which
    # also takes exact doubling as index // 2); bicubic, nearest-exact and 1-d / 3-d nearest
    # resample such an axis by 1 / scale_factor. (PyTorch's backward kernels do not always
    # agree with its forward ones there; ours is the gradient of the forward.)
    nearest_2d = mode == "nearest" and len(out) == 2
    keep_same = antialias or nearest_2d or mode in ("linear", "bilinear", "trilinear")
    for i, (n_in, n_out) in enumerate(zip(input.shape[2:], out)):
        scale = None if scales is None else scales[i]
        if n_in == n_out and (scale in (None, 1.0) or keep_same):
            continue
        take = None
        if mode in ("nearest", "nearest-exact"):
            take = _rs.nearest_index(xp, n_in, n_out, scale, mode == "nearest-exact", nearest_2d)
            w = _rs.one_hot_weights(xp, take, n_in, dtype)
        elif mode == "area":
            w = _rs.area_weights(xp, n_in, n_out, dtype)
        elif antialias:
            w = _rs.antialias_weights(xp, n_in, n_out, scale, align_corners, mode == "bicubic",
                                      dtype)
        elif mode == "bicubic":
            w = _rs.cubic_weights(xp, n_in, n_out, scale, align_corners, dtype)
        else:
            w = _rs.linear_weights(xp, n_in, n_out, scale, align_corners, dtype)
        x = _rs.AxisMap.apply(x, 2 + i, w, take)
    return input.clone() if x is input else x


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate` (warns, as PyTorch does)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: :func:`interpolate` with ``mode='nearest'``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: :func:`interpolate` with ``mode='bilinear', align_corners=True``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ------------------------------------------------------------------ rearranging
def _factor(fn: str, name: str, value) -> int:
    if not _is_int(value):
        raise TypeError(f"{fn}(): argument '{name}' (position 2) must be int, not "
                        f"{type(value).__name__}")
    value = operator.index(value)
    if value <= 0:
        raise RuntimeError(f"{fn} expects a positive {name}, but got {value}")
    return value


def _at_least_3d(fn: str, input) -> tuple:
    shape = tuple(input.shape)
    if len(shape) < 3:
        raise RuntimeError(f"{fn} expects input to have at least 3 dimensions, but got input "
                           f"with {len(shape)} dimension(s)")
    return shape


def pixel_shuffle(input, upscale_factor: int):
    """``(*, C * r**2, H, W)`` -> ``(*, C, H * r, W * r)``: channel blocks become pixel blocks."""
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    shape = _at_least_3d("pixel_shuffle", input)
    *lead, c, h, w = shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor: int):
    """``(*, C, H * r, W * r)`` -> ``(*, C * r**2, H, W)``: the inverse of :func:`pixel_shuffle`."""
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    shape = _at_least_3d("pixel_unshuffle", input)
    *lead, c, h, w = shape
    for name, axis, size in (("height", -2, h), ("width", -1, w)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({axis})={size} is not "
                               f"divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups: int):
    """``(N, C, *)`` with its channels, seen as ``groups`` rows of ``C / groups``, transposed."""
    shape = tuple(input.shape)
    if len(shape) <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(shape)}")
    groups = operator.index(groups)
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    c = shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and "
                           f"{groups} groups.")
    x = input.reshape(shape[0], groups, c // groups, *shape[2:]).transpose(1, 2)
    return x.reshape(shape)


native_channel_shuffle = channel_shuffle


# ------------------------------------------------------------------ fold / unfold
def _geometry(fn: str, kernel_size, dilation, padding, stride) -> tuple:
    """The four arguments as pairs, with PyTorch's checks (2 spatial dims, as PyTorch)."""
    out = []
    for name, value in (("kernel_size", kernel_size), ("dilation", dilation),
                        ("padding", padding), ("stride", stride)):
        pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
        if len(pair) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(pair)}")
        out.append(tuple(operator.index(v) for v in pair))
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = out
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {kh} "
                           f"kernel_width: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {sh} "
                           f"stride_width: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {dh} "
                           f"dilation_width: {dw}")
    if ph < 0 or pw < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {ph} "
                           f"pad_width: {pw}")
    return tuple(out)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of an ``(N, C, H, W)`` (or ``(C, H, W)``) input as columns:
    ``(N, C * kh * kw, L)``, ``L`` the number of blocks (im2col)."""
    geometry = _geometry("unfold", kernel_size, dilation, padding, stride)
    shape = tuple(input.shape)
    if len(shape) not in (3, 4) or 0 in shape[len(shape) - 3:]:
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(shape)}")
    kernel, dil, pad, _ = geometry
    nb = _rs.blocks(shape[-2:], *geometry[:3], geometry[3])
    if min(nb) < 1:
        raise RuntimeError(
            f"Given input with spatial size {tuple(shape[-2:])}, kernel_size={kernel}, "
            f"dilation={dil}, padding={pad}, calculated shape of the array of sliding blocks as "
            f"{tuple(nb)}, but its components must be at least one.")
    if len(shape) == 3:
        return _rs.Unfold.apply(input.unsqueeze(0), geometry).squeeze(0)
    return _rs.Unfold.apply(input, geometry)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns ``(N, C * kh * kw, L)`` (or unbatched) into an ``(N, C, *output_size)``
    image, overlapping blocks adding up (col2im, the adjoint of :func:`unfold`)."""
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(size) != 2:
        raise RuntimeError(f"It is expected output_size equals to 2, but got size {len(size)}")
    geometry = _geometry("fold", kernel_size, dilation, padding, stride)
    kernel, dil, pad, stride = geometry
    shape = tuple(input.shape)
    if len(shape) not in (2, 3) or 0 in shape[len(shape) - 2:]:
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
            f"non-zero dimensions for input, but got: {list(shape)}")
    if shape[-2] % (kernel[0] * kernel[1]):
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={shape[-2]} and kernel_size={kernel}.")
    nb = _rs.blocks(size, kernel, dil, pad, stride)
    if shape[-1] != nb[0] * nb[1] or min(nb) < 1:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={kernel}, dilation={dil}, padding={pad}, "
            f"stride={stride}, expected size of input's dimension 2 to match the calculated "
            f"number of sliding blocks {nb[0]} * {nb[1]} = {nb[0] * nb[1]}, but got "
            f"input.size(2)={shape[-1]}.")
    if len(shape) == 2:
        return _rs.Fold.apply(input.unsqueeze(0), size, geometry).squeeze(0)
    return _rs.Fold.apply(input, size, geometry)


# ------------------------------------------------------------------ grid_sample / affine_grid
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False "
                  "since 1.3.0. Please specify align_corners=True if the old behavior is desired. "
                  "See the documentation of grid_sample for details.")


def _unnormalize(c, size: int, align_corners: bool):
    """Grid coordinates in [-1, 1] to pixel coordinates (PyTorch's grid_sampler_unnormalize)."""
    if align_corners:
        return (c + 1) / 2 * (size - 1)
    return ((c + 1) * size - 1) / 2


def _clip(c, size: int):
    """``c`` clamped to [0, size - 1]; NOTE: the edges themselves count as outside for the
    gradient (zero there), as in PyTorch's clip_coordinates_set_grad."""
    inside = (c > 0) & (c < size - 1)
    return _ew.where(inside, c, c.detach().clamp(0, size - 1))


def _reflect(c, twice_low: int, twice_high: int):
    """``c`` reflected into [twice_low / 2, twice_high / 2] (PyTorch's reflect_coordinates)."""
    if twice_low == twice_high:
        return c * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    d = c - low
    d = _ew.where(d < 0, -d, d)  # (not abs: its gradient at 0 is 0, PyTorch's is 1)
    extra = d.fmod(span)
    even = (d.detach() / span).floor().fmod(2) == 0
    return _ew.where(even, extra + low, span - extra + low)


def _pad_coordinate(c, size: int, padding_mode: str, align_corners: bool):
    if padding_mode == "border":
        return _clip(c, size)
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        return _clip(c, size)
    return c


def _check_grid_sample(input, grid, mode: str) -> None:
    if input._device != grid._device:
        raise RuntimeError("grid_sampler(): expected input and grid to be on same device, but "
                           f"input is on {input._device} and grid is on {grid._device}")
    si, sg = list(input.shape), list(grid.shape)
    if len(si) not in (4, 5) or len(sg) != len(si):
        if len(sg) != len(si) or sg[-1] == len(si) - 2:  # (else the size check below says it)
            raise RuntimeError("grid_sampler(): expected 4D or 5D input and grid with same number "
                               f"of dimensions, but got input with sizes {si} and grid with sizes "
                               f"{sg}")
    elif si[0] != sg[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but "
                           f"got input with sizes {si} and grid with sizes {sg}")
    if sg[-1] != len(si) - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {len(si) - 2} in last "
                           f"dimension, but got grid with sizes {sg}")
    for d in range(2, len(si)):
        if si[d] == 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {si} with dimension {d} being "
                               "empty")
    if mode == "bicubic" and len(si) != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {legacy_name(input._data.dtype)} but found "
                           f"{legacy_name(grid._data.dtype)}")


@autocast_op
def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners=None):
    """Sample ``input`` ``(N, C, H, W)`` (or ``(N, C, D, H, W)``) at the normalized locations
    ``grid`` ``(N, H_out, W_out, 2)`` (``(..., 3)``), whose last dim holds (x, y[, z]) in
    [-1, 1].

    ``mode``: ``'bilinear'`` (trilinear for 5-d), ``'nearest'`` or ``'bicubic'`` (4-d);
    ``padding_mode``: ``'zeros'``, ``'border'`` or ``'reflection'`` for locations outside.
    Differentiable in both ``input`` and ``grid``: it is composed of gathers and arithmetic.
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' "
                         f"or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sample(input, grid, mode)
    n, c, *sizes = input.shape
    nd = len(sizes)
    out_shape = tuple(grid.shape[1:-1])
    # Each tap is one gather of single elements from the flat input (whose gradient, a scatter
    # of elements, NumPy adds up ~15x faster than rows of channels).
    flat_input = input.reshape(-1)
    base = _cr.arange(n * c, device=input.device).reshape((n, c) + (1,) * nd) * math.prod(sizes)
    # grid[..., k] addresses the k-th spatial dim from the last (x is width).
    coords = [_unnormalize(grid[..., nd - 1 - i], sizes[i], align_corners) for i in range(nd)]
    if mode == "bicubic":
        first = [cd.detach().floor() for cd in coords]
        weights = [_rs._cubic(cd - f) for cd, f in zip(coords, first)]
        taps = [[_pad_coordinate(f + (k - 1), size, padding_mode, align_corners).detach()
                 for k in range(4)] for f, size in zip(first, sizes)]
    else:
        coords = [_pad_coordinate(cd, size, padding_mode, align_corners)
                  for cd, size in zip(coords, sizes)]
        if mode == "nearest":
            taps = [[cd.detach().round()] for cd in coords]
            weights = [(None,)] * nd  # one tap, no weight
        else:
            first = [cd.detach().floor() for cd in coords]
            taps = [[f, f + 1] for f in first]
            weights = [(f + 1 - cd, cd - f) for cd, f in zip(coords, first)]
    out = None
    for combo in itertools.product(*(range(len(t)) for t in taps)):
        lin, valid, w = None, None, None
        for i, k in enumerate(combo):
            pos = taps[i][k]
            ok = (pos >= 0) & (pos <= sizes[i] - 1)
            valid = ok if valid is None else valid & ok
            p = pos.clamp(0, sizes[i] - 1).long()
            lin = p if lin is None else lin * sizes[i] + p  # row-major pixel index
            wk = weights[i][k]
            w = wk if w is None else w * wk
        picked = flat_input.index_select(0, (base + lin.unsqueeze(1)).reshape(-1))
        vals = _ew.where(valid.unsqueeze(1), picked.reshape((n, c) + out_shape), 0.0)
        term = vals if w is None else vals * w.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _grid_axis(steps: int, align_corners: bool, theta):
    """Normalized pixel-centre coordinates along one output dim, in [-1, 1]."""
    if steps <= 1:
        return _cr.zeros(max(steps, 1), dtype=theta.dtype, device=theta.device)
    r = _cr.linspace(-1, 1, steps, dtype=theta.dtype, device=theta.device)
    return r if align_corners else r * ((steps - 1) / steps)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of the affine maps ``theta`` ``(N, 2, 3)`` (``(N, 3, 4)``) for an
    output of ``size`` ``(N, C, H, W)`` (``(N, C, D, H, W)``): ``(N, H, W, 2)`` (x, y) locations
    for :func:`grid_sample`."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(size)
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    nd = len(size) - 2
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (nd, nd + 1):
        raise ValueError(f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} for "
                         f"size {size}. Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids "
                      "when align_corners=True. This is not an intended use case of affine_grid. "
                      "See the documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {nd + 1}] but got: [{theta.shape[0]}, {nd + 1}].")
    # Columns (x, y[, z], 1): x runs along the last output dim.
    cols = []
    for i in range(nd):
        axis = nd - 1 - i
        view = [1] * nd
        view[axis] = spatial[axis]
        cols.append(_grid_axis(spatial[axis], align_corners, theta).reshape(view).expand(spatial))
    cols.append(_cr.ones(spatial, dtype=theta.dtype, device=theta.device))
    base = _shape.stack(cols, -1).reshape(1, math.prod(spatial), nd + 1)
    return (base @ theta.transpose(1, 2)).reshape(size[0], *spatial, nd)
