"""Sorting, searching and counting (searchsorted, bucketize, unique, bincount, quantile, ...).

NaN sorts as the largest value and is unequal to itself, as in PyTorch: ``unique`` keeps every
NaN, ``searchsorted`` places a NaN after every boundary.
"""
from __future__ import annotations

import math

from .._out import out_variant
from .._tensor_base import TensorBase, make
from ..dtypes import float32, float64, int32, int64, legacy_name
from . import elementwise
from ._autocast import autocast_op
from ._util import check_same_device, wrap_dim
from .reduce import sort

__all__ = ["bincount", "bucketize", "histc", "msort", "nanquantile", "quantile", "searchsorted",
           "unique", "unique_consecutive"]


@out_variant(dtype="exact")
def msort(input):
    """``input`` sorted along its first dim (ascending)."""
    return sort(input, dim=0).values


# ---------------------------------------------------------------------------- searchsorted
def _merged_rank(xp, seq, values, right):
    """For each row, how many of ``seq``'s (sorted) elements precede each of ``values`` (with
    ``right``, counting the equal ones too): one stable sort of both rows merged together."""
    rows, n = seq.shape
    m = values.shape[1]
    keys = xp.concatenate([seq, values], axis=1).reshape(-1)
    row = xp.repeat(xp.arange(rows), n + m)
    is_seq = xp.tile(xp.concatenate([xp.ones(n, bool), xp.zeros(m, bool)]), rows)
    # Among equal keys, values go before the boundaries (left) or after them (right).
    tie = is_seq if not right else ~is_seq
    order = xp.lexsort(xp.stack([tie, keys, row]))
    seen = xp.cumsum(is_seq[order]) - is_seq[order]  # boundaries before each merged position
    rank = xp.empty(keys.shape, dtype=seen.dtype)
    rank[order] = seen
    rank = rank.reshape(rows, n + m)[:, n:]
    return rank - (xp.arange(rows) * n)[:, None]


