"""Elementwise ops against PyTorch (values, dtypes, gradients, errors) and float64 gradchecks."""
from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
from tests.helpers import compare, gradcheck, needs_torch, to_np

try:
    import torch
except ImportError:
    torch = None

NAN, INF = float("nan"), float("inf")


def data(*shape, domain="any", seed=0):
    """float32 test data in an op's domain, kept away from the points where it has no derivative
    (0 for abs/relu/sign, integers for floor/round, ±1 for asin...)."""
    rng = np.random.default_rng(seed)
    if domain == "pos":
        a = rng.uniform(0.3, 2.0, shape)
    elif domain == "unit":
        a = rng.uniform(-0.8, 0.8, shape)
    elif domain == "gt1":
        a = rng.uniform(1.3, 3.0, shape)
    else:  # "any": |a| in [0.2, 2], fractional parts away from 0 and 1/2
        mag = rng.uniform(0.2, 2.0, shape)
        mag = np.floor(mag) + 0.1 + 0.3 * (mag - np.floor(mag))
        a = np.where(rng.random(shape) < 0.5, -mag, mag)
    return np.asarray(a, dtype=np.float32)


# ------------------------------------------------------------------ unary ops
# (id, fn(T, x), domain of x)
UNARY = [
    ("neg", lambda T, x: T.neg(x), "any"),
    ("neg_op", lambda T, x: -x, "any"),
    ("negative", lambda T, x: x.negative(), "any"),
    ("positive", lambda T, x: +x, "any"),
    ("abs", lambda T, x: T.abs(x), "any"),
    ("abs_builtin", lambda T, x: abs(x), "any"),
    ("absolute", lambda T, x: x.absolute(), "any"),
    ("sign", lambda T, x: T.sign(x), "any"),
    ("reciprocal", lambda T, x: T.reciprocal(x), "any"),
    ("square", lambda T, x: T.square(x), "any"),
    ("sqrt", lambda T, x: T.sqrt(x), "pos"),
    ("rsqrt", lambda T, x: x.rsqrt(), "pos"),
    ("exp", lambda T, x: T.exp(x), "any"),
    ("exp2", lambda T, x: x.exp2(), "any"),
    ("expm1", lambda T, x: T.expm1(x), "any"),
    ("log", lambda T, x: T.log(x), "pos"),
    ("log1p", lambda T, x: x.log1p(), "pos"),
    ("log2", lambda T, x: T.log2(x), "pos"),
    ("log10", lambda T, x: x.log10(), "pos"),
    ("sin", lambda T, x: T.sin(x), "any"),
    ("cos", lambda T, x: x.cos(), "any"),
    ("tan", lambda T, x: T.tan(x), "unit"),
    ("asin", lambda T, x: T.asin(x), "unit"),
    ("arcsin", lambda T, x: x.arcsin(), "unit"),
    ("acos", lambda T, x: x.acos(), "unit"),
    ("atan", lambda T, x: T.arctan(x), "any"),
    ("sinh", lambda T, x: T.sinh(x), "any"),
    ("cosh", lambda T, x: x.cosh(), "any"),
    ("tanh", lambda T, x: T.tanh(x), "any"),
    ("asinh", lambda T, x: T.asinh(x), "any"),
    ("acosh", lambda T, x: x.acosh(), "gt1"),
    ("atanh", lambda T, x: T.atanh(x), "unit"),
    ("sigmoid", lambda T, x: T.sigmoid(x), "any"),
    ("erf", lambda T, x: T.erf(x), "any"),
    ("relu", lambda T, x: T.relu(x), "any"),
    ("floor", lambda T, x: T.floor(x), "any"),
    ("ceil", lambda T, x: x.ceil(), "any"),
    ("round", lambda T, x: T.round(x), "any"),
    ("round_dec1", lambda T, x: x.round(decimals=1), "any"),
    ("round_dec-1", lambda T, x: T.round(x * 30, decimals=-1), "any"),
    ("trunc", lambda T, x: T.trunc(x), "any"),
    ("fix", lambda T, x: x.fix(), "any"),
    ("frac", lambda T, x: T.frac(x), "any"),
    ("nan_to_num", lambda T, x: T.nan_to_num(x), "any"),
    ("pow_2", lambda T, x: x ** 2, "any"),
    ("pow_3", lambda T, x: T.pow(x, 3), "any"),
    ("pow_half", lambda T, x: x.pow(0.5), "pos"),
    ("pow_neg", lambda T, x: x ** -1.5, "pos"),
    ("pow_0", lambda T, x: x ** 0, "any"),
    ("rpow", lambda T, x: 2 ** x, "any"),
    ("rpow_float", lambda T, x: 0.5 ** x, "any"),
    ("pow_scalar_base", lambda T, x: T.pow(3.0, x), "any"),
    ("add_scalar", lambda T, x: x + 2, "any"),
    ("radd", lambda T, x: 2.5 + x, "any"),
    ("add_alpha", lambda T, x: T.add(x, 2, alpha=3), "any"),
    ("sub_scalar", lambda T, x: x - 1.5, "any"),
    ("rsub", lambda T, x: 1.5 - x, "any"),
    ("rsub_fn", lambda T, x: T.rsub(x, 2, alpha=3), "any"),
    ("mul_scalar", lambda T, x: x * 3, "any"),
    ("rmul", lambda T, x: 0.5 * x, "any"),
    ("div_scalar", lambda T, x: x / 4, "any"),
    ("rdiv", lambda T, x: 2 / x, "any"),
    ("floordiv_scalar", lambda T, x: T.div(x, 0.7, rounding_mode="floor"), "any"),
    ("trunc_div_scalar", lambda T, x: x.div(0.7, rounding_mode="trunc"), "any"),
    ("mod_scalar", lambda T, x: x % 0.7, "any"),
    ("remainder_fn", lambda T, x: T.remainder(x, -0.7), "any"),
    ("fmod_scalar", lambda T, x: T.fmod(x, 0.7), "any"),
    ("clamp", lambda T, x: T.clamp(x, -0.5, 0.9), "any"),
    ("clamp_min", lambda T, x: x.clamp(min=0.4), "any"),
    ("clamp_max", lambda T, x: T.clamp(x, max=-0.4), "any"),
    ("clamp_min_fn", lambda T, x: T.clamp_min(x, 0.4), "any"),
    ("clamp_max_fn", lambda T, x: x.clamp_max(0.4), "any"),
    ("clip", lambda T, x: x.clip(-1, 1), "any"),
    ("where_scalar", lambda T, x: T.where(x > 0, x, 0.5), "any"),
    ("where_scalar_left", lambda T, x: T.where(x > 0, -1.0, x), "any"),
    ("where_method", lambda T, x: x.where(x < 0, 2), "any"),
    ("lerp_scalar", lambda T, x: T.lerp(x, x * 2 + 1, 0.3), "any"),
    ("lerp_scalar_big", lambda T, x: x.lerp(x * 0.5, 0.8), "any"),
]


