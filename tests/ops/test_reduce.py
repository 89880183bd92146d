"""Reductions, scans, softmax and sorting against PyTorch, plus float64 gradchecks."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
from tests.helpers import compare, gradcheck, needs_torch, to_np

INF = float("inf")

# Both libraries warn about var/std with no degrees of freedom left; test_var_warns checks ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")


def distinct(*shape, seed=0):
    """float32 data without ties (so max/sort gradients are unambiguous), away from zero."""
    n = math.prod(shape)
    vals = np.random.default_rng(seed).permutation(n).astype(np.float32) / max(n, 1)
    vals = (vals + 0.1 * np.sign(vals - 0.5) + 0.05) * 2 - 1
    return np.asarray(vals.astype(np.float32).reshape(shape))


# ------------------------------------------------------------------ reductions over many dims
# (name, fn(T, x, dim, keepdim), accepts dim=None, differentiable, needs non-empty slices)
MULTI = [
    ("sum", lambda T, x, d, k: T.sum(x, d, k) if d is not None else x.sum(), True, True, False),
    ("sum_kw", lambda T, x, d, k: x.sum(dim=d, keepdim=k), False, True, False),
    ("sum_f64", lambda T, x, d, k: x.sum(d, keepdim=k, dtype=T.float64), False, True, False),
    ("mean", lambda T, x, d, k: x.mean(d, k) if d is not None else T.mean(x), True, True, False),
    ("nansum", lambda T, x, d, k: T.nansum(x, d, k) if d is not None else x.nansum(), True,
     True, False),
    ("nanmean", lambda T, x, d, k: x.nanmean(d, k) if d is not None else x.nanmean(), True,
     True, False),
    ("amax", lambda T, x, d, k: T.amax(x, d, k) if d is not None else x.amax(), True, True, True),
    ("amin", lambda T, x, d, k: x.amin(d, k) if d is not None else T.amin(x), True, True, True),
    ("var", lambda T, x, d, k: T.var(x, d, keepdim=k), True, True, False),
    ("var_c0", lambda T, x, d, k: x.var(d, keepdim=k, correction=0), True, True, False),
    ("var_legacy", lambda T, x, d, k: x.var(d, False, k), False, True, False),
    ("std", lambda T, x, d, k: T.std(x, d, keepdim=k), True, True, False),
    ("std_c2", lambda T, x, d, k: x.std(d, keepdim=k, correction=2), True, True, False),
    ("var_mean", lambda T, x, d, k: T.var_mean(x, d, keepdim=k), True, True, False),
    ("std_mean", lambda T, x, d, k: T.std_mean(x, d, True, k), False, True, False),
    ("logsumexp", lambda T, x, d, k: T.logsumexp(x, d, k), False, True, False),
    ("norm", lambda T, x, d, k: T.norm(x, dim=d, keepdim=k), True, True, False),
    ("norm1", lambda T, x, d, k: x.norm(1, d, k), True, True, False),
    ("norm_inf", lambda T, x, d, k: x.norm(INF, d, k), True, True, True),
    ("norm_ninf", lambda T, x, d, k: T.norm(x, -INF, d, k), True, True, True),
    ("norm3", lambda T, x, d, k: x.norm(3, d, k), True, True, False),
    ("norm0.5", lambda T, x, d, k: x.norm(0.5, d, k), True, True, False),
    ("norm0", lambda T, x, d, k: x.norm(0, d, k), True, True, False),
    ("all", lambda T, x, d, k: T.all(x, d, k) if d is not None else x.all(), True, False, False),
    ("any", lambda T, x, d, k: x.any(d, k) if d is not None else T.any(x), True, False, False),
    ("count_nonzero", lambda T, x, d, k: T.count_nonzero(x, d), True, False, False),
]
MULTI_CASES = [  # (shape, dim, keepdim)
    ((2, 3, 4), None, False), ((2, 3, 4), 1, False), ((2, 3, 4), (0, 2), True),
    ((2, 3, 4), (-1, 0), False), ((2, 3, 4), -1, True), ((), None, False), ((), 0, True),
    ((), -1, False), ((2, 0, 3), 2, False), ((2, 0, 3), 1, True), ((0,), None, False),
]


def _multi_params():
    for name, fn, none_ok, diff, nonempty in MULTI:
        for shape, dim, keepdim in MULTI_CASES:
            if dim is None and not none_ok:
                continue
            empty_slice = 0 in shape and (dim is None or any(
                shape[d] == 0 for d in ((dim,) if isinstance(dim, int) else dim)))
            if nonempty and empty_slice:
                continue
            yield pytest.param(fn, shape, dim, keepdim, diff, id=f"{name}-{shape}-{dim}-{keepdim}")


@needs_torch
@pytest.mark.parametrize("fn,shape,dim,keepdim,diff", list(_multi_params()))
def test_multi_dim_reductions(device, fn, shape, dim, keepdim, diff):
    x = distinct(*shape)
    compare(lambda T, t: fn(T, t, dim, keepdim), x, device=device)
    if len(shape) == 3 and isinstance(dim, int) and x.size:
        compare(lambda T, t: fn(T, t, dim, keepdim), x, device=device, non_contiguous=True)
    out = fn(taimatsu, taimatsu.tensor(x, device=device), dim, keepdim)
    finite = all(np.isfinite(to_np(o)).all() for o in (out if isinstance(out, tuple) else [out]))
    if diff and x.size and finite:  # (var of one element is NaN: nothing to check)
        gradcheck(lambda t: fn(taimatsu, t, dim, keepdim), x, device=device)


# ------------------------------------------------------------------ reductions over one dim
# (name, fn(T, x, dim, keepdim), differentiable)
SINGLE = [
    ("prod", lambda T, x, d, k: T.prod(x, d, k), True),
    ("max_dim", lambda T, x, d, k: T.max(x, d, k), True),
    ("min_dim", lambda T, x, d, k: x.min(d, keepdim=k), True),
    ("argmax", lambda T, x, d, k: T.argmax(x, d, k), False),
    ("argmin", lambda T, x, d, k: x.argmin(dim=d, keepdim=k), False),
    ("kthvalue", lambda T, x, d, k: T.kthvalue(x, 1, d, k), True),
    ("median_dim", lambda T, x, d, k: x.median(d, k), True),
    ("cumsum", lambda T, x, d, k: T.cumsum(x, d), True),
    ("cumprod", lambda T, x, d, k: x.cumprod(d), True),
    ("softmax", lambda T, x, d, k: T.softmax(x, d), True),
    ("log_softmax", lambda T, x, d, k: x.log_softmax(d), True),
    ("sort", lambda T, x, d, k: T.sort(x, d, k), True),
    ("argsort", lambda T, x, d, k: T.argsort(x, d, k), False),
    ("topk", lambda T, x, d, k: x.topk(1 if x.dim() == 0 else x.shape[d] // 2, d, k), True),
]
SINGLE_CASES = [((2, 3, 4), 1, False), ((2, 3, 4), -1, True), ((2, 3, 4), 0, False),
                ((), 0, False), ((), -1, True), ((0, 3), 1, True), ((5,), 0, False)]
_NEEDS_NONEMPTY_DIM = {"max_dim", "min_dim", "kthvalue", "median_dim"}


def _single_params():
    for name, fn, diff in SINGLE:
        for shape, dim, keepdim in SINGLE_CASES:
            if 0 in shape and name in _NEEDS_NONEMPTY_DIM and shape[dim] == 0:
                continue
            yield pytest.param(fn, shape, dim, keepdim, diff, id=f"{name}-{shape}-{dim}-{keepdim}")


@needs_torch
@pytest.mark.parametrize("fn,shape,dim,keepdim,diff", list(_single_params()))
def test_single_dim_reductions(device, fn, shape, dim, keepdim, diff):
    x = distinct(*shape)
    compare(lambda T, t: fn(T, t, dim, keepdim), x, device=device)
    if len(shape) == 3:
        compare(lambda T, t: fn(T, t, dim, keepdim), x, device=device, non_contiguous=True)
    if diff and x.size:
        gradcheck(lambda t: fn(taimatsu, t, dim, keepdim), np.asarray(x + 0.5, np.float64),
                  device=device)


# ------------------------------------------------------------------ full reductions
@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x: x.max(), lambda T, x: T.min(x), lambda T, x: x.median(),
    lambda T, x: x.prod(), lambda T, x: T.aminmax(x), lambda T, x: T.aminmax(x, dim=-1),
], ids=["max", "min", "median", "prod", "aminmax", "aminmax_dim"])
@pytest.mark.parametrize("shape", [(2, 3), (5,), ()], ids=str)
def test_full_reductions(device, fn, shape):
    x = distinct(*shape)
    compare(fn, x, device=device)
    gradcheck(lambda t: fn(taimatsu, t), x.astype(np.float64), device=device)


# ------------------------------------------------------------------ gradients at special points
@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_gradient_with_zeros(device, dim):
    x = np.array([[0.0, 2.0, 3.0, 0.5], [1.5, 0.0, 0.0, 2.0], [1.0, -2.0, 0.5, 3.0]], np.float32)
    fn = (lambda T, t: t.prod()) if dim is None else (lambda T, t: T.prod(t, dim, True))
    compare(fn, x, device=device)
    gradcheck(lambda t: fn(taimatsu, t), x.astype(np.float64), device=device)


@needs_torch
def test_prod_gradient_single_zero_everywhere(device):
    compare(lambda T, t: t.prod(), np.array([0.0, 2.0, 3.0], np.float32), device=device)
    compare(lambda T, t: t.prod(0), np.array(0.0, np.float32), device=device)


@needs_torch
@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradient_with_zeros(device, dim):
    x = np.array([[2.0, 0.0, 3.0, 0.0, 2.0], [0.0, 2.0, 0.5, 3.0, 1.5],
                  [1.0, 2.0, 0.5, -3.0, 0.0]], np.float32)
    compare(lambda T, t: T.cumprod(t, dim), x, device=device)
    # Second derivatives of cumprod are exact only away from zeros (as documented in reduce.py).
    gradcheck(lambda t: taimatsu.cumprod(t, dim), x.astype(np.float64), device=device,
              second_order=False)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x: x.max(), lambda T, x: x.min(), lambda T, x: T.amax(x, 1),
    lambda T, x: T.amin(x, (0, 1), True), lambda T, x: x.max(1), lambda T, x: x.min(0),
    lambda T, x: x.norm(INF), lambda T, x: x.norm(-INF, 1), lambda T, x: x.median(),
    lambda T, x: x.median(1),
], ids=["max", "min", "amax", "amin", "max_dim", "min_dim", "norm_inf", "norm_ninf", "median",
        "median_dim"])
def test_ties_share_gradient_like_pytorch(device, fn):
    x = np.array([[1.0, 3.0, 3.0, -3.0], [2.0, 2.0, -1.0, 2.0], [-3.0, 0.5, -3.0, 3.0]],
                 np.float32)
    compare(fn, x, device=device)


@needs_torch
@pytest.mark.parametrize("p", [2, 3, 1.5, "fro"])
def test_norm_gradient_at_zero_is_zero(device, p):
    x = np.zeros((2, 3), np.float32)
    compare(lambda T, t: t.norm(p), x, device=device)
    compare(lambda T, t: T.norm(t, p, 1), x, device=device)
    t = taimatsu.zeros(3, requires_grad=True, device=device)
    t.norm(p).backward()
    assert np.array_equal(to_np(t.grad), np.zeros(3))


@needs_torch
def test_norm_with_some_zero_entries(device):
    x = np.array([[0.0, 2.0, -3.0], [0.0, 0.0, 0.0], [1.0, 0.0, -1.0]], np.float32)
    for p in (2, 3, 1, 0.5):
        compare(lambda T, t, p=p: T.norm(t, p, 1), x, device=device)
    compare(lambda T, t: t.norm(dtype=T.float64), x, device=device)


@needs_torch
def test_std_gradient_is_zero_for_constant_input(device):
    compare(lambda T, t: t.std(1), np.ones((2, 3), np.float32), device=device)


def test_var_warns_without_degrees_of_freedom(device):
    x = taimatsu.ones(3, 1, device=device)
    with pytest.warns(UserWarning, match="var\\(\\): degrees of freedom is <= 0"):
        x.var(1)
    with pytest.warns(UserWarning, match="std\\(\\): degrees of freedom is <= 0"):
        taimatsu.std(x, correction=3)


@needs_torch
def test_var_degenerate_degrees_of_freedom(device):
    x = distinct(3, 1)
    for fn in (lambda T, t: t.var(1), lambda T, t: t.std(0, correction=3),
               lambda T, t: t.std(1), lambda T, t: T.var(t, 0, correction=3)):
        compare(fn, x, device=device)
    compare(lambda T, t: T.var(t, correction=5), x, device=device, grad=False)


def test_second_order_through_softmax_and_var(device):
    x = distinct(3, 4).astype(np.float64)
    for fn in (lambda t: taimatsu.softmax(t, 1) * taimatsu.softmax(t, 0),
               lambda t: t.log_softmax(0) * t.log_softmax(1), lambda t: t.var(0) * t.std(1, keepdim=True), lambda t: t.logsumexp(1) * t.sum(1)):
        gradcheck(fn, x, device=device)


# ------------------------------------------------------------------ numerics
@needs_torch
def test_softmax_is_stable(device):
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0], [0.0, -INF, 1.0]],
                 np.float32)
    for fn in (lambda T, t: T.softmax(t, 1), lambda T, t: t.log_softmax(1),
               lambda T, t: T.logsumexp(t, 1), lambda T, t: t.log_softmax(0)):
        compare(fn, x, device=device)


@needs_torch
def test_logsumexp_infinities(device):
    x = np.array([[-INF, -INF], [INF, 1.0], [-INF, 2.0]], np.float32)
    compare(lambda T, t: T.logsumexp(t, 1), x, device=device, grad=False)


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_dtype_argument(device, dtype):
    x = distinct(2, 5)
    compare(lambda T, t: T.softmax(t, -1, dtype=getattr(T, dtype)), x, device=device)
    compare(lambda T, t: t.log_softmax(0, getattr(T, dtype)), x, device=device)
    compare(lambda T, t: t.cumsum(1, dtype=getattr(T, dtype)), x, device=device)


@needs_torch
def test_nan_propagates(device):
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0], [np.nan, 0.0, np.nan]], np.float32)
    for fn in (lambda T, t: t.max(), lambda T, t: t.min(), lambda T, t: T.amax(t, 1),
               lambda T, t: t.max(1), lambda T, t: T.min(t, 1), lambda T, t: t.argmax(1),
               lambda T, t: t.argmin(), lambda T, t: t.sort(1), lambda T, t: t.sort(1, True),
               lambda T, t: t.median(), lambda T, t: t.median(1), lambda T, t: t.topk(2, 1),
               lambda T, t: T.nansum(t, 1), lambda T, t: t.nanmean(), lambda T, t: t.sum(0)):
        compare(fn, x, device=device)


@needs_torch
def test_nanmean_of_all_nan_slice(device):
    x = np.array([[np.nan, np.nan], [1.0, np.nan]], np.float32)
    compare(lambda T, t: t.nanmean(1), x, device=device)


# ------------------------------------------------------------------ sorting
@needs_torch
@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_with_ties(device, descending):
    x = np.array([[3, 1, 2, 1, 3, 2, 1], [0, 0, 0, 1, 1, 0, 1]], np.float32)
    compare(lambda T, t: T.sort(t, dim=1, descending=descending, stable=True), x, device=device)
    compare(lambda T, t: T.sort(t, dim=0, descending=descending, stable=True), x, device=device)
    compare(lambda T, t: t.argsort(dim=1, descending=descending, stable=True), x, device=device)
    xi = x.astype(np.int64)
    compare(lambda T, t: t.sort(stable=True, descending=descending), xi, device=device)


@needs_torch
@pytest.mark.parametrize("largest", [True, False])
def test_topk(device, largest):
    x = distinct(3, 6)
    for k in (0, 1, 3, 6):
        compare(lambda T, t, k=k: T.topk(t, k, 1, largest), x, device=device)
        compare(lambda T, t, k=k: t.topk(k, dim=1, largest=largest, sorted=True), x, device=device,
                non_contiguous=True)
    compare(lambda T, t: t.topk(2, 0, largest), x, device=device)
    with pytest.raises(RuntimeError, match="k out of range"):
        taimatsu.tensor(x, device=device).topk(7)


@needs_torch
def test_kthvalue_and_median(device):
    x = distinct(4, 5)
    for k in (1, 3, 5):
        compare(lambda T, t, k=k: t.kthvalue(k), x, device=device)
        compare(lambda T, t, k=k: T.kthvalue(t, k, 1, True), x, device=device)
    compare(lambda T, t: t.kthvalue(2, 0), x, device=device)
    compare(lambda T, t: T.median(t, 0), x, device=device)
    compare(lambda T, t: T.median(t), distinct(6), device=device)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range"):
        taimatsu.tensor(x, device=device).kthvalue(6)


# ------------------------------------------------------------------ dtypes
@needs_torch
def test_integer_and_bool_inputs(device):
    xi = np.array([[1, -2, 3], [4, 5, -6]], np.int32)
    xb = np.array([[True, False, True], [True, True, True]])
    xu = np.array([[1, 0, 3], [4, 5, 6]], np.uint8)
    for a in (xi, xb, xu):
        for fn in (lambda T, t: t.sum(), lambda T, t: T.sum(t, 1), lambda T, t: t.prod(0),
                   lambda T, t: t.cumsum(1), lambda T, t: T.cumprod(t, 0), lambda T, t: t.all(),
                   lambda T, t: T.any(t, 0), lambda T, t: t.max(), lambda T, t: t.amin(1),
                   lambda T, t: t.count_nonzero(), lambda T, t: t.max(1), lambda T, t: t.sort(dim=1, stable=True),
                   lambda T, t: t.mean(dtype=T.float64), lambda T, t: t.sum(dtype=T.float32),
                   lambda T, t: T.logsumexp(t, 1) if t.dtype != T.bool else t.sum()):
            compare(fn, a, device=device)
        if a.dtype != bool:
            compare(lambda T, t: t.argmax(1), a, device=device)
            compare(lambda T, t: t.nansum(), a, device=device)


@pytest.mark.parametrize("fn,exc,match", [
    (lambda t: t.mean(), RuntimeError,
     "mean\\(\\): could not infer output dtype. Input dtype must be .* Got: Long"),
    (lambda t: t.mean(dtype=taimatsu.int32), RuntimeError, "Optional dtype .* Got: Int"),
    (lambda t: t.var(), RuntimeError, "std and var only support floating point"),
    (lambda t: t.std(0), RuntimeError, "std and var only support floating point"),
    (lambda t: t.softmax(0), NotImplementedError, "not implemented for 'Long'"),
    (lambda t: t.norm(), RuntimeError,
     "Expected a floating point or complex tensor as input. Got Long"),
    (lambda t: t.nanmean(), RuntimeError, "floating point"),
    (lambda t: t.bool().argmax(), RuntimeError, "argmax\\(\\): does not support bool input"),
    (lambda t: t.sum(3), IndexError,
     "Dimension out of range \\(expected to be in range of \\[-2, 1\\], but got 3\\)"),
    (lambda t: t.sum((0, 0)), RuntimeError, "appears multiple times"),
])
def test_dtype_and_dim_errors(device, fn, exc, match):
    t = taimatsu.tensor([[1, 2], [3, 4]], device=device)
    with pytest.raises(exc, match=match):
        fn(t)
    assert t.tolist() == [[1, 2], [3, 4]]


# ------------------------------------------------------------------ empty inputs
@pytest.mark.parametrize("fn,exc,match", [
    (lambda t: t.max(), RuntimeError,
     ("max\\(\\): Expected reduction dim to be specified for input.numel\\(\\) == 0. "
      "Specify the reduction dim with the 'dim' argument.")),
    (lambda t: taimatsu.min(t), RuntimeError, "min\\(\\): Expected reduction dim to be specified"),
    (lambda t: t.amax(), RuntimeError, "amax\\(\\): Expected reduction dim to be specified"),
    (lambda t: t.amax(0), IndexError,
     "amax\\(\\): Expected reduction dim 0 to have non-zero size."),
    (lambda t: t.max(0), IndexError, "max\\(\\): Expected reduction dim 0 to have non-zero"),
    (lambda t: t.argmax(), IndexError, "argmax\\(\\): Expected reduction dim to be specified"),
    (lambda t: t.argmin(0), IndexError, "argmin\\(\\): Expected reduction dim 0"),
    (lambda t: t.median(0), IndexError, "median\\(\\): Expected reduction dim 0"),
    (lambda t: t.norm(INF), RuntimeError, "cannot compute the inf norm on an empty tensor"),
])
def test_empty_reduction_errors(device, fn, exc, match):
    t = taimatsu.zeros(0, 3, device=device)
    with pytest.raises(exc, match=match):
        fn(t)


@needs_torch
def test_empty_reductions_with_identity(device):
    x = np.zeros((0, 3), np.float32)
    for fn in (lambda T, t: t.sum(), lambda T, t: t.prod(), lambda T, t: t.mean(),
               lambda T, t: T.logsumexp(t, 0), lambda T, t: t.norm(), lambda T, t: t.std(),
               lambda T, t: t.median(), lambda T, t: t.all(), lambda T, t: t.any(0),
               lambda T, t: t.max(1), lambda T, t: t.softmax(0), lambda T, t: t.sort(0),
               lambda T, t: t.cumsum(0), lambda T, t: t.count_nonzero(), lambda T, t: t.var(0)):
        compare(fn, x, device=device)


# ------------------------------------------------------------------ API details
def test_return_types(device):
    x = taimatsu.tensor([[1.0, 5.0], [7.0, 2.0]], device=device)
    r = x.max(1)
    values, indices = r
    assert r.values is values and r.indices is indices and r[0] is values
    assert isinstance(r, tuple) and isinstance(r, taimatsu.return_types.max)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert repr(r).startswith("taimatsu.return_types.max(\nvalues=tensor(")
    assert type(x.sort()).__name__ == "sort" and x.topk(1)._fields == ("values", "indices")
    assert taimatsu.aminmax(x)._fields == ("min", "max")
    assert pickle.loads(pickle.dumps(x.min(0).indices)).tolist() == [0, 1]
    assert type(pickle.loads(pickle.dumps(taimatsu.return_types.min(1, 2)))) is \
        taimatsu.return_types.min


def test_indices_are_not_differentiable(device):
    x = taimatsu.tensor([[1.0, 5.0], [7.0, 2.0]], device=device, requires_grad=True)
    for r in (x.max(1), x.sort(0), x.topk(1), x.kthvalue(1), x.median(1)):
        assert r.values.requires_grad and not r.indices.requires_grad
        assert r.indices.dtype is taimatsu.int64
    assert x.max(0).values.grad_fn.name() == "MaxBackward0"


def test_max_with_other_is_elementwise_maximum(device):
    if not hasattr(taimatsu, "maximum"):
        pytest.skip("elementwise maximum/minimum not written yet")
    a = taimatsu.tensor([1.0, 5.0, 3.0], device=device)
    b = taimatsu.tensor([4.0, 2.0, 3.0], device=device)
    assert taimatsu.max(a, b).tolist() == [4.0, 5.0, 3.0]
    assert a.min(b).tolist() == [1.0, 2.0, 3.0]


@needs_torch
def test_var_signatures(device):
    x = distinct(3, 4)
    for fn in (lambda T, t: t.var(1, True, True), lambda T, t: T.var(t, False),
               lambda T, t: t.std(unbiased=False), lambda T, t: T.std(t, 0, False),
               lambda T, t: t.var(dim=1, correction=0.5), lambda T, t: T.var_mean(t, 1, False),
               lambda T, t: T.std_mean(t, dim=(0, 1), correction=0, keepdim=True)):
        compare(fn, x, device=device)
    with pytest.raises(RuntimeError):
        taimatsu.tensor(x, device=device).var(0, True, correction=1)


@needs_torch
def test_dim_empty_tuple_means_all(device):
    x = distinct(2, 3)
    for fn in (lambda T, t: t.sum(dim=()), lambda T, t: t.mean([]), lambda T, t: T.amax(t, ()),
               lambda T, t: t.amin(dim=[], keepdim=True)):
        compare(fn, x, device=device)


@pytest.mark.parametrize("shape", [(3, 4), (), (0, 2)])
def test_full_sum_gradient_is_a_read_only_broadcast(shape, device):
    # The full sum's backward hands on a zero-stride view of the 0-d gradient (not a copy):
    # writes into it fail as into any expanded tensor, and a leaf's .grad is its own memory.
    x = taimatsu.ones(*shape, device=device, requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(seen.append)
    y.sum().backward(taimatsu.tensor(3.0, device=device))
    (g,) = seen
    assert g.shape == shape and np.array_equal(to_np(g), np.full(shape, 3.0, np.float32))
    if g.numel() > 1:
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            g.add_(1)
    assert np.array_equal(to_np(x.grad), np.full(shape, 6.0, np.float32))
    x.grad.add_(1)  # owns its memory
    assert np.array_equal(to_np(x.grad), np.full(shape, 7.0, np.float32))


def test_full_sum_second_order(device):
    x = taimatsu.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (g,) = taimatsu.autograd.grad((x * x).sum(), x, create_graph=True)
    assert g.grad_fn is not None
    g.sum().backward()
    assert np.array_equal(to_np(x.grad), [2.0, 2.0, 2.0])


def test_sum_to_size(device):
    x = taimatsu.ones(2, 3, 4, device=device, requires_grad=True)
    for size, want in (((3, 1), [[8.0]] * 3), ((1, 4), [[6.0] * 4]), ((2, 3, 4), None)):
        y = x.sum_to_size(*size) if len(size) > 1 else x.sum_to_size(size)
        assert tuple(y.shape) == size
        if want is not None:
            assert y.tolist() == want
    assert x.sum_to_size((2, 3, 4)) is x
    x.sum_to_size(3, 1).sum().backward()
    assert np.array_equal(to_np(x.grad), np.ones((2, 3, 4)))
    with pytest.raises(RuntimeError, match="is not expandable to size"):
        x.sum_to_size(3)
    with pytest.raises(RuntimeError, match="is not expandable to size"):
        x.sum_to_size(1, 2, 3, 4)


def test_saved_tensor_modified_in_place_is_detected(device):
    x = taimatsu.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * 1
    z = y.prod()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


# ------------------------------------------------------------------ property test
REDUCERS = {
    "sum": lambda T, x, d, k: T.sum(x, d, k),
    "mean": lambda T, x, d, k: T.mean(x, d, k),
    "amax": lambda T, x, d, k: T.amax(x, d, k),
    "var": lambda T, x, d, k: T.var(x, d, keepdim=k),
    "logsumexp": lambda T, x, d, k: T.logsumexp(x, d, k),
    "norm": lambda T, x, d, k: T.norm(x, 2, d, k),
}


@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                         max_size=len(shape), unique_by=lambda d: d % len(shape)))
    return shape, tuple(dims), draw(st.booleans()), draw(st.sampled_from(sorted(REDUCERS)))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shape_and_dims())
def test_property_random_reductions(case):
    shape, dims, keepdim, name = case
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    compare(lambda T, t: REDUCERS[name](T, t, dims, keepdim), x, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_is_numpys_bit_for_bit(dtype, dim, keepdim):
    # mean() computes sum / n itself (NumPy's mean has ~8 us of Python bookkeeping).
    a = (np.random.default_rng(3).standard_normal((5, 7, 3)) * 1e3).astype(dtype)
    got = taimatsu.tensor(a).mean(dim, keepdim).numpy()
    want = a.mean(axis=dim, keepdims=keepdim)
    assert got.dtype == want.dtype and got.shape == np.shape(want)
    assert np.array_equal(got, want)


def test_sum_to_size_bias_gradient(device):
    # Only leading dims summed away (the engine's bias case), and leading plus size-1 dims.
    x = np.random.default_rng(4).standard_normal((4, 2, 3)).astype(np.float32)
    t = taimatsu.tensor(x, device=device)
    assert np.allclose(to_np(t.sum_to_size(3)), x.sum(axis=(0, 1)))
    assert np.allclose(to_np(t.sum_to_size(2, 1)), x.sum(axis=(0, 2))[:, None])
    assert np.allclose(to_np(t.sum_to_size(1, 1, 3)), x.sum(axis=(0, 1), keepdims=True))


# ------------------------------------------------------------------ cummax / cummin / logcumsumexp
TIES = np.array([[1.0, 3.0, 3.0, np.nan, 2.0, np.nan], [2.0, 2.0, -1.0, -1.0, 5.0, 0.5]],
                np.float32)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x, d: T.cummax(x, d), lambda T, x, d: x.cummin(d),
    lambda T, x, d: T.logcumsumexp(x, d), lambda T, x, d: x.logcumsumexp(dim=d),
], ids=["cummax", "cummin", "logcumsumexp", "logcumsumexp_method"])
@pytest.mark.parametrize("shape,dim", [((3, 4, 5), 1), ((3, 4, 5), -1), ((3, 4, 5), 0),
                                       ((), 0), ((2, 0), 1), ((6,), -1)], ids=str)
def test_scans_match_pytorch(device, fn, shape, dim):
    x = distinct(*shape)
    compare(lambda T, t: fn(T, t, dim), x, device=device)
    if len(shape) == 3:
        compare(lambda T, t: fn(T, t, dim), x, device=device, non_contiguous=True)
    if x.size:
        gradcheck(lambda t: fn(taimatsu, t, dim), x.astype(np.float64), device=device)


@needs_torch
def test_cummax_cummin_ties_nan_and_integers(device):
    for fn in (lambda T, x: T.cummax(x, 1), lambda T, x: T.cummin(x, 1)):
        compare(fn, TIES, device=device)
        compare(fn, np.array([[3, 1, 3, 5, 5], [0, 0, -2, 7, -2]]), device=device)
        compare(fn, np.array([[True, False, True]]), device=device)


@needs_torch
def test_logcumsumexp_extreme_values(device):
    x = np.array([-1000.0, 0.0, -np.inf, 50.0, np.inf, 3.0], np.float32)
    compare(lambda T, t: T.logcumsumexp(t, 0), x, device=device, grad=False)
    compare(lambda T, t: T.logcumsumexp(t, 0), np.array([-1000.0, 0.0, 80.0, -5.0], np.float32),
            device=device)
    with pytest.raises(NotImplementedError, match="\"logcumsumexp_out_cpu\" not implemented "
                       "for 'Long'"):
        taimatsu.logcumsumexp(taimatsu.tensor([1, 2]), 0)


def test_return_type_names(device):
    x = taimatsu.tensor([1.0, 2.0], device=device)
    assert type(taimatsu.cummax(x, 0)).__qualname__ == "return_types.cummax"
    assert taimatsu.cummin(x, 0).indices.dtype == taimatsu.int64
    assert taimatsu.mode(x).values.item() == 1.0


# ------------------------------------------------------------------ mode
@needs_torch
@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), (-1, True)])
def test_mode_matches_pytorch(device, dim, keepdim):
    x = np.array([[3, 1, 3, 1, 2], [5, 5, 4, 4, 4], [7, 7, 7, 7, 7]], np.float32)
    compare(lambda T, t: T.mode(t, dim, keepdim), x, device=device)
    compare(lambda T, t: t.mode(dim, keepdim), x, device=device, non_contiguous=True)
    compare(lambda T, t: T.mode(t, dim, keepdim), x.astype(np.int64), device=device)
    # (with all values distinct the mode is the smallest, which a small perturbation keeps)
    gradcheck(lambda t: taimatsu.mode(t, dim, keepdim)[0], distinct(3, 5).astype(np.float64),
              device=device)


@needs_torch
def test_mode_edge_cases(device):
    compare(lambda T, t: T.mode(t), np.array([2.0, np.nan, np.nan, 1.0], np.float32),
            device=device)
    compare(lambda T, t: T.mode(t, 0), np.array(3.0, np.float32), device=device)
    compare(lambda T, t: T.mode(t, 1), np.zeros((0, 2), np.float32), device=device)
    with pytest.raises(IndexError, match=r"mode\(\): Expected reduction dim 1 to have non-zero "
                       "size"):
        taimatsu.mode(taimatsu.zeros(2, 0, device=device), 1)


# ------------------------------------------------------------------ scatter_reduce
SR_INDEX = np.array([[0, 1, 0, 2, 1], [2, 2, 2, 0, 0]])
SR_INPUT = np.random.default_rng(7).standard_normal((3, 5))
SR_SRC = np.random.default_rng(8).standard_normal((2, 5))
REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]


@needs_torch
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_matches_pytorch(device, reduce, include_self):
    def fn(dim, index):
        return lambda T, x, s: T.scatter_reduce(x, dim, T.tensor(index, device=x.device), s,
                                                reduce, include_self=include_self)

    compare(fn(1, SR_INDEX), SR_INPUT, SR_SRC, device=device, atol=1e-8)
    compare(fn(0, SR_INDEX % 3), SR_INPUT.astype(np.float32), SR_SRC.astype(np.float32),
            device=device)
    # (an index smaller than src: PyTorch's backward fails on the shapes; ours is gradchecked)
    compare(fn(1, SR_INDEX[:1, :3]), SR_INPUT, SR_SRC, device=device, non_contiguous=True,
            atol=1e-8, grad=False)
    compare(lambda T, x, s: x.scatter_reduce(0, T.tensor([1, 1, 0], device=x.device), s, reduce,
                                             include_self=include_self),
            SR_INPUT[0, :2].copy(), SR_SRC[0, :3].copy(), device=device, atol=1e-8)
    compare(fn(1, SR_INDEX), (SR_INPUT * 3).astype(np.int64), (SR_SRC * 3).astype(np.int64),
            device=device)
    index = taimatsu.tensor(SR_INDEX, device=device)
    gradcheck(lambda x, s: taimatsu.scatter_reduce(x, 1, index, s, reduce,
                                                   include_self=include_self),
              SR_INPUT, SR_SRC, device=device)
    gradcheck(lambda x, s: x.scatter_reduce(1, index[:1, :3].contiguous(), s, reduce,
                                            include_self=include_self),
              SR_INPUT, SR_SRC, device=device)


@needs_torch
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_ties_and_zeros(device, reduce):
    x = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 3.0]])
    s = np.array([[2.0, 0.0, 2.0, 1.0], [3.0, 3.0, 0.0, 0.0]])
    index = np.array([[0, 0, 2, 1], [1, 2, 1, 0]])
    for include_self in (True, False):
        compare(lambda T, a, b, inc=include_self: T.scatter_reduce(
            a, 1, T.tensor(index, device=a.device), b, reduce, include_self=inc), x, s,
            device=device)


@needs_torch
def test_scatter_reduce_inplace(device):
    def fn(T, x, s):
        y = x * 1
        y.scatter_reduce_(1, T.tensor(SR_INDEX, device=x.device), s, "amax", include_self=False)
        return y

    compare(fn, SR_INPUT, SR_SRC, device=device)
    compare(lambda T, x, s: T.scatter_reduce(x, 1, T.tensor(SR_INDEX, device=x.device), s,
                                             "max"), SR_INPUT,
            SR_SRC, device=device, grad=False)  # (an alias PyTorch accepts, forward only)
    x = taimatsu.tensor(SR_INPUT, device=device)
    assert x.scatter_reduce_(1, taimatsu.tensor(SR_INDEX, device=device),
                             taimatsu.tensor(SR_SRC, device=device), "sum") is x


@needs_torch
@pytest.mark.parametrize("fn,exc,match", [
    (lambda T, x: T.scatter_reduce(x, 0, T.tensor([0]), x, "foo"), RuntimeError,
     "reduce argument must be either sum, prod, mean, amax or amin, got foo"),
    (lambda T, x: T.scatter_reduce(x, 0, T.tensor([0]), x.double(), "sum"), RuntimeError,
     "Expected self.dtype to be equal to src.dtype"),
    (lambda T, x: T.scatter_reduce(x, 0, T.tensor([0.0]), x, "sum"), RuntimeError,
     "Expected dtype int32/int64 for index"),
    (lambda T, x: T.scatter_reduce(x, 0, T.tensor([5]), x, "sum"), RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda T, x: x.scatter_reduce_(0, T.tensor([5]), x * 2, "amin"), RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 3"),
], ids=["reduce", "dtype", "index_dtype", "range", "inplace_range"])
def test_scatter_reduce_errors(fn, exc, match):
    import torch

    with pytest.raises(exc, match=match):
        fn(torch, torch.ones(3))
    x = taimatsu.ones(3)
    with pytest.raises(exc, match=match):
        fn(taimatsu, x)
    assert x.tolist() == [1.0, 1.0, 1.0] and x._version_counter == 0
