"""Searching, counting and quantiles (searchsorted, bucketize, unique, bincount, histc, quantile,
msort) against PyTorch: values, index dtypes, NaN placement, gradients and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
from tests.helpers import compare, gradcheck, needs_torch, rand

try:
    import torch
except ImportError:
    torch = None

NAN = float("nan")
R = np.random.default_rng(0)
SEQ = np.sort(R.standard_normal((2, 3, 6)), -1).astype(np.float32)
VALS = R.standard_normal((2, 3, 4)).astype(np.float32)
VALS[0, 0, 0] = SEQ[0, 0, 2]  # a tie with a boundary
VALS[1, 2, 3] = SEQ[1, 2, 5]


def _raises_like_pytorch(fn, exc, match):
    """``fn(torch)`` and ``fn(taimatsu)`` both raise ``exc`` with a message matching ``match``."""
    for lib in (torch, taimatsu):
        with pytest.raises(exc, match=match):
            fn(lib)


# ------------------------------------------------------------------ msort
@needs_torch
def test_msort(device):
    x = rand(4, 3, seed=1)
    compare(lambda T, t: T.msort(t), x, device=device)
    compare(lambda T, t: t.msort(), x, device=device, non_contiguous=True)
    compare(lambda T, t: T.msort(t), np.asarray(rand(1, seed=2)[0]), device=device)


# ------------------------------------------------------------------ searchsorted / bucketize
@needs_torch
@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_batched_and_1d(device, right):
    compare(lambda T, s, v: T.searchsorted(s, v, right=right), SEQ, VALS, device=device,
            grad=False)
    compare(lambda T, s, v: T.searchsorted(s[0, 0], v, right=right), SEQ, VALS, device=device,
            grad=False)
    compare(lambda T, s, v: T.searchsorted(s, v, side="right" if right else "left"), SEQ, VALS,
            device=device, grad=False)
    compare(lambda T, s, v: T.searchsorted(s[0], v[0].t(), right=right, out_int32=True),
            SEQ, VALS.swapaxes(-1, -2).copy(), device=device, grad=False)


@needs_torch
def test_searchsorted_forms(device):
    order = np.argsort(VALS[0, 0]).astype(np.int64)
    compare(lambda T, v, k: T.searchsorted(v[0, 0], v, sorter=k), VALS, order, device=device,
            grad=False)
    compare(lambda T, s: T.searchsorted(s[0, 0], 0.3), SEQ, device=device, grad=False)
    compare(lambda T, s: T.searchsorted(s[0, 0], s[0, 0, :0]), SEQ, device=device, grad=False)
    compare(lambda T, s: T.searchsorted(s[:, :, :0], s[:, :, :2]), SEQ, device=device,
            grad=False)
    ints = np.array([1, 3, 3, 5, 9])
    compare(lambda T, s: T.searchsorted(s, T.tensor([[3, 0], [9, 10]], device=s.device)), ints,
            device=device)
    compare(lambda T, s: T.searchsorted(s, T.tensor([2.5, 3.0], device=s.device)), ints,
            device=device)


@needs_torch
def test_searchsorted_nan_values(device):
    # (NaN boundaries are left out: PyTorch's binary search answers by the path it probes.)
    seq = np.array([1.0, 2.0, 2.5], np.float32)
    vals = np.array([NAN, 3.0, 1.0, 2.0], np.float32)
    compare(lambda T, s, v: T.searchsorted(s, v), seq, vals, device=device, grad=False)
    compare(lambda T, s, v: T.searchsorted(s, v, right=True), seq, vals, device=device,
            grad=False)


@needs_torch
@pytest.mark.parametrize("right", [False, True])
def test_bucketize(device, right):
    compare(lambda T, s, v: T.bucketize(v, s[1, 1], right=right), SEQ, VALS, device=device,
            grad=False)
    compare(lambda T, s, v: T.bucketize(v, s[0, 1], out_int32=True, right=right), SEQ, VALS,
            device=device, grad=False, non_contiguous=True)
    compare(lambda T: T.bucketize(T.tensor([[1, 5], [3, 9]]), T.tensor([1, 3, 5, 7]),
                                  right=right), device=device)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(0, 7), st.integers(0, 6), st.booleans(),
       st.integers(0, 10 ** 6))
def test_property_searchsorted_matches_pytorch(rows, n, m, right, seed):
    r = np.random.default_rng(seed)
    seq = np.sort(r.integers(-3, 4, (rows, n)), -1).astype(np.float64)  # many ties
    vals = r.integers(-4, 5, (rows, m)).astype(np.float64)
    ours = taimatsu.searchsorted(taimatsu.tensor(seq), taimatsu.tensor(vals), right=right)
    theirs = torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right)
    assert ours.dtype == taimatsu.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@needs_torch
@pytest.mark.parametrize("fn,match", [
    (lambda T: T.searchsorted(T.ones(2, 3), T.ones(2)),
     (r"boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
      r"tensor and input value tensor must match, but we got boundaries tensor \[2, 3\] and "
      r"input value tensor \[2\]")),
    (lambda T: T.searchsorted(T.ones(3), T.ones(1), side="left", right=True),
     "side and right can't be set to opposites, got side of left while right was True"),
    (lambda T: T.searchsorted(T.ones(3), T.ones(1), side="foo"),
     "side can only be 'left' or 'right' but got foo"),
    (lambda T: T.searchsorted(T.ones(3), T.ones(1), sorter=T.tensor([0, 1])),
     (r"boundary and sorter must have the same size, but got boundary tensor \[3\]and got "
      r"sorter tensor \[2\]")),
    (lambda T: T.searchsorted(T.ones(3), T.ones(1), sorter=T.tensor([0.0, 1, 2])),
     "sorter must be a tensor of long dtype but got dtype Float"),
    (lambda T: T.searchsorted(T.ones(3), T.ones(1), sorter=T.tensor([0, 1, 5])),
     "sorter index out of range"),
    (lambda T: T.bucketize(T.ones(1), T.ones(2, 3)),
     r"boundaries tensor must be 1 dimension, but got dim\(2\)"),
], ids=["shapes", "side_right", "side_name", "sorter_size", "sorter_dtype", "sorter_range",
        "bucketize_2d"])
def test_searchsorted_errors_match_pytorch(fn, match):
    _raises_like_pytorch(fn, RuntimeError, match)


# ------------------------------------------------------------------ unique
FLOATS = np.array([3, 1, NAN, 1, NAN, 2, 3, 3], np.float32)
ROWS = np.array([[1, 2], [1, 2], [0, 5], [0, 5], [1, 2], [0, 4]])


@needs_torch
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
def test_unique(device, inverse, counts):
    kw = {"return_inverse": inverse, "return_counts": counts}
    compare(lambda T, x: T.unique(x, **kw), FLOATS, device=device, grad=False)
    compare(lambda T, x: x.unique(sorted=False, **kw), FLOATS, device=device, grad=False)
    compare(lambda T, x: T.unique(x, **kw), ROWS, device=device, grad=False)
    compare(lambda T, x: T.unique(x, dim=0, **kw), ROWS, device=device, grad=False)
    compare(lambda T, x: T.unique(x, dim=1, **kw), ROWS, device=device, grad=False)
    compare(lambda T, x: T.unique(x, dim=-1, **kw), ROWS.T.copy(), device=device, grad=False,
            non_contiguous=True)
    compare(lambda T, x: T.unique(x, **kw), np.array(5), device=device, grad=False)
    compare(lambda T, x: T.unique(x, **kw), np.zeros((0, 3)), device=device, grad=False)
    compare(lambda T, x: T.unique(x, dim=0, **kw), np.zeros((0, 3)), device=device, grad=False)
    for fn in (taimatsu.unique, taimatsu.unique_consecutive):
        with pytest.raises(RuntimeError, match="There are 0 sized dimensions, and they aren't "
                           "selected, so unique cannot be applied"):
            fn(taimatsu.zeros(3, 0), dim=0, **kw)


@needs_torch
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
def test_unique_consecutive(device, inverse, counts):
    kw = {"return_inverse": inverse, "return_counts": counts}
    compare(lambda T, x: T.unique_consecutive(x, **kw), FLOATS, device=device, grad=False)
    compare(lambda T, x: x.unique_consecutive(**kw), ROWS, device=device, grad=False)
    compare(lambda T, x: T.unique_consecutive(x, dim=0, **kw), ROWS, device=device, grad=False)
    compare(lambda T, x: T.unique_consecutive(x, dim=1, **kw), ROWS, device=device, grad=False)
    compare(lambda T, x: T.unique_consecutive(x, **kw), np.array(5.0), device=device,
            grad=False)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 3), st.integers(0, 10 ** 6))
def test_property_unique_matches_pytorch(n, k, seed):
    x = np.random.default_rng(seed).integers(0, 3, (n, k))
    for dim in (None, 0, 1):
        ours = taimatsu.unique(taimatsu.tensor(x), dim=dim, return_inverse=True,
                               return_counts=True)
        theirs = torch.unique(torch.tensor(x), dim=dim, return_inverse=True, return_counts=True)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


# ------------------------------------------------------------------ bincount / histc
@needs_torch
def test_bincount(device):
    b = np.array([0, 1, 1, 3, 1])
    w32 = rand(5, seed=3)
    compare(lambda T, b, w: (T.bincount(b), b.bincount(w), T.bincount(b, minlength=7),
                             T.bincount(b, b), T.bincount(b, w.double(), 2)),
            b, w32, device=device, grad=False)
    compare(lambda T, b: T.bincount(b[:0], minlength=3), b, device=device)
    compare(lambda T, b: T.bincount(b.to(T.uint8)), b, device=device)


@needs_torch
@pytest.mark.parametrize("fn,exc,match", [
    (lambda T: T.bincount(T.tensor([-1])), RuntimeError,
     "bincount only supports 1-d non-negative integral inputs."),
    (lambda T: T.bincount(T.tensor([[1]])), RuntimeError,
     "bincount only supports 1-d non-negative integral inputs."),
    (lambda T: T.bincount(T.tensor([1.0])), NotImplementedError,
     "\"bincount_cpu\" not implemented for 'Float'"),
    (lambda T: T.bincount(T.tensor([1]), minlength=-1), RuntimeError,
     "minlength should be >= 0"),
    (lambda T: T.bincount(T.tensor([1]), T.tensor([1.0, 2])), RuntimeError,
     "weights should be 1-d and have the same length as input"),
    (lambda T: T.histc(T.tensor([1, 2])), NotImplementedError,
     "\"histogram_cpu\" not implemented for 'Long'"),
    (lambda T: T.histc(T.tensor([1.0]), bins=0), RuntimeError,
     "bins must be > 0, but got 0 for dimension 0"),
    (lambda T: T.histc(T.tensor([1.0]), min=2, max=1), RuntimeError,
     "max must be larger than min"),
    (lambda T: T.histc(T.tensor([1.0, float("inf")])), RuntimeError, "is not finite"),
], ids=["negative", "2d", "float", "minlength", "weights", "histc_int", "histc_bins",
        "histc_range", "histc_inf"])
def test_counting_errors_match_pytorch(fn, exc, match):
    _raises_like_pytorch(fn, exc, match)


@needs_torch
def test_histc(device):
    x = rand(4, 5, seed=4)
    compare(lambda T, t: (T.histc(t), t.histc(bins=4, min=-0.5, max=0.5),
                          T.histc(t[:1, :1], bins=4), T.histc(t, 7, -1, 1)),
            x, device=device, grad=False)
    compare(lambda T, t: T.histc(t, 3), np.array([1.0, 2, 3, 4], np.float64), device=device)
    compare(lambda T, t: T.histc(t, 3), np.zeros(0, np.float32), device=device)
    compare(lambda T, t: T.histc(t, 5, 0, 1), x, device=device, grad=False, non_contiguous=True)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(-5, 0), st.integers(0, 5), st.sampled_from([1, 3, 7, 10]),
       st.booleans(), st.integers(0, 10 ** 6))
def test_property_histc_edges_match_pytorch(bins, lo, hi, scale, f64, seed):
    # Values on and a rounding away from the bin edges land in PyTorch's bins.
    x = (np.random.default_rng(seed).integers(-20, 20, 40) / scale).astype(
        np.float64 if f64 else np.float32)
    for args in ((bins, lo, hi), (bins,)):
        ours = taimatsu.histc(taimatsu.tensor(x), *args)
        theirs = torch.histc(torch.tensor(x), *args)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ------------------------------------------------------------------ quantile
Q = np.array([0, 0.3, 0.5, 1], np.float32)
WITH_NAN = rand(3, 5, seed=5)
WITH_NAN[1, 2] = NAN
WITH_NAN[2, :] = NAN
INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


@needs_torch
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_quantile(device, name, interpolation):
    x = rand(3, 5, seed=6)

    def fn(*args, **kw):
        return lambda T, t, q: getattr(T, name)(t, *args, interpolation=interpolation, **kw)

    compare(lambda T, t, q: getattr(T, name)(t, q, interpolation=interpolation), x, Q,
            device=device)
    compare(lambda T, t, q: getattr(t, name)(0.4, 1, interpolation=interpolation), x, Q,
            device=device, non_contiguous=True)
    compare(lambda T, t, q: getattr(T, name)(t, q, 0, True, interpolation=interpolation),
            WITH_NAN, Q, device=device)
    compare(lambda T, t, q: getattr(T, name)(t, q, dim=1, keepdim=True,
                                             interpolation=interpolation), WITH_NAN, Q,
            device=device)
    compare(lambda T, t, q: getattr(T, name)(t, q, keepdim=True, interpolation=interpolation),
            x, Q, device=device)
    compare(lambda T, t, q: getattr(T, name)(t, 0.7, 0, True, interpolation=interpolation),
            np.array(2.0, np.float32), Q, device=device)


@pytest.mark.parametrize("interpolation", ["linear", "midpoint", "nearest"])
def test_quantile_gradcheck(device, interpolation):
    x = rand(3, 5, seed=7)
    gradcheck(lambda t, q: taimatsu.quantile(t, q, dim=1, interpolation=interpolation), x,
              np.array([0.2, 0.9]), device=device)
    gradcheck(lambda t: taimatsu.nanquantile(t, 0.35, interpolation=interpolation), x,
              device=device)


@needs_torch
@pytest.mark.parametrize("fn,match", [
    (lambda T: T.quantile(T.tensor([1, 2]), 0.5),
     "quantile\\(\\) input tensor must be either float or double dtype"),
    (lambda T: T.quantile(T.ones(3), 1.5),
     "quantile\\(\\) q must be in the range \\[0, 1\\] but got 1.5"),
    (lambda T: T.nanquantile(T.ones(3), T.tensor([0.5, -0.1])),
     "quantile\\(\\) q values must be in the range"),
    (lambda T: T.quantile(T.ones(3), T.ones(1, 1) / 2), "q must be a scalar or 1D tensor"),
    (lambda T: T.quantile(T.ones(3), T.ones(1, dtype=T.float64) / 2),
     "q tensor must be same dtype as the input tensor"),
    (lambda T: T.quantile(T.ones(0), 0.5), "input tensor must be non-empty"),
    (lambda T: T.nanquantile(T.ones(2, 0), 0.5, 1), "input tensor must be non-empty"),
    (lambda T: T.quantile(T.ones(3), 0.5, interpolation="foo"),
     "interpolation must be one of linear, lower, higher, midpoint or nearest, but got foo"),
], ids=["int", "q_range", "q_tensor_range", "q_2d", "q_dtype", "empty", "empty_dim",
        "interpolation"])
def test_quantile_errors_match_pytorch(fn, match):
    _raises_like_pytorch(fn, RuntimeError, match)