def _nc_ok(shape):
    return len(shape) >= 2


@needs_torch
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 3)], ids=["2d", "0d", "empty"])
@pytest.mark.parametrize("name,fn,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_matches_pytorch(device, name, fn, domain, shape):
    compare(fn, data(*shape, domain=domain), device=device)


@needs_torch
@pytest.mark.parametrize("name,fn,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_non_contiguous(device, name, fn, domain):
    compare(fn, data(3, 4, domain=domain, seed=1), device=device, non_contiguous=True)


# Rounding ops, sign and division with rounding have a zero gradient, which gradcheck confirms.
@pytest.mark.parametrize("name,fn,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_gradcheck(device, name, fn, domain):
    gradcheck(lambda x: fn(taimatsu, x), data(2, 3, domain=domain, seed=2), device=device)


# ------------------------------------------------------------------ binary / ternary ops
# (id, fn(T, *xs), domains of xs)
BINARY = [
    ("add", lambda T, x, y: T.add(x, y), ("any", "any")),
    ("add_op", lambda T, x, y: x + y, ("any", "any")),
    ("add_alpha", lambda T, x, y: x.add(y, alpha=-2.5), ("any", "any")),
    ("sub", lambda T, x, y: T.sub(x, y), ("any", "any")),
    ("sub_op", lambda T, x, y: x - y, ("any", "any")),
    ("subtract_alpha", lambda T, x, y: T.subtract(x, y, alpha=2), ("any", "any")),
    ("rsub", lambda T, x, y: T.rsub(x, y, alpha=0.5), ("any", "any")),
    ("mul", lambda T, x, y: T.mul(x, y), ("any", "any")),
    ("mul_op", lambda T, x, y: x * y, ("any", "any")),
    ("multiply", lambda T, x, y: x.multiply(y), ("any", "any")),
    ("div", lambda T, x, y: T.div(x, y), ("any", "any")),
    ("div_op", lambda T, x, y: x / y, ("any", "any")),
    ("true_divide", lambda T, x, y: T.true_divide(x, y), ("any", "any")),
    ("div_floor", lambda T, x, y: T.div(x, y, rounding_mode="floor"), ("any", "any")),
    ("divide_trunc", lambda T, x, y: x.divide(y, rounding_mode="trunc"), ("any", "any")),
    ("remainder", lambda T, x, y: T.remainder(x, y), ("any", "any")),
    ("mod_op", lambda T, x, y: x % y, ("any", "any")),
    ("fmod", lambda T, x, y: T.fmod(x, y), ("any", "any")),
    ("pow", lambda T, x, y: T.pow(x, y), ("pos", "any")),
    ("pow_op", lambda T, x, y: x ** y, ("pos", "any")),
    ("atan2", lambda T, x, y: T.atan2(x, y), ("any", "any")),
    ("arctan2", lambda T, x, y: x.arctan2(y), ("any", "any")),
    ("hypot", lambda T, x, y: T.hypot(x, y), ("any", "any")),
    ("maximum", lambda T, x, y: T.maximum(x, y), ("any", "any")),
    ("minimum", lambda T, x, y: x.minimum(y), ("any", "any")),
    ("fmax", lambda T, x, y: T.fmax(x, y), ("any", "any")),
    ("fmin", lambda T, x, y: x.fmin(y), ("any", "any")),
    ("clamp_tensor_min", lambda T, x, y: T.clamp(x, min=y), ("any", "any")),
    ("clamp_tensor_max", lambda T, x, y: x.clamp(max=y), ("any", "any")),
    ("clamp_min_fn", lambda T, x, y: T.clamp_min(x, y), ("any", "any")),
    ("where", lambda T, x, y: T.where(x > y, x, y), ("any", "any")),
    ("where_y_cond", lambda T, x, y: T.where(y > 0, x * 2, y), ("any", "any")),
    ("lerp_tensor_weight", lambda T, x, y: T.lerp(x, y, (x * y).sigmoid()), ("any", "any")),
    ("clamp_both", lambda T, x, lo, hi: T.clamp(x, lo, hi), ("any", "any", "any")),
    ("lerp", lambda T, x, y, w: x.lerp(y, w), ("any", "any", "unit")),
    ("addcmul", lambda T, x, y, z: T.addcmul(x, y, z, value=0.5), ("any", "any", "any")),
    ("addcdiv", lambda T, x, y, z: x.addcdiv(y, z, value=-2), ("any", "any", "any")),
    ("where_cond", lambda T, c, x, y: T.where(c > 0, x, y), ("any", "any", "any")),
]

SHAPES = {  # operand shapes per arity: same, broadcast, 0-d with dims, empty
    2: [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((0, 3), (1, 3))],
    3: [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((2, 3), (), ()), ((0, 3), (3,), ())],
}


def _shape_id(shapes):
    return "-".join("x".join(map(str, s)) or "0d" for s in shapes)


BINARY_CASES = [(name, fn, doms, shapes) for name, fn, doms in BINARY
                for shapes in SHAPES[len(doms)]]


@needs_torch
@pytest.mark.parametrize("name,fn,doms,shapes", BINARY_CASES,
                         ids=[f"{c[0]}-{_shape_id(c[3])}" for c in BINARY_CASES])
def test_binary_matches_pytorch(device, name, fn, doms, shapes):
    arrays = [data(*s, domain=d, seed=i) for i, (s, d) in enumerate(zip(shapes, doms))]
    compare(fn, *arrays, device=device)


@needs_torch
@pytest.mark.parametrize("name,fn,doms", BINARY, ids=[b[0] for b in BINARY])
def test_binary_non_contiguous(device, name, fn, doms):
    arrays = [data(3, 4, domain=d, seed=i + 5) for i, d in enumerate(doms)]
    compare(fn, *arrays, device=device, non_contiguous=True)


@pytest.mark.parametrize("name,fn,doms", BINARY, ids=[b[0] for b in BINARY])
def test_binary_gradcheck(device, name, fn, doms):
    shapes = [(2, 3), (3,), (2, 1)][:len(doms)]  # broadcast, so gradients are summed back
    arrays = [data(*s, domain=d, seed=i + 9) for i, (s, d) in enumerate(zip(shapes, doms))]
    gradcheck(lambda *xs: fn(taimatsu, *xs), *arrays, device=device)


# ------------------------------------------------------------------ special points
@needs_torch
@pytest.mark.parametrize("name,fn,arrays", [
    ("pow_zero_base", lambda T, x, e: x ** e,
     (np.array([0.0, 0.0, 2.0, -1.0], np.float32), np.array([0.0, 2.0, 0.0, 2.0], np.float32))),
    ("pow_zero_scalar_base", lambda T, e: 0.0 ** e, (np.array([0.0, 2.0, -1.0], np.float32),)),
    ("pow_zero_exponent", lambda T, x: x ** 0, (np.array([0.0, -1.0, 2.0], np.float32),)),
    ("pow_neg_scalar_base", lambda T, e: (-2.0) ** e, (np.array([2.0, 3.0], np.float32),)),
    ("maximum_ties", lambda T, x, y: T.maximum(x, y),
     (np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, 1.0, 4.0], np.float32))),
    ("minimum_ties", lambda T, x, y: T.minimum(x, y),
     (np.array([1.0, 2.0, 3.0], np.float32), np.array([1.0, 1.0, 4.0], np.float32))),
    ("fmax_nan", lambda T, x, y: T.fmax(x, y),
     (np.array([NAN, 1.0, NAN, 2.0], np.float32), np.array([1.0, NAN, NAN, 2.0], np.float32))),
    ("fmin_nan", lambda T, x, y: T.fmin(x, y),
     (np.array([NAN, 1.0, NAN, 2.0], np.float32), np.array([1.0, NAN, NAN, 2.0], np.float32))),
    ("maximum_nan", lambda T, x, y: T.maximum(x, y),
     (np.array([NAN, 1.0], np.float32), np.array([1.0, NAN], np.float32))),
    ("clamp_edges", lambda T, x: T.clamp(x, 0, 1),
     (np.array([0.0, 0.5, 1.0, 2.0, -1.0, NAN], np.float32),)),
    ("clamp_tensor_edges", lambda T, x, lo, hi: T.clamp(x, lo, hi),
     (np.array([0.0, 0.5, 1.0, 2.0, -1.0, NAN], np.float32), np.zeros(6, np.float32),
      np.ones(6, np.float32))),
    ("clamp_crossed_bounds", lambda T, x, lo, hi: T.clamp(x, hi, lo),
     (np.array([0.0, 0.5, 1.0, 2.0, -1.0], np.float32), np.zeros(5, np.float32),
      np.ones(5, np.float32))),
    ("abs_relu_at_zero", lambda T, x: (x.abs(), x.relu(), x.sign()),
     (np.array([0.0, -0.0, 1.0], np.float32),)),
    ("sqrt_at_zero", lambda T, x: x.sqrt(), (np.array([0.0, 1.0], np.float32),)),
    ("nan_to_num_values", lambda T, x: (T.nan_to_num(x), x.nan_to_num(1.0, 5.0, -5.0)),
     (np.array([NAN, INF, -INF, 1.5], np.float32),)),
    ("sigmoid_extremes", lambda T, x: x.sigmoid(),
     (np.array([-100.0, -20.0, 0.0, 20.0, 100.0, NAN], np.float32),)),
    ("tanh_exp_extremes", lambda T, x: (x.tanh(), x.exp(), x.expm1()),
     (np.array([-100.0, -1e-8, 1e-8, 50.0], np.float32),)),
    ("lerp_ends", lambda T, x, y: (T.lerp(x, y, 0.0), T.lerp(x, y, 1.0), T.lerp(x, y, 0.5)),
     (np.array([1e8, -3.0], np.float32), np.array([1.0, 7.0], np.float32))),
    ("round_half_even", lambda T, x: (x.round(), x.round(decimals=1), x.round(decimals=-1)),
     (np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.25, 0.35, 15.0, 25.0, 1e20], np.float32),)),
    ("floor_divide_signs", lambda T, x, y: (x.detach() // y.detach(), x % y, T.fmod(x, y),
                                            T.div(x, y, rounding_mode="trunc")),
     (np.array([7.0, -7.0, 7.0, -7.0, 1.0, 5.5, 0.0, 1.0], np.float32),
      np.array([2.0, 2.0, -2.0, -2.0, 0.1, 0.0, 0.0, INF], np.float32))),
    ("div_by_zero", lambda T, x: (x / 0, 1 / x, x.reciprocal(), x.rsqrt(), x.log()),
     (np.array([0.0, 1.0, -1.0], np.float32),)),
])
def test_special_points_match_pytorch(device, name, fn, arrays):
    compare(fn, *arrays, device=device)


