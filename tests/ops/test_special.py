"""Special functions (logaddexp, xlogy, lgamma, digamma, polygamma, erfinv, ...) against PyTorch:
values over wide ranges and at edge points, gradients, float64 gradchecks, dtypes and errors."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.special
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np

try:
    import torch
except ImportError:
    torch = None

NAN, INF = float("nan"), float("inf")


def _close(ours, theirs, rtol, atol):
    np.testing.assert_allclose(to_np(ours).astype(np.float64), to_np(theirs).astype(np.float64),
                               rtol=rtol, atol=atol, equal_nan=True)


# ------------------------------------------------------------------ the numerical kernels
def _wide_range(seed=0):
    """Random and edge arguments over the whole real line (poles, zeros, huge, tiny)."""
    r = np.random.default_rng(seed)
    return np.concatenate([
        r.uniform(-30, 30, 4000), r.uniform(0, 3, 4000), 10.0 ** r.uniform(-300, 300, 1000),
        -(10.0 ** r.uniform(-10, 4, 1000)), np.arange(-6, 7) + 0.5, np.arange(-6, 7),
        [0.0, -0.0, 1e-310, -1e-310, INF, -INF, NAN, 1.4616321449683622],
    ])


def _erfinv_range(seed=0):
    r = np.random.default_rng(seed)
    return np.concatenate([
        r.uniform(-1, 1, 5000), 1 - 10.0 ** r.uniform(-16, 0, 1000),
        -1 + 10.0 ** r.uniform(-16, 0, 1000), 10.0 ** r.uniform(-300, 0, 500),
        [0.0, -0.0, 1.0, -1.0, 1.5, -2.0, 0.85, -0.85, NAN, INF, -INF],
    ])


KERNELS = [
    ("lgamma", lambda T, x: T.lgamma(x), _wide_range, 1e-13),
    ("digamma", lambda T, x: T.digamma(x), _wide_range, 1e-12),
    ("polygamma1", lambda T, x: T.polygamma(1, x), _wide_range, 1e-9),  # (PyTorch: ~1e-10)
    ("polygamma2", lambda T, x: T.polygamma(2, x), _wide_range, 1e-11),
    ("polygamma5", lambda T, x: T.polygamma(5, x), _wide_range, 1e-11),
    ("erfinv", lambda T, x: T.erfinv(x), _erfinv_range, 2e-15),
]


def _poles_as_inf(x, theirs):
    """PyTorch's results with its trigamma's non-poles at the negative integers (it takes sin of
    the unreduced pi * x, which is not exactly 0 there, and answers ~1e31 in float64, ~10 in
    float32) replaced by the pole's inf that ours gives."""
    pole = (x < 0) & (x == np.floor(x))
    return np.where(pole & ~np.isnan(theirs), np.copysign(INF, theirs), theirs)


@needs_torch
@pytest.mark.parametrize("name,fn,data,rtol", KERNELS, ids=[k[0] for k in KERNELS])
def test_kernels_match_pytorch_float64(device, name, fn, data, rtol):
    x = data()
    ours = fn(taimatsu, taimatsu.tensor(x, device=device))
    theirs = fn(torch, torch.tensor(x))
    # Absolute slack covers results near the functions' zeros (lgamma(1 + 1e-9) ~ -6e-10) and
    # PyTorch's own float64 error near the poles (its reflection-free summation).
    a, b = to_np(ours), _poles_as_inf(x, to_np(theirs))
    assert (np.isnan(a) == np.isnan(b)).all()
    assert (np.isinf(a) == np.isinf(b)).all() and (a[np.isinf(a)] == b[np.isinf(b)]).all()
    finite = np.isfinite(b) & (np.abs(x) < 1e4)  # (far out, PyTorch's sums lose digits)
    np.testing.assert_allclose(a[finite], b[finite], rtol=rtol, atol=1e-14)