@out_variant(dtype="exact")
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Indices where ``input``'s values would be inserted into ``sorted_sequence`` (along its
    last dim) to keep it sorted; ``right``/``side="right"`` puts them after equal elements."""
    seq = sorted_sequence
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError("torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    scalar = not isinstance(input, TensorBase)
    if scalar:
        input = make(seq.xp.asarray(elementwise._number(input)), seq.device)
    check_same_device("searchsorted", seq, input)
    s, v = seq._data, input._data
    xp = seq.xp
    if s.ndim != 1 and s.shape[:-1] != v.shape[:-1]:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(s.shape)} and input value tensor {list(v.shape)}")
    if sorter is not None:
        if sorter._data.dtype != int64.np:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype but "
                               f"got dtype {legacy_name(sorter._data.dtype)}")
        if sorter._data.shape != s.shape:
            raise RuntimeError(
                "torch.searchsorted(): boundary and sorter must have the same size, but got "
                f"boundary tensor {list(s.shape)}and got sorter tensor "
                f"{list(sorter._data.shape)}")
        k = sorter._data
        if k.size and (int(k.min()) < 0 or int(k.max()) >= s.shape[-1]):
            raise RuntimeError("torch.searchsorted(): sorter index out of range")
        s = xp.take_along_axis(s, k, axis=-1)
    dt = xp.promote_types(s.dtype, v.dtype)
    s, v = s.astype(dt, copy=False), v.astype(dt, copy=False)
    side_name = "right" if right else "left"
    if s.ndim == 1:
        res = xp.searchsorted(s, v, side=side_name)
    else:
        rows = math.prod(s.shape[:-1])
        res = _merged_rank(xp, s.reshape(rows, s.shape[-1]), v.reshape(rows, v.shape[-1]),
                           right).reshape(v.shape)
    if dt.kind in "fV":  # NaN goes after everything, whichever side (PyTorch's comparisons)
        res = xp.where(xp.isnan(v), s.shape[-1], res)
    res = make(xp.asarray(res).astype((int32 if out_int32 else int64).np, copy=False),
               seq.device)
    return res


@out_variant(dtype="exact")
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each element of ``input`` among the 1-d sorted ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (``right``: ``boundaries[i-1] <= x < ...``)."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---------------------------------------------------------------------------- unique
def _runs(xp, rows):
    """Boolean marks of where a new run of equal rows starts (``rows``: (n, k) array)."""
    n = rows.shape[0]
    starts = xp.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)  # (NaN != NaN: each its own run)
    return starts


def _unique_rows(input, dim, sort_rows, return_inverse, return_counts):
    """unique / unique_consecutive over the slices along ``dim`` (None: the elements)."""
    a = input._data
    xp = input.xp
    if dim is None:
        rows = a.reshape(-1, 1)
        moved = None
    else:
        d = wrap_dim(dim, a.ndim)
        if any(n == 0 for i, n in enumerate(a.shape) if i != d):
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique "
                               "cannot be applied")
        moved = xp.moveaxis(a, d, 0)
        rows = moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))
    n = rows.shape[0]
    if sort_rows:
        if rows.shape[1] == 1:
            order = xp.argsort(rows[:, 0], kind="stable")
        else:  # lexicographic on the row's elements, the first the most significant
            order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(n)
        rows = rows[order]
    starts = _runs(xp, rows)
    first = xp.nonzero(starts)[0]
    uniq = rows[first]
    if dim is None:
        values = uniq.reshape(-1)
    else:
        values = xp.moveaxis(uniq.reshape((len(first),) + moved.shape[1:]), 0, d)
    dev = input.device
    result = [make(xp.ascontiguousarray(values), dev)]
    if return_inverse:
        group = xp.cumsum(starts) - 1
        inverse = xp.empty(n, dtype=int64.np)
        if sort_rows:
            inverse[order] = group
        else:
            inverse[:] = group
        result.append(make(inverse.reshape(a.shape if dim is None else (n,)), dev))
    if return_counts:
        bounds = xp.concatenate([first, xp.asarray([n], dtype=first.dtype)])
        result.append(make(xp.diff(bounds).astype(int64.np), dev))
    return result[0] if len(result) == 1 else tuple(result)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements of ``input`` (or its distinct slices along ``dim``), ascending
    (``sorted=False`` sorts as well, as PyTorch's CPU kernel does); optionally the index of
    each element's value in them (``return_inverse``) and how often each occurs."""
    return _unique_rows(input, dim, True, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """``input`` with each run of consecutive equal elements (or slices along ``dim``) kept
    once; optionally the run of each element (``return_inverse``) and the runs' lengths."""
    return _unique_rows(input, dim, False, return_inverse, return_counts)


# ---------------------------------------------------------------------------- counting
def bincount(input, weights=None, minlength=0):
    """How often each value ``0..max(input)`` occurs in the 1-d non-negative integer
    ``input`` (at least ``minlength`` bins); with ``weights``, their sums per value."""
    a = input._data
    xp = input.xp
    if a.dtype.kind not in "iub":
        raise NotImplementedError(f'"bincount_{input.device.type}" not implemented for '
                                  f"'{legacy_name(a.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if a.ndim != 1 or (a.size and int(a.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None:
        w = weights._data
        if w.ndim != 1 or w.shape[0] != a.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        check_same_device("bincount", input, weights)
    n = max(int(a.max()) + 1 if a.size else 0, minlength)
    if weights is None:
        return make(xp.bincount(a, minlength=n).astype(int64.np, copy=False), input.device)
    dt = w.dtype if w.dtype.kind in "fV" else float64.np
    return make(xp.bincount(a, w, minlength=n).astype(dt, copy=False), input.device)


@out_variant(dtype="exact")
def histc(input, bins=100, min=0, max=0):
    """A histogram of ``input`` in ``bins`` equal bins over ``[min, max]`` (both 0: the data's
    range); elements outside are ignored, the upper edge belongs to the last bin."""
    a = input._data
    xp = input.xp
    if a.dtype.kind not in "fV":
        raise NotImplementedError(f'"histogram_{input.device.type}" not implemented for '
                                  f"'{legacy_name(a.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    x = a.reshape(-1)
    x = x[(x >= lo) & (x <= hi)]
    # PyTorch's linear formula, in the input's dtype and order of operations, so elements on
    # (or a rounding away from) a bin edge land where they do there.
    lo_t, hi_t = a.dtype.type(lo), a.dtype.type(hi)
    pos = ((x - lo_t) * a.dtype.type(bins) / (hi_t - lo_t)).astype(int64.np)
    pos = xp.minimum(pos, bins - 1)  # the upper edge falls in the last bin
    counts = xp.bincount(pos, minlength=bins).astype(a.dtype)
    return make(counts, input.device)


# ---------------------------------------------------------------------------- quantile
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):
    # (PyTorch's messages say quantile() for nanquantile too)
    a = input._data
    xp = input.xp
    if a.dtype not in (float32.np, float64.np):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"quantile() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    scalar_q = not isinstance(q, TensorBase)
    if scalar_q:
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
        qa = xp.asarray([float(q)], dtype=a.dtype)
    else:
        qa = q._data
        if qa.ndim > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if qa.dtype != a.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        qa = qa.reshape(-1)
    if a.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if qa.size and (bool((qa < 0).any()) or bool((qa > 1).any())):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    if dim is None:
        x = input.reshape(-1)
        d = 0
    else:
        d = wrap_dim(dim, a.ndim)
        x = input if a.ndim else input.reshape(1)
    values = sort(x, dim=d).values.movedim(d, -1).unsqueeze(-2)  # (..., 1, n)
    n = values.shape[-1]
    vals = values._data
    nan = xp.isnan(vals)
    if ignore_nan:
        count = (~nan).sum(axis=-1, keepdims=True)  # (..., 1, 1): NaNs sort last
    else:
        count = xp.full(vals.shape[:-1] + (1,), n)
    ranks = qa.reshape(-1, 1) * (count - 1)  # (..., nq, 1)
    # A slice with a NaN (quantile) answers NaN, its last element; one of NaNs only
    # (nanquantile, a negative rank) its first: where PyTorch sends the gradient.
    fixed = ranks < 0 if ignore_nan else xp.broadcast_to(nan[..., -1:], ranks.shape)
    ranks = xp.where(fixed, 0 if ignore_nan else n - 1, ranks)
    if interpolation == "lower":
        ranks = xp.floor(ranks)
    elif interpolation == "higher":
        ranks = xp.ceil(ranks)
    elif interpolation == "nearest":
        ranks = xp.rint(ranks)
    lo = xp.clip(xp.floor(ranks), 0, n - 1).astype(int64.np)
    hi = xp.clip(xp.ceil(ranks), 0, n - 1).astype(int64.np)
    full = values.expand(vals.shape[:-2] + (qa.size, n))
    below = full.gather(-1, make(xp.broadcast_to(lo, full.shape[:-1] + (1,)), input.device))
    above = full.gather(-1, make(xp.broadcast_to(hi, full.shape[:-1] + (1,)), input.device))
    if interpolation == "midpoint":
        res = (below + above) * 0.5
    else:
        weight = make((ranks - lo).astype(a.dtype), input.device)
        if interpolation == "linear" and not scalar_q and q.requires_grad:
            # The weight as a function of q (where no NaN fixed the rank), for q's gradient.
            qw = q.reshape(-1, 1) * make((count - 1).astype(a.dtype), input.device) - make(
                lo.astype(a.dtype), input.device)
            weight = elementwise.where(make(fixed, input.device), weight, qw)
        res = elementwise.lerp(below, above, weight)
    res = res.squeeze(-1).movedim(-1, 0)  # (nq, the other dims...)
    if keepdim and dim is None:
        res = res.reshape((qa.size,) + (1,) * a.ndim)
    elif keepdim and a.ndim:
        res = res.unsqueeze(d + 1)
    return res[0] if scalar_q else res


@out_variant(dtype="exact", differentiable=True)
@autocast_op
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-th quantiles (``q`` a number or a 1-d tensor in [0, 1]) over ``dim`` (None: all
    elements); between data points ``interpolation`` is linear, lower, higher, midpoint or
    nearest. A slice containing NaN gives NaN. With a tensor ``q``, its dim comes first."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


@out_variant(dtype="exact", differentiable=True)
@autocast_op
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` ignoring NaN (NaN only for a slice of NaNs)."""
    return _quantile(input, q, dim, keepdim, interpolation, True)


class SortingMethods:
    """Tensor methods of this family."""

    __slots__ = ()
    msort = msort
    unique = unique
    unique_consecutive = unique_consecutive
    bincount = bincount
    histc = histc
    quantile = quantile
    nanquantile = nanquantile