def test_floor_divide_has_no_derivative(device):
    x = taimatsu.tensor([1.5, -2.5], device=device, requires_grad=True)
    y = x // 2
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        y.sum().backward()


def test_node_names(device):
    x = taimatsu.tensor([1.0, 2.0], device=device, requires_grad=True)
    assert (x + 1).grad_fn.name() == "AddBackward0"
    assert x.exp().grad_fn.name() == "ExpBackward0"
    assert x.sigmoid().grad_fn.name() == "SigmoidBackward0"
    assert taimatsu.where(x > 1, x, 0.0).grad_fn.name() == "WhereBackward0"
    assert x.clamp(0, 1).grad_fn.name() == "ClampBackward0"


def test_saved_operand_modified_in_place_is_detected(device):
    x = taimatsu.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 1
    z = y.exp()  # saves its output
    z.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    w = y * y  # saves y
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.sum().backward()


def test_division_output_may_be_modified_in_place(device):
    # Div saves its inputs, not its output (as PyTorch), so writing into the result is fine.
    x = taimatsu.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x / (x + 1)
    y.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [1 / 4, 1 / 9], rtol=1e-6)


# ------------------------------------------------------------------ dtypes of unary ops
DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
UNARY_ALL = [  # every unary op by name, with or without a gradient
    "abs", "neg", "positive", "sign", "sgn", "reciprocal", "square", "sqrt", "rsqrt", "exp",
    "exp2", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan",
    "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid", "erf", "relu", "floor", "ceil",
    "round", "trunc", "frac", "nan_to_num", "isnan", "isinf", "isfinite", "logical_not",
    "bitwise_not",
]


def _same_outcome(fn, arrays, atol=1e-3):
    """``fn(T, *tensors)`` gives the same dtype and values with both libraries, or both raise the
    same kind of exception."""
    res = []
    for T in (taimatsu, torch):
        args = [T.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]
        try:
            res.append(fn(T, *args))
        except (RuntimeError, TypeError) as e:  # NotImplementedError is a RuntimeError
            res.append(e)
    ours, theirs = res
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"PyTorch raised {theirs!r}, taimatsu gave {ours}"
        assert isinstance(ours, type(theirs)) or isinstance(theirs, type(ours)), (ours, theirs)
        return
    assert not isinstance(ours, Exception), f"taimatsu raised {ours!r}, PyTorch gave {theirs}"
    if isinstance(theirs, bool):
        assert ours is theirs
        return
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], \
        f"dtype {ours.dtype} != {theirs.dtype}"
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(to_np(ours).astype(np.float64), to_np(theirs).astype(np.float64),
                               rtol=atol, atol=atol, equal_nan=True)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY_ALL)