@needs_torch
@pytest.mark.parametrize("name,fn,data,rtol", KERNELS, ids=[k[0] for k in KERNELS])
def test_kernels_match_pytorch_float32(device, name, fn, data, rtol):
    x = np.clip(data(), -1e30, 1e30).astype(np.float32)
    ours = fn(taimatsu, taimatsu.tensor(x, device=device))
    assert ours.dtype == taimatsu.float32 and fn(torch, torch.tensor(x)).dtype == torch.float32
    # Ours are PyTorch's float64 results on the same float32 inputs, rounded to float32 (its
    # own float32 kernels lose digits near poles and zeros, where those inputs are not exact).
    theirs = fn(torch, torch.tensor(x, dtype=torch.float64)).float()
    _close(ours, _poles_as_inf(x, to_np(theirs)), rtol=3e-7, atol=1e-30)


@needs_torch
@pytest.mark.parametrize("x", [0.0, -0.0, 1.0, 2.0, -1.0, -2.0, INF, -INF, NAN, 0.5, -0.5])
@pytest.mark.parametrize("fn", [
    lambda T, t: T.lgamma(t), lambda T, t: T.digamma(t), lambda T, t: T.polygamma(1, t),
    lambda T, t: T.polygamma(2, t), lambda T, t: T.polygamma(3, t), lambda T, t: T.erfinv(t),
], ids=["lgamma", "digamma", "trigamma", "polygamma2", "polygamma3", "erfinv"])
def test_edge_values_match_pytorch(device, fn, x):
    ours = to_np(fn(taimatsu, taimatsu.tensor([x], dtype=taimatsu.float64, device=device)))
    theirs = _poles_as_inf(np.array([x]), fn(torch, torch.tensor([x], dtype=torch.float64)).numpy())
    np.testing.assert_array_equal(np.signbit(ours) | np.isnan(ours),
                                  np.signbit(theirs) | np.isnan(theirs))
    # (1e-9: PyTorch's trigamma; ours gives pi^2/6 at 1 to the last digit)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-14, equal_nan=True)


# ------------------------------------------------------------------ forward and backward
A = rand(3, 4, seed=1)
B = rand(3, 4, seed=2)
POS = rand(3, 4, seed=3, low=0.05, high=0.95)
UNARY = [
    ("lgamma", lambda T, x: T.lgamma(x), rand(3, 4, seed=4, low=-4, high=6)),
    ("digamma", lambda T, x: x.digamma(), rand(3, 4, seed=5, low=-4, high=6)),
    ("polygamma1", lambda T, x: T.polygamma(1, x), rand(3, 4, seed=6, low=0.2, high=6)),
    ("polygamma3", lambda T, x: x.polygamma(3), rand(3, 4, seed=7, low=-3, high=6)),
    ("erfinv", lambda T, x: T.erfinv(x), rand(3, 4, seed=8, low=-0.99, high=0.99)),
    ("sinc", lambda T, x: T.sinc(x), rand(3, 4, seed=9, low=-3, high=3)),
    ("logit", lambda T, x: T.logit(x), POS),
    ("logit_eps", lambda T, x: x.logit(eps=0.2), POS),
    ("deg2rad", lambda T, x: T.deg2rad(x), A),
    ("rad2deg", lambda T, x: x.rad2deg(), A),
    ("special_gammaln", lambda T, x: T.special.gammaln(x), rand(3, 4, seed=10, low=0.1, high=5)),
    ("special_psi", lambda T, x: T.special.psi(x), rand(3, 4, seed=11, low=0.1, high=5)),
]
BINARY = [
    ("logaddexp", lambda T, x, y: T.logaddexp(x, y), A * 5, B * 5),
    ("logaddexp2", lambda T, x, y: x.logaddexp2(y), A * 5, B * 5),
    ("copysign", lambda T, x, y: T.copysign(x, y), A, B),
    ("xlogy", lambda T, x, y: T.xlogy(x, y), A, POS),
    ("xlog1py", lambda T, x, y: T.special.xlog1py(x, y), A, POS),
]


