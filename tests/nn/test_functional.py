"""nn.functional: linear maps, activations, softmax and dropout against PyTorch, plus gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn.functional as F
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np


def away_from_kinks(*shape, seed=0):
    """Data with |x| >= 0.1, so finite differences never straddle a kink at 0."""
    a = rand(*shape, seed=seed)
    return a + np.sign(a).astype(np.float32) * 0.1


# Each entry: name -> fn(F, x); F is taimatsu.nn.functional or torch.nn.functional.
ACTIVATIONS = {
    "relu": lambda F, x: F.relu(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x),
    "leaky_relu_0.2": lambda F, x: F.leaky_relu(x, negative_slope=0.2),
    "sigmoid": lambda F, x: F.sigmoid(x),
    "tanh": lambda F, x: F.tanh(x),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, beta=2.0, threshold=1.5),
    "elu": lambda F, x: F.elu(x),
    "elu_alpha": lambda F, x: F.elu(x, alpha=0.5),
    "hardtanh": lambda F, x: F.hardtanh(x),
    "hardtanh_range": lambda F, x: F.hardtanh(x, -0.5, 0.25),
    "relu6": lambda F, x: F.relu6(x * 8),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softmax": lambda F, x: F.softmax(x, dim=-1),
    "softmax_0": lambda F, x: F.softmax(x, 0),
    "log_softmax": lambda F, x: F.log_softmax(x, dim=1),
    "log_softmax_0": lambda F, x: F.log_softmax(x, dim=0),
}


def _lib_f(T):
    return T.nn.functional


@needs_torch
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(name, device):
    fn = ACTIVATIONS[name]
    a = rand(4, 5) * 3
    a[0, :3] = [0.0, 1.0, -1.0]  # the conventions at kinks and bounds must match too
    compare(lambda T, x: fn(_lib_f(T), x), a, device=device)


@needs_torch
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_non_contiguous(name, device):
    fn = ACTIVATIONS[name]
    compare(lambda T, x: fn(_lib_f(T), x), rand(3, 4, seed=1), device=device,
            non_contiguous=True)


@needs_torch
@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if "softmax" not in n])
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3)])
def test_activation_0d_and_empty(name, shape, device):
    fn = ACTIVATIONS[name]
    compare(lambda T, x: fn(_lib_f(T), x), rand(*shape, seed=2), device=device)


@needs_torch
def test_activations_extreme_values_stay_finite(device):
    a = np.array([-200.0, -30.0, -5.0, 0.0, 5.0, 30.0, 200.0], dtype=np.float32)
    for name in ("sigmoid", "silu", "softplus", "logsigmoid", "gelu", "gelu_tanh", "elu",
                 "softplus_beta"):
        compare(lambda T, x, fn=ACTIVATIONS[name]: fn(_lib_f(T), x), a, device=device)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradcheck(name, device):
    fn = ACTIVATIONS[name]
    gradcheck(lambda x: fn(F, x), away_from_kinks(3, 4), device=device)


@needs_torch
@pytest.mark.parametrize("name,call", [
    ("relu", lambda F, x: F.relu(x, inplace=True)),
    ("relu_", lambda F, x: F.relu_(x)),
    ("leaky_relu", lambda F, x: F.leaky_relu(x, 0.1, inplace=True)),
    ("leaky_relu_", lambda F, x: F.leaky_relu_(x, 0.1)),
    ("elu", lambda F, x: F.elu(x, inplace=True)),
    ("elu_", lambda F, x: F.elu_(x, 0.7)),
    ("hardtanh", lambda F, x: F.hardtanh(x, inplace=True)),
    ("hardtanh_", lambda F, x: F.hardtanh_(x, -0.5, 0.5)),
    ("relu6", lambda F, x: F.relu6(x, inplace=True)),
    ("silu", lambda F, x: F.silu(x, inplace=True)),
])
def test_inplace_activation_matches_torch(name, call, device):
    def fn(T, x):
        y = x * 1.5  # a non-leaf, so it may be overwritten
        out = call(_lib_f(T), y)
        assert out is y
        return out

    compare(fn, rand(3, 4, seed=3), device=device)


def test_inplace_activation_on_leaf_requiring_grad_raises(device):
    x = taimatsu.tensor(rand(3), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        F.relu(x, inplace=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        F.leaky_relu_(x)
    np.testing.assert_array_equal(to_np(x), rand(3))


def test_inplace_activation_without_grad_writes_storage(device):
    x = taimatsu.tensor([-1.0, 2.0, -3.0], device=device)
    v = x._version_counter
    assert F.relu(x, inplace=True) is x
    assert to_np(x).tolist() == [0.0, 2.0, 0.0]
    assert x._version_counter > v


def test_activation_bad_arguments():
    x = taimatsu.tensor(rand(3))
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        F.gelu(x, approximate="foo")
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 1.0, -1.0)


@needs_torch
def test_softmax_implicit_dim_warns_and_matches_torch(device):
    for shape in [(5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)]:
        a = rand(*shape, seed=4)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            compare(lambda T, x: _lib_f(T).softmax(x), a, device=device)
        with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
            compare(lambda T, x: _lib_f(T).log_softmax(x), a, device=device)


@needs_torch
def test_softmax_dtype_argument(device):
    a = rand(3, 4, seed=5)
    compare(lambda T, x: _lib_f(T).softmax(x, 1, dtype=T.float64), a, device=device)
    compare(lambda T, x: _lib_f(T).log_softmax(x, -1, dtype=T.float64), a, device=device)


# ---------------------------------------------------------------------------- linear
@needs_torch
@pytest.mark.parametrize("x_shape", [(5, 3), (3,), (2, 4, 3), (0, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(x_shape, bias, device):
    arrays = [rand(*x_shape, seed=6), rand(4, 3, seed=7)] + ([rand(4, seed=8)] if bias else [])
    compare(lambda T, x, w, *b: _lib_f(T).linear(x, w, *b), *arrays, device=device)


@needs_torch
def test_linear_non_contiguous(device):
    compare(lambda T, x, w, b: _lib_f(T).linear(x, w, b), rand(5, 3), rand(4, 3, seed=1),
            rand(4, seed=2), device=device, non_contiguous=True)


def test_linear_gradcheck(device):
    gradcheck(lambda x, w, b: F.linear(x, w, b), rand(5, 3), rand(4, 3, seed=1), rand(4, seed=2),
              device=device)
    gradcheck(lambda x, w: F.linear(x, w), rand(2, 2, 3), rand(4, 3, seed=1), device=device)


@pytest.mark.parametrize("x_shape,message", [
    ((64, 999), r"mat1 and mat2 shapes cannot be multiplied \(64x999 and 1000x100\)"),
    ((2, 3, 999), r"mat1 and mat2 shapes cannot be multiplied \(6x999 and 1000x100\)"),
    ((999,), r"mat1 and mat2 shapes cannot be multiplied \(1x999 and 1000x100\)"),
])
def test_linear_shape_mismatch(x_shape, message, device):
    x = taimatsu.zeros(*x_shape, device=device)
    w = taimatsu.zeros(100, 1000, device=device)
    with pytest.raises(RuntimeError, match=message):
        F.linear(x, w, taimatsu.zeros(100, device=device))
    with pytest.raises(RuntimeError, match=message):
        F.linear(x, w)


def test_linear_0d_input_raises():
    with pytest.raises(RuntimeError, match="both arguments to linear need to be at least 1D, but "
                                           "they are 0D and 2D"):
        F.linear(taimatsu.tensor(1.0), taimatsu.zeros(2, 3))


@needs_torch
def test_bilinear_matches_torch(device):
    compare(lambda T, a, b, w, bias: _lib_f(T).bilinear(a, b, w, bias), rand(4, 3), rand(4, 2, seed=1),
            rand(5, 3, 2, seed=2), rand(5, seed=3), device=device)
    compare(lambda T, a, b, w: _lib_f(T).bilinear(a, b, w), rand(2, 3, 3), rand(2, 3, 2, seed=1),
            rand(5, 3, 2, seed=2), device=device)


def test_bilinear_gradcheck(device):
    gradcheck(lambda a, b, w, bias: F.bilinear(a, b, w, bias), rand(3, 2), rand(3, 2, seed=1),
              rand(2, 2, 2, seed=2), rand(2, seed=3), device=device)


# ---------------------------------------------------------------------------- dropout
def test_dropout_eval_and_p0_return_the_input(device):
    x = taimatsu.tensor(rand(4, 5), device=device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_scales_kept_elements_and_zeroes_the_rest(device):
    x = taimatsu.tensor(rand(200, 50, low=1.0, high=2.0), device=device, requires_grad=True)
    y = F.dropout(x, 0.3)
    out, xin = to_np(y), to_np(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], xin[kept] / 0.7, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), kept / 0.7, rtol=1e-6)


def test_dropout_p1_zeroes_everything(device):
    x = taimatsu.tensor(rand(3, 4), device=device, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not to_np(y).any()
    y.sum().backward()
    assert not to_np(x.grad).any()


def test_dropout_is_reproducible_with_manual_seed(device):
    x = taimatsu.ones(100, device=device)
    taimatsu.manual_seed(123)
    a = to_np(F.dropout(x))
    taimatsu.manual_seed(123)
    b = to_np(F.dropout(x))
    c = to_np(F.dropout(x))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_dropout_inplace(device):
    x = taimatsu.ones(50, device=device)
    assert F.dropout(x, 0.5, inplace=True) is x
    assert set(np.unique(to_np(x)).tolist()) <= {0.0, 2.0}


def test_dropout_bad_probability():
    x = taimatsu.ones(3)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, "
                                             f"but got {p}"):
            F.dropout(x, p)


def test_dropout_gradcheck(device):
    def fn(x):
        taimatsu.manual_seed(7)  # the same mask at every evaluation
        return F.dropout(x, 0.4)

    gradcheck(fn, rand(4, 5), device=device)