def test_unary_dtypes_and_errors_match_pytorch(name, dtype):
    a = np.array([0, 1, 2, 3], dtype=dtype) if dtype != "bool" else np.array([True, False])
    _same_outcome(lambda T, x: getattr(T, name)(x), [a])


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [
    "floor_divide", "remainder", "fmod", "pow", "atan2", "hypot", "maximum", "minimum", "fmax",
    "fmin", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "lerp", "where", "clamp",
])
def test_binary_dtypes_and_errors_match_pytorch(name, dtype):
    a = np.array([7, 6, 0, 1], dtype=dtype) if dtype != "bool" else np.array([True, False] * 2)
    b = np.array([2, 3, 1, 5], dtype=dtype) if dtype != "bool" else np.array([True, True] * 2)
    if name == "lerp":
        fn = lambda T, x, y: T.lerp(x, y, 0.25)
    elif name == "where":
        fn = lambda T, x, y: T.where(x > y, x, y)
    elif name == "clamp":
        fn = lambda T, x, y: T.clamp(x, y, y + 2 if y.dtype != T.bool else y)
    else:
        fn = lambda T, x, y: getattr(T, name)(x, y)
    _same_outcome(fn, [a, b])


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, i, f: T.clamp(i, min=0.5),
    lambda T, i, f: T.clamp(i, max=T.tensor([1.0, 1.0, 1.0])),
    lambda T, i, f: T.clamp(f, min=T.tensor(2, dtype=T.float64)),
    lambda T, i, f: T.clamp(i, min=T.tensor(2.5, dtype=T.float64)),
    lambda T, i, f: T.where(i > 0, i, 2.5),
    lambda T, i, f: T.where(i > 0, 1, 2.5),
    lambda T, i, f: T.where(i > 0, 1, 2),
    lambda T, i, f: T.where(i > 0, f, f.double()),
    lambda T, i, f: T.where(i > 0, f, T.tensor(1.0, dtype=T.float64)),
    lambda T, i, f: T.lerp(f, f, T.tensor(0.5, dtype=T.float64)),
    lambda T, i, f: T.addcmul(i, i, i, value=2),
    lambda T, i, f: T.addcmul(f, i, i, value=0.5),
    lambda T, i, f: T.addcdiv(f, f, i + 10),
    lambda T, i, f: T.add(f, i, alpha=0.5),
    lambda T, i, f: T.add(i > 0, i > 1, alpha=2),
    lambda T, i, f: i ** 2.0,
    lambda T, i, f: 2.5 ** i,
    lambda T, i, f: 2 ** T.tensor([-1, 0, 2]),
    lambda T, i, f: T.tensor([1, -1, 2, 0, -1]) ** T.tensor([-1, -1, -1, -1, -2]),
    lambda T, i, f: (i > 0) ** 2,
    lambda T, i, f: 2 ** (i > 0),
    lambda T, i, f: i / 2,
    lambda T, i, f: 7 / i.clamp(min=1),
    lambda T, i, f: i // 2,
    lambda T, i, f: -7 // i.clamp(min=1),
    lambda T, i, f: T.div(i, 2, rounding_mode="trunc"),
    lambda T, i, f: T.div(i, -2, rounding_mode="floor"),
    lambda T, i, f: i % -3,
    lambda T, i, f: 7 % i.clamp(min=1),
    lambda T, i, f: T.fmod(i, -3),
    lambda T, i, f: i & 1,
    lambda T, i, f: i & True,
    lambda T, i, f: (i > 0) & 1,
    lambda T, i, f: (i > 0) | True,
    lambda T, i, f: 1 ^ (i > 0),
    lambda T, i, f: ~(i > 0),
    lambda T, i, f: i << 1,
    lambda T, i, f: 1 << i.clamp(0, 3),
    lambda T, i, f: i >> 1,
    lambda T, i, f: T.logical_xor(f, i),
    lambda T, i, f: T.isclose(i, i),
    lambda T, i, f: T.isclose(f, f + 1e-6),
    lambda T, i, f: T.isclose(f, f + 1, rtol=0, atol=0),
    lambda T, i, f: T.isclose(i > 0, i > 1),
    lambda T, i, f: T.allclose(f, T.ones(2, 3)),
    lambda T, i, f: T.equal(i, f),
    lambda T, i, f: T.equal(i, i[:2]),
    lambda T, i, f: T.equal(f, f.clone()),
    lambda T, i, f: T.isnan(f / 0),
    lambda T, i, f: T.isinf(f / 0),
    lambda T, i, f: T.isfinite(f / 0),
    lambda T, i, f: T.round(f * 1.234, decimals=2),
    lambda T, i, f: T.sign(i > 0),
    lambda T, i, f: T.nan_to_num(f.half() / 0, posinf=1e10),
    lambda T, i, f: T.maximum(i, f),
    lambda T, i, f: T.atan2(i, i + 1),
    lambda T, i, f: i == 1.5,
    lambda T, i, f: i.eq(7),
    lambda T, i, f: T.ne(f, i),
    lambda T, i, f: T.greater(i, 0.5),
    lambda T, i, f: T.less_equal(f, i),
    lambda T, i, f: i.greater_equal(0),
    lambda T, i, f: T.not_equal(i, 0),
    lambda T, i, f: T.less(i, f),
    lambda T, i, f: 1.5 < i,
    lambda T, i, f: 0 >= f,
    lambda T, i, f: T.square(i > 0),
    lambda T, i, f: T.abs(-i),
], ids=lambda f: "")
def test_mixed_dtype_results_match_pytorch(fn):
    i = np.array([7, -7, 0])
    f = np.array([7.0, -7.0, 0.0], np.float32)
    _same_outcome(fn, [i, f], atol=1e-6)


# ------------------------------------------------------------------ promotion property tests
PROMO_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
                "float64"]
OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.eq, operator.ne,
       operator.lt, operator.le, operator.gt, operator.ge]


@st.composite
def operand(draw):
    """A dimensioned tensor, a 0-d tensor or a Python number, as (kind, dtype, value)."""
    kind = draw(st.sampled_from(["dim", "0d", "scalar"]))
    if kind == "scalar":
        return kind, None, draw(st.one_of(st.booleans(), st.integers(0, 5),
                                          st.floats(-4, 4, width=16)))
    dtype = draw(st.sampled_from(PROMO_DTYPES))
    if dtype == "bool":
        vals = draw(st.lists(st.booleans(), min_size=3, max_size=3))
    elif dtype.startswith("float"):
        vals = draw(st.lists(st.floats(-4, 4, width=16), min_size=3, max_size=3))
    else:
        vals = draw(st.lists(st.integers(0, 5), min_size=3, max_size=3))
    arr = np.array(vals, dtype=dtype)
    return kind, dtype, arr if kind == "dim" else arr[:1].reshape(())


def _build(T, spec):
    kind, _, value = spec
    if kind == "scalar":
        return value
    return T.tensor(value)


@needs_torch
@settings(max_examples=25, deadline=None)
@given(a=operand(), b=operand(), op=st.sampled_from(OPS))
def test_property_promotion_matches_pytorch(a, b, op):
    if a[0] == "scalar" and b[0] == "scalar":
        return
    _same_outcome(lambda T: op(_build(T, a), _build(T, b)), [], atol=1e-3)


@st.composite
def broadcast_shapes(draw):
    """Two or three shapes that broadcast together (sizes 0-3, dims dropped or set to 1)."""
    full = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3))
    shapes = []
    for _ in range(draw(st.integers(2, 3))):
        drop = draw(st.integers(0, len(full)))
        s = [1 if draw(st.booleans()) else n for n in full[drop:]]
        shapes.append(tuple(s))
    return shapes