@needs_torch
@pytest.mark.parametrize("name,fn,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_match_pytorch(device, name, fn, x):
    compare(fn, x, device=device)
    compare(fn, x, device=device, non_contiguous=True)
    compare(fn, np.asarray(x[0, 0]), device=device)  # 0-d
    compare(fn, x[:0], device=device)  # empty


@pytest.mark.parametrize("name,fn,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_gradcheck(device, name, fn, x):
    gradcheck(lambda t: fn(taimatsu, t), x, device=device)


@needs_torch
@pytest.mark.parametrize("name,fn,x,y", BINARY, ids=[b[0] for b in BINARY])
def test_binary_match_pytorch(device, name, fn, x, y):
    compare(fn, x, y, device=device)
    compare(fn, x, y, device=device, non_contiguous=True)
    compare(fn, x[:, :1], y[0], device=device)  # broadcast
    compare(fn, np.asarray(x[0, 0]), y, device=device)  # 0-d with a matrix
    compare(fn, x[:0], y[:0], device=device)


@pytest.mark.parametrize("name,fn,x,y", BINARY, ids=[b[0] for b in BINARY])
def test_binary_gradcheck(device, name, fn, x, y):
    gradcheck(lambda s, t: fn(taimatsu, s, t), x, y, device=device)


# ------------------------------------------------------------------ special points
SPECIAL = np.array([0.0, -0.0, 1.0, -2.5, NAN, INF, -INF], np.float32)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x, y: T.logaddexp(x, y), lambda T, x, y: T.logaddexp2(x, y),
    lambda T, x, y: T.xlogy(x, y), lambda T, x, y: T.special.xlog1py(x, y),
    lambda T, x, y: T.copysign(x, y), lambda T, x, y: T.heaviside(x, y),
    lambda T, x, y: T.logit(x, 0.1), lambda T, x, y: T.sinc(x),
], ids=["logaddexp", "logaddexp2", "xlogy", "xlog1py", "copysign", "heaviside", "logit",
        "sinc"])
def test_special_points_match_pytorch(device, fn):
    x = np.repeat(SPECIAL, len(SPECIAL))
    y = np.tile(SPECIAL, len(SPECIAL))
    compare(fn, x, y, device=device, grad=False)


@needs_torch
def test_gradients_at_special_points(device):
    compare(lambda T, x: T.sinc(x), np.array([0.0, 1.0, -2.0], np.float32), device=device)
    compare(lambda T, x, y: T.xlogy(x, y), np.array([0.0, 0.0, 2.0], np.float32),
            np.array([0.0, 2.0, 3.0], np.float32), device=device)
    compare(lambda T, x, y: T.copysign(x, y), np.array([0.0, -1.0, 2.0], np.float32),
            np.array([-1.0, 0.0, -0.0], np.float32), device=device)
    compare(lambda T, x: T.logit(x, 0.25), np.array([0.1, 0.25, 0.5, 0.9], np.float32),
            device=device)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x: T.xlogy(x, 2.0), lambda T, x: T.xlogy(3, x), lambda T, x: T.copysign(x, -1),
    lambda T, x: T.special.xlog1py(2.0, x), lambda T, x: x.xlogy(0.5),
], ids=["xlogy_scalar_other", "xlogy_scalar_self", "copysign_scalar", "xlog1py_scalar",
        "xlogy_method"])
def test_number_operands(device, fn):
    compare(fn, POS, device=device)


# ------------------------------------------------------------------ dtypes and errors
INTS = np.array([1, 2, 0, -1])
BOOLS = np.array([True, False])


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x: T.logit(x), lambda T, x: T.sinc(x), lambda T, x: T.deg2rad(x),
    lambda T, x: T.rad2deg(x), lambda T, x: T.erfinv(x), lambda T, x: T.lgamma(x),
    lambda T, x: T.digamma(x), lambda T, x: T.polygamma(2, x), lambda T, x: T.xlogy(x, x),
    lambda T, x: T.copysign(x, x), lambda T, x: T.heaviside(x, x),
], ids=["logit", "sinc", "deg2rad", "rad2deg", "erfinv", "lgamma", "digamma", "polygamma",
        "xlogy", "copysign", "heaviside"])
@pytest.mark.parametrize("data", [INTS, BOOLS], ids=["int64", "bool"])
def test_integer_and_bool_inputs(device, fn, data):
    compare(fn, data, device=device)