@needs_torch
@settings(max_examples=25, deadline=None)
@given(shapes=broadcast_shapes(),
       which=st.sampled_from(["add", "mul", "maximum", "where", "lerp", "addcmul"]))
def test_property_broadcasting_matches_pytorch(shapes, which):
    fns = {
        "add": lambda T, *xs: sum(xs[1:], xs[0]),
        "mul": lambda T, *xs: xs[0] * xs[1] * (xs[2] if len(xs) > 2 else 1),
        "maximum": lambda T, *xs: T.maximum(xs[0], xs[1]),
        "where": lambda T, *xs: T.where(xs[0] > 0, xs[1], xs[-1]),
        "lerp": lambda T, *xs: T.lerp(xs[0], xs[1], xs[-1]),
        "addcmul": lambda T, *xs: T.addcmul(xs[0], xs[1], xs[-1]),
    }
    arrays = [data(*s, seed=i) for i, s in enumerate(shapes)]
    compare(fns[which], *arrays)


# ------------------------------------------------------------------ comparisons and logic
@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y),
    lambda T, x, y: (T.eq(x, y), T.ne(x, 0.5), T.lt(x, y), T.le(y, x), T.gt(x, 0), T.ge(x, y)),
    lambda T, x, y: (T.greater(x, y), T.greater_equal(x, 0), T.less(x, y), T.less_equal(x, y)),
    lambda T, x, y: (x.eq(y), x.ne(y), x.lt(0), x.le(y), x.gt(y), x.ge(0), x.not_equal(y)),
    lambda T, x, y: (T.logical_and(x > 0, y), T.logical_or(x, y > 0), T.logical_xor(x, y),
                     T.logical_not(x), x.logical_not(), (x > 0).logical_and(y > 0)),
    lambda T, x, y: ((x > 0) & (y > 0), (x > 0) | (y > 0), (x > 0) ^ (y > 0), ~(x > 0)),
    lambda T, x, y: (T.isnan(x / 0), T.isinf(x / 0), T.isfinite(x / 0), x.isnan()),
    lambda T, x, y: (T.isclose(x, y), T.isclose(x, x + 1e-7), x.isclose(y, rtol=1, atol=1)),
    lambda T, x, y: (T.sign(x), x.sign()),
], ids=lambda f: "")
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((), (3,)), ((0, 3), (3,))],
                         ids=_shape_id)
def test_comparisons_and_logic_match_pytorch(device, fn, shapes):
    x, y = (data(*s, seed=i) for i, s in enumerate(shapes))
    compare(fn, x, y, device=device)


def test_comparisons_do_not_require_grad(device):
    x = taimatsu.tensor([1.0, 2.0], device=device, requires_grad=True)
    for r in (x > 1, x == x * 2, taimatsu.isnan(x), taimatsu.logical_not(x), x.isclose(x)):
        assert r.dtype == taimatsu.bool and not r.requires_grad and r.grad_fn is None


def test_operators_with_other_objects(device):
    x = taimatsu.tensor([1.0, 2.0], device=device)
    assert (x == None) is False  # Python falls back to identity, as with torch
    assert (x != None) is True
    assert (x == "a") is False
    assert x in [x]
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        "a" - x
    with pytest.raises(TypeError):
        operator.lt(x, None)
    with pytest.raises(TypeError, match="must be Tensor"):
        taimatsu.exp(2.0)
    with pytest.raises(TypeError, match="must be Tensor"):
        taimatsu.maximum(x, 1)
    with pytest.raises(TypeError):
        taimatsu.add(1, 2)


def test_numpy_scalars_act_as_python_numbers(device):
    x = taimatsu.ones(2, device=device)
    assert (x * np.float64(2.0)).dtype == taimatsu.float32
    assert (x + np.int64(1)).dtype == taimatsu.float32
    assert (taimatsu.tensor([1, 2], device=device) * np.int32(3)).dtype == taimatsu.int64


def test_equal_and_allclose_return_python_bools(device):
    x = taimatsu.tensor([1.0, NAN], device=device)
    assert taimatsu.equal(x[:1], x[:1].clone()) is True
    assert taimatsu.equal(x, x) is False
    assert taimatsu.equal(x, x[:1]) is False
    assert taimatsu.allclose(x, x, equal_nan=True) is True
    assert x.allclose(x) is False


def test_default_dtype_float64(device):
    taimatsu.set_default_dtype(taimatsu.float64)
    i = taimatsu.tensor([1, 2], device=device)
    assert (i / 2).dtype == taimatsu.float64
    assert i.exp().dtype == taimatsu.float64
    assert taimatsu.where(i > 1, 1, 2.5).dtype == taimatsu.float64
    assert (taimatsu.ones(2, dtype=taimatsu.float32, device=device) * 2.5).dtype == \
        taimatsu.float32


# ------------------------------------------------------------------ in-place ops
# (id, fn(T, x, y) that changes ``x`` in place and returns it, domains)
INPLACE = [
    ("add_", lambda T, x, y: x.add_(y), ("any", "any")),
    ("add_alpha", lambda T, x, y: x.add_(y, alpha=-0.5), ("any", "any")),
    ("add_scalar", lambda T, x, y: x.add_(2), ("any", "any")),
    ("iadd", lambda T, x, y: x.__iadd__(y), ("any", "any")),
    ("sub_", lambda T, x, y: x.sub_(y, alpha=2), ("any", "any")),
    ("isub", lambda T, x, y: x.__isub__(1.5), ("any", "any")),
    ("mul_", lambda T, x, y: x.mul_(y), ("any", "any")),
    ("imul", lambda T, x, y: x.__imul__(3), ("any", "any")),
    ("div_", lambda T, x, y: x.div_(y), ("any", "any")),
    ("div_floor_", lambda T, x, y: x.div_(y, rounding_mode="floor"), ("any", "any")),
    ("itruediv", lambda T, x, y: x.__itruediv__(4), ("any", "any")),
    ("imod", lambda T, x, y: x.__imod__(y), ("any", "any")),
    ("fmod_", lambda T, x, y: x.fmod_(0.7), ("any", "any")),
    ("pow_", lambda T, x, y: x.pow_(2), ("any", "any")),
    ("pow_tensor_", lambda T, x, y: x.pow_(y), ("pos", "any")),
    ("ipow", lambda T, x, y: x.__ipow__(3), ("any", "any")),
    ("atan2_", lambda T, x, y: x.atan2_(y), ("any", "any")),
    ("hypot_", lambda T, x, y: x.hypot_(y), ("any", "any")),
    ("clamp_", lambda T, x, y: x.clamp_(-0.5, 0.5), ("any", "any")),
    ("clamp_tensor_", lambda T, x, y: x.clamp_(min=y), ("any", "any")),
    ("clamp_min_", lambda T, x, y: x.clamp_min_(0.3), ("any", "any")),
    ("clamp_max_", lambda T, x, y: x.clamp_max_(y), ("any", "any")),
    ("clip_", lambda T, x, y: x.clip_(max=0.3), ("any", "any")),
    ("lerp_", lambda T, x, y: x.lerp_(y, 0.3), ("any", "any")),
    ("lerp_tensor_", lambda T, x, y: x.lerp_(y, y.sigmoid()), ("any", "any")),
    ("addcmul_", lambda T, x, y: x.addcmul_(y, y, value=0.5), ("any", "any")),
    ("addcdiv_", lambda T, x, y: x.addcdiv_(y, y * y + 1, value=-2), ("any", "any")),
    ("neg_", lambda T, x, y: x.neg_(), ("any", "any")),
    ("abs_", lambda T, x, y: x.abs_(), ("any", "any")),
    ("sign_", lambda T, x, y: x.sign_(), ("any", "any")),
    ("reciprocal_", lambda T, x, y: x.reciprocal_(), ("any", "any")),
    ("square_", lambda T, x, y: x.square_(), ("any", "any")),
    ("sqrt_", lambda T, x, y: x.sqrt_(), ("pos", "any")),
    ("rsqrt_", lambda T, x, y: x.rsqrt_(), ("pos", "any")),
    ("exp_", lambda T, x, y: x.exp_(), ("any", "any")),
    ("expm1_", lambda T, x, y: x.expm1_(), ("any", "any")),
    ("log_", lambda T, x, y: x.log_(), ("pos", "any")),
    ("log1p_", lambda T, x, y: x.log1p_(), ("pos", "any")),
    ("sin_", lambda T, x, y: x.sin_(), ("any", "any")),
    ("cos_", lambda T, x, y: x.cos_(), ("any", "any")),
    ("tanh_", lambda T, x, y: x.tanh_(), ("any", "any")),
    ("sigmoid_", lambda T, x, y: x.sigmoid_(), ("any", "any")),
    ("erf_", lambda T, x, y: x.erf_(), ("any", "any")),
    ("relu_", lambda T, x, y: x.relu_(), ("any", "any")),
    ("floor_", lambda T, x, y: x.floor_(), ("any", "any")),
    ("ceil_", lambda T, x, y: x.ceil_(), ("any", "any")),
    ("round_", lambda T, x, y: x.round_(decimals=1), ("any", "any")),
    ("trunc_", lambda T, x, y: x.trunc_(), ("any", "any")),
    ("frac_", lambda T, x, y: x.frac_(), ("any", "any")),
    ("nan_to_num_", lambda T, x, y: x.nan_to_num_(), ("any", "any")),
    ("gt_", lambda T, x, y: x.gt_(y), ("any", "any")),
    ("eq_", lambda T, x, y: x.eq_(x), ("any", "any")),
]


@needs_torch
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((), ())], ids=_shape_id)
@pytest.mark.parametrize("name,fn,doms", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_matches_pytorch(device, name, fn, doms, shapes):
    def through_graph(T, x, y):
        z = x * 1  # a non-leaf, so it may be changed in place inside the graph
        out = fn(T, z, y)
        assert out is z
        return out

    def no_graph(T, x, y):
        z = x.detach().clone()
        out = fn(T, z, y.detach())
        assert out is z
        return out

    x, y = (data(*s, domain=d, seed=i) for i, (s, d) in enumerate(zip(shapes, doms)))
    compare(through_graph, x, y, device=device)
    compare(no_graph, x, y, device=device)


@needs_torch
@pytest.mark.parametrize("name,fn,doms", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_through_views_matches_pytorch(device, name, fn, doms):
    def on_view(T, x, y):
        z = x * 1
        fn(T, z[:, 1], y[:, 0])  # a column view: not contiguous
        return z

    def on_view_no_graph(T, x, y):
        z = x.detach().t().clone().t()  # a non-contiguous base
        fn(T, z[1:], y.detach()[0])
        return z

    x, y = (data(3, 4, domain=d, seed=i + 3) for i, d in enumerate(doms))
    compare(on_view, x, y, device=device)
    compare(on_view_no_graph, x, y, device=device)


INPLACE_GRADCHECK = [c for c in INPLACE if c[0] in (
    "add_alpha", "mul_", "div_", "pow_tensor_", "clamp_tensor_", "lerp_tensor_", "addcmul_",
    "addcdiv_", "sigmoid_", "sqrt_", "exp_", "relu_")]


@pytest.mark.parametrize("name,fn,doms", INPLACE_GRADCHECK, ids=[c[0] for c in INPLACE_GRADCHECK])
def test_inplace_gradcheck(device, name, fn, doms):
    def f(x, y):
        return fn(taimatsu, x * 1, y)

    x, y = (data(2, 3, domain=d, seed=i + 7) for i, d in enumerate(doms))
    gradcheck(f, x, y, device=device)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, i, f: i.__iadd__(1),
    lambda T, i, f: i.__imul__(i),
    lambda T, i, f: i.__ifloordiv__(2),
    lambda T, i, f: i.__imod__(3),
    lambda T, i, f: i.__ipow__(2),
    lambda T, i, f: i.__iand__(6),
    lambda T, i, f: i.__ior__(1),
    lambda T, i, f: i.__ixor__(i),
    lambda T, i, f: i.__ilshift__(1),
    lambda T, i, f: i.__irshift__(1),
    lambda T, i, f: i.abs_(),
    lambda T, i, f: i.neg_(),
    lambda T, i, f: i.clamp_(-1, 1),
    lambda T, i, f: i.eq_(0),
    lambda T, i, f: i.bitwise_not_(),
    lambda T, i, f: f.__iadd__(i),
    lambda T, i, f: f.__iadd__(T.tensor(2.0, dtype=T.float64)),
    lambda T, i, f: f.__imul__(T.ones(3, dtype=T.float64)),
    lambda T, i, f: f.logical_and_(i),
    lambda T, i, f: f.lt_(i),
    lambda T, i, f: f.__itruediv__(i.clamp(min=1)),
], ids=lambda f: "")
def test_inplace_dtypes_match_pytorch(fn):
    i = np.array([7, -7, 0])
    f = np.array([7.0, -7.0, 0.5], np.float32)
    _same_outcome(fn, [i, f], atol=1e-6)


@needs_torch
@pytest.mark.parametrize("name", ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "logical_and_",
                                  "logical_or_", "logical_xor_"])
def test_inplace_comparisons_match_pytorch(device, name):
    x, y = data(3, 4), data(4, seed=1)
    compare(lambda T, a, b: getattr(a, name)(b), x, y, device=device, grad=False)
    compare(lambda T, a, b: getattr(a * 1, name)(b), x, y, device=device)  # in a graph