@needs_torch
@pytest.mark.parametrize("fn,exc,match", [
    (lambda T: T.logaddexp(T.tensor([1, 2]), T.tensor([1, 2])), NotImplementedError,
     "\"logaddexp_cpu\" not implemented for 'Long'"),
    (lambda T: T.logaddexp2(T.tensor([True]), T.tensor([True])), NotImplementedError,
     "\"logaddexp2_cpu\" not implemented for 'Bool'"),
    (lambda T: T.logaddexp(T.tensor([1.0]), 2), TypeError, "must be Tensor, not int"),
    (lambda T: T.heaviside(T.tensor([1.0]), 0.5), TypeError, "must be Tensor, not float"),
    (lambda T: T.heaviside(T.tensor([1]), T.tensor([0.5])), RuntimeError,
     "heaviside is not yet implemented for tensors with different dtypes"),
    (lambda T: T.polygamma(-1, T.tensor([1.0])), RuntimeError, "does not support negative n"),
], ids=["logaddexp_int", "logaddexp2_bool", "logaddexp_number", "heaviside_number",
        "heaviside_dtypes", "polygamma_negative"])
def test_errors_match_pytorch(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(taimatsu)


def test_heaviside_has_no_derivative(device):
    x = taimatsu.tensor([1.0, -1.0], device=device, requires_grad=True)
    y = taimatsu.heaviside(x, taimatsu.tensor([0.5, 0.5], device=device))
    assert np.array_equal(to_np(y), [1.0, 0.0])
    with pytest.raises(RuntimeError, match="the derivative for 'heaviside' is not implemented"):
        y.sum().backward()


# ------------------------------------------------------------------ in-place and namespaces
INPLACE = [
    ("copysign_", lambda x, y: x.copysign_(y)), ("xlogy_", lambda x, y: x.xlogy_(y.abs())),
    ("sinc_", lambda x, y: x.sinc_()), ("deg2rad_", lambda x, y: x.deg2rad_()),
    ("rad2deg_", lambda x, y: x.rad2deg_()), ("erfinv_", lambda x, y: x.mul_(0.5).erfinv_()),
    ("lgamma_", lambda x, y: x.add_(3).lgamma_()), ("digamma_", lambda x, y: x.add_(3).digamma_()),
    ("polygamma_", lambda x, y: x.add_(3).polygamma_(2)),
    ("logit_", lambda x, y: x.abs_().mul_(0.5).logit_()),
    ("logit_eps_", lambda x, y: x.abs_().logit_(0.3)),
]


@needs_torch
@pytest.mark.parametrize("name,fn", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_match_pytorch(device, name, fn):
    compare(lambda T, x, y: fn(x * 1, y), A, B, device=device)  # (x * 1: a non-leaf)


@needs_torch
def test_heaviside_inplace(device):
    compare(lambda T, x, y: x.clone().heaviside_(y), A, B, device=device, grad=False)


def test_inplace_keeps_identity_and_dtype(device):
    x = taimatsu.tensor([0.5, 0.25], device=device)
    assert x.erfinv_() is x and x.dtype == taimatsu.float32
    i = taimatsu.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        i.lgamma_()
    assert i.tolist() == [1, 2]


@needs_torch
def test_special_namespace_matches_pytorch(device):
    x = rand(2, 3, seed=12, low=0.1, high=0.9)
    for name in taimatsu.special.__all__:
        assert hasattr(torch.special, name), name
    compare(lambda T, t: (T.special.expit(t), T.special.erf(t), T.special.logsumexp(t, 1),
                          T.special.softmax(t, 0), T.special.log_softmax(t, 1),
                          T.special.round(t), T.special.exp2(t), T.special.expm1(t),
                          T.special.log1p(t), T.special.logit(t), T.special.erfinv(t),
                          T.special.sinc(t), T.special.xlogy(t, t), T.special.digamma(t),
                          T.special.polygamma(1, t)), x, device=device)


def test_node_names(device):
    x = taimatsu.tensor([0.5], device=device, requires_grad=True)
    assert x.lgamma().grad_fn.name() == "LgammaBackward0"
    assert taimatsu.polygamma(2, x).grad_fn.name() == "PolygammaBackward0"
    assert taimatsu.logaddexp(x, x).grad_fn.name() == "LogaddexpBackward0"