def test_inplace_fast_path_writes_into_storage(device):
    x = taimatsu.ones(2, 3, device=device)
    before = x.data_ptr()
    x.mul_(2).add_(taimatsu.ones(3, device=device), alpha=0.5).addcmul_(x, x, value=0.25)
    x.clamp_(max=3).relu_().sqrt_()
    assert x.data_ptr() == before
    assert x._version_counter == 6
    np.testing.assert_allclose(to_np(x), np.full((2, 3), np.sqrt(3.0)), rtol=1e-6)


def test_operator_inplace_keeps_identity(device):
    x = taimatsu.ones(3, device=device)
    y = x
    y += 1
    y *= 3
    y -= 2
    y /= 2
    y **= 2
    y //= 2
    y %= 3
    assert y is x
    np.testing.assert_allclose(to_np(x), [2.0, 2.0, 2.0])


# ------------------------------------------------------------------ operand fast paths
# Operators and the hot functions hand tensors and Python floats/ints straight to the op; these
# check the cases beside that path (numbers on the left, small int dtypes, bools, NumPy scalars).
NUMBER_OPERANDS = [
    lambda T, t: 2 * t, lambda T, t: 1 - t, lambda T, t: 1.5 * t, lambda T, t: 3 + t,
    lambda T, t: 2 / t, lambda T, t: 2 ** t, lambda T, t: 300 * t, lambda T, t: t - 300,
    lambda T, t: t * True, lambda T, t: True + t, lambda T, t: t > 1, lambda T, t: 1.5 <= t,
    lambda T, t: t == 2, lambda T, t: T.mul(2, t), lambda T, t: T.add(t, np.float64(0.5)),
    lambda T, t: T.pow(t, 2), lambda T, t: t.pow(np.int64(2)), lambda T, t: T.sub(t, 1, alpha=2),
    lambda T, t: T.clamp(t, min=1), lambda T, t: T.clamp(t, max=1.5),
    lambda T, t: T.clamp(t, min=np.float32(0.5), max=2), lambda T, t: T.where(t > 1, t, 0.0),
    lambda T, t: T.where(t > 1, 0.0, t), lambda T, t: T.where(t > 1, 1, 0.5),
]


@needs_torch
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "float16", "float32",
                                   "float64"])
@pytest.mark.parametrize("fn", NUMBER_OPERANDS, ids=lambda f: "")
def test_number_operands_match_pytorch(fn, dtype):
    _same_outcome(fn, [np.array([1, 2, 3], dtype=dtype)], atol=1e-3)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, x, y: x * y, lambda T, x, y: y * x, lambda T, x, y: x / y, lambda T, x, y: y / x,
    lambda T, x, y: x % y, lambda T, x, y: y % x, lambda T, x, y: T.fmod(x, y),
    lambda T, x, y: x ** y, lambda T, x, y: y ** x, lambda T, x, y: x.clamp(min=y),
    lambda T, x, y: x.clamp(y, y + 1), lambda T, x, y: T.where(y > 1, x, y),
    lambda T, x, y: 2.0 ** x, lambda T, x, y: 3.0 / x, lambda T, x, y: 1 - x * 2,
], ids=lambda f: "")
def test_gradient_to_one_input_matches_pytorch(fn):
    """Ops save only what the needed gradients use: x requires grad, y does not."""
    xs, ys = np.array([0.5, 1.5, 2.5]), np.array([1.25, 0.75, 2.0])
    res = []
    for T in (taimatsu, torch):
        x, y = T.tensor(xs, requires_grad=True), T.tensor(ys)
        fn(T, x, y).sum().backward()
        res.append(to_np(x.grad))
    np.testing.assert_allclose(res[0], res[1], rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda T, f, d: f.add_(d), lambda T, f, d: d.sub_(f, alpha=2), lambda T, f, d: f.mul_(d[0]),
    lambda T, f, d: f.add_(True), lambda T, f, d: f.mul_(T.tensor(2.0)),
    lambda T, f, d: f.sub_(f[:1]), lambda T, f, d: f.__iadd__(np.float64(0.5)),
    lambda T, f, d: f.__isub__(2), lambda T, f, d: f.clamp_(min=d[:, :1] * 3),
], ids=lambda f: "")
def test_inplace_operands_beside_the_fast_path_match_pytorch(fn):
    """Operands of another dtype, bools, 0-d and broadcast tensors: the same values, in place."""
    res = []
    for T in (taimatsu, torch):
        f = T.tensor([[1.0, 2.0, 3.0]])
        d = T.tensor([[0.5, 1.5, 2.5]], dtype=T.float64)
        out = fn(T, f, d)
        assert out is f or out is d
        res.append((str(out.dtype).split(".")[-1], to_np(out)))
    assert res[0][0] == res[1][0]
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-6)


# ------------------------------------------------------------------ errors
ERRORS = [  # (fn(T), exception, message): the same with taimatsu and torch
    (lambda T: T.tensor([1, 2]) ** -1, RuntimeError, "Integers to negative integer powers"),
    (lambda T: T.pow(T.tensor([True]), T.tensor([True])), NotImplementedError, "pow"),
    (lambda T: T.tensor([1, 2]) // 0, RuntimeError, "ZeroDivisionError"),
    (lambda T: T.tensor([1, 2]) % T.tensor([1, 0]), RuntimeError, "ZeroDivisionError"),
    (lambda T: T.fmod(T.tensor([1, 2]), 0), RuntimeError, "ZeroDivisionError"),
    (lambda T: T.div(T.tensor([1]), 0, rounding_mode="trunc"), RuntimeError, "ZeroDivisionError"),
    (lambda T: T.div(T.ones(2), 2, rounding_mode="round"), RuntimeError,
     "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'"),
    (lambda T: T.tensor([True]) - T.tensor([True]), RuntimeError,
     "Subtraction, the `-` operator, with two bool tensors is not supported"),
    (lambda T: -T.tensor([True]), RuntimeError,
     "Negation, the `-` operator, on a bool tensor is not supported"),
    (lambda T: +T.tensor([True]), RuntimeError, "The `\\+` operator, on a bool tensor"),
    (lambda T: T.add(T.tensor([1]), T.tensor([1]), alpha=0.5), RuntimeError,
     "For integral input tensors, argument alpha must not be a floating point number"),
    (lambda T: T.add(T.ones(1), T.ones(1), alpha=True), RuntimeError,
     "Boolean alpha only supported for Boolean results"),
    (lambda T: T.clamp(T.ones(2)), RuntimeError,
     "torch.clamp: At least one of 'min' or 'max' must not be None"),
    (lambda T: T.ones(2).clamp_(), RuntimeError, "At least one of 'min' or 'max'"),
    (lambda T: T.where(T.tensor([1, 0]), 1.0, 2.0), RuntimeError,
     "where expected condition to be a boolean tensor, but got a tensor with dtype Long"),
    (lambda T: T.lerp(T.ones(2), T.ones(2, dtype=T.float64), 0.5), RuntimeError,
     "expected dtype float for `end` but got dtype double"),
    (lambda T: T.lerp(T.ones(2), T.ones(2), T.ones(2, dtype=T.float64)), RuntimeError,
     "expected dtype float for `weight` but got dtype double"),
    (lambda T: T.lerp(T.tensor([1]), T.tensor([2]), 0.5), NotImplementedError, "lerp"),
    (lambda T: T.addcdiv(T.ones(2), T.tensor([1, 2]), T.tensor([1, 2])), RuntimeError,
     "Integer division with addcdiv is no longer supported"),
    (lambda T: T.ones(5, 2, 3) + T.ones(4, 3), RuntimeError,
     ("The size of tensor a \\(2\\) must match the size of tensor b \\(4\\) at non-singleton "
      "dimension 1")),
    (lambda T: T.where(T.ones(2) > 0, T.ones(3), 1.0), RuntimeError,
     "The size of tensor a \\(2\\) must match the size of tensor b \\(3\\)"),
    (lambda T: T.lerp(T.ones(2), T.ones(2), T.ones(3)), RuntimeError, "size of tensor a"),
    (lambda T: T.ones(2) == T.ones(3), RuntimeError, "size of tensor a"),
    (lambda T: T.ones(2, 3) * T.ones(2), RuntimeError,
     ("The size of tensor a \\(3\\) must match the size of tensor b \\(2\\) at "
      "non-singleton dimension 1")),
    (lambda T: T.ones(3).add_(T.ones(2)), RuntimeError, "size of tensor a"),
    (lambda T: T.ones(2).clamp(min=T.ones(3)), RuntimeError, "size of tensor a"),
    (lambda T: T.logical_and(T.ones(2), T.ones(3)), RuntimeError, "size of tensor a"),
    (lambda T: T.isclose(T.ones(2), T.ones(3)), RuntimeError, "size of tensor a"),
    (lambda T: 1 - T.tensor([True]), RuntimeError,
     "Subtraction, the `-` operator, with a bool tensor is not supported"),
    (lambda T: T.tensor([1]) - True, RuntimeError, "with a bool tensor is not supported"),
    (lambda T: T.clamp(T.tensor([True]), False, True), NotImplementedError, "clamp"),
    (lambda T: ~T.ones(2), TypeError,
     "~ \\(operator.invert\\) is only implemented on integer and Boolean-type tensors"),
    (lambda T: T.isclose(T.tensor([1]), T.ones(1)), RuntimeError, "Long did not match Float"),
    (lambda T: T.isclose(T.ones(1), T.ones(1), rtol=-1), RuntimeError,
     "rtol must be greater than or equal to zero, but got -1"),
    (lambda T: T.ones(2) & T.ones(2), NotImplementedError, "bitwise_and"),
    (lambda T: T.bitwise_not(T.ones(2)), NotImplementedError, "bitwise_not"),
    (lambda T: T.hypot(T.tensor([1]), T.tensor([1])), NotImplementedError, "hypot"),
    (lambda T: T.frac(T.tensor([1])), NotImplementedError, "frac"),
    (lambda T: T.abs(T.tensor([True])), NotImplementedError, "abs"),
    (lambda T: T.relu(T.tensor([True])), RuntimeError, "Boolean inputs not supported for relu"),
    (lambda T: T.round(T.tensor([1]), decimals=1), NotImplementedError, "round"),
    (lambda T: T.add(T.ones(2, requires_grad=True), 1, out=T.zeros(2)), RuntimeError,
     "add\\(\\): functions with out=... arguments don't support automatic differentiation"),
]


@needs_torch
@pytest.mark.parametrize("fn,exc,msg", ERRORS, ids=[f"err{i}" for i in range(len(ERRORS))])
def test_errors_match_pytorch(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(torch)
    with pytest.raises(exc, match=msg):
        fn(taimatsu)


FLOAT_TO_LONG = "result type Float can't be cast to the desired output type Long"
INPLACE_ERRORS = [  # (fn(T, int tensor, float tensor), message)
    (lambda T, i, f: i.__iadd__(1.5), FLOAT_TO_LONG),
    (lambda T, i, f: i.add_(f), FLOAT_TO_LONG),
    (lambda T, i, f: i.div_(2), FLOAT_TO_LONG),
    (lambda T, i, f: i.__itruediv__(2), FLOAT_TO_LONG),
    (lambda T, i, f: i.exp_(), FLOAT_TO_LONG),
    (lambda T, i, f: i.clamp_(min=0.5), "result type Float can't be cast to the desired output"),
    (lambda T, i, f: (i > 0).add_(1),
     "result type Long can't be cast to the desired output type Bool"),
    (lambda T, i, f: f.add_(T.ones(2, 3)),
     "output with shape \\[3\\] doesn't match the broadcast shape \\[2, 3\\]"),
    (lambda T, i, f: f.mul_(T.ones(2, 1)), "doesn't match the broadcast shape"),
    (lambda T, i, f: f.expand(2, 3).add_(1), "more than one element of the written-to tensor"),
    (lambda T, i, f: f.requires_grad_().mul_(2),
     "a leaf Variable that requires grad is being used in an in-place operation"),
    (lambda T, i, f: f.requires_grad_()[1:].add_(1),
     "a view of a leaf Variable that requires grad is being used in an in-place operation"),
]


@needs_torch
@pytest.mark.parametrize("fn,msg", INPLACE_ERRORS,
                         ids=[f"err{i}" for i in range(len(INPLACE_ERRORS))])
def test_inplace_errors_leave_tensors_unchanged(fn, msg):
    for T in (taimatsu, torch):
        i, f = T.tensor([7, -7, 0]), T.tensor([1.0, 2.0, 3.0])
        with pytest.raises(RuntimeError, match=msg):
            fn(T, i, f)
        assert i.tolist() == [7, -7, 0] and f.tolist() == [1.0, 2.0, 3.0]
        assert (i._version if T is torch else i._version_counter) == 0


def test_out_argument(device):
    x = taimatsu.tensor([1.0, 2.0], device=device)
    out = taimatsu.empty(2, device=device)
    assert taimatsu.add(x, 1, out=out) is out
    np.testing.assert_allclose(to_np(out), [2.0, 3.0])
    resized = taimatsu.empty(0, device=device)
    taimatsu.mul(x, taimatsu.ones(3, 1, device=device), out=resized)
    assert tuple(resized.shape) == (3, 2)
    mask = taimatsu.empty(2, dtype=taimatsu.bool, device=device)
    taimatsu.gt(x, 1, out=mask)
    assert mask.tolist() == [False, True]
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        taimatsu.exp(x, out=taimatsu.empty(2, dtype=taimatsu.int64, device=device))


def test_where_single_argument_is_nonzero(device):
    c = taimatsu.tensor([[True, False], [False, True]], device=device)
    rows, cols = taimatsu.where(c)
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]


def test_mixing_devices_is_an_error():
    if not taimatsu.cuda.is_available():
        pytest.skip("needs a GPU: mixing devices cannot happen with the CPU alone")
    x, y = taimatsu.ones(2), taimatsu.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        x + y
    assert (y + taimatsu.tensor(2.0)).device.type == "cuda"  # 0-d CPU tensors mix freely
