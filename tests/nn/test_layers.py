"""Layers (Linear, activations, Dropout, Flatten, ...) against PyTorch from identical weights."""
from __future__ import annotations

import math

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
from tests.helpers import compare, needs_torch, rand, to_np, torch


def check_module(make, *arrays, device="cpu"):
    """Build ``make(nn)`` in both libraries, copy PyTorch's state into ours through NumPy, and
    compare repr, outputs, input gradients and parameter gradients."""
    pm = make(torch.nn)
    tm = make(tnn)
    assert repr(tm) == repr(pm)
    state = {k: taimatsu.tensor(v.detach().numpy()) for k, v in pm.state_dict().items()}
    tm.load_state_dict(state)
    tm.to(device)

    def run(T, *xs):
        m = tm if T is taimatsu else pm
        return m(*[x * 1 for x in xs])  # a non-leaf input, so inplace layers may overwrite it

    compare(run, *arrays, device=device)
    tp, pp = dict(tm.named_parameters()), dict(pm.named_parameters())
    assert tp.keys() == pp.keys()
    for name, p in pp.items():
        np.testing.assert_allclose(to_np(tp[name].grad), p.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


LAYERS = {
    "Linear": lambda nn: nn.Linear(3, 4),
    "Linear_nobias": lambda nn: nn.Linear(3, 4, bias=False),
    "Identity": lambda nn: nn.Identity(54, unused="ignored"),
    "ReLU": lambda nn: nn.ReLU(),
    "ReLU_inplace": lambda nn: nn.ReLU(inplace=True),
    "LeakyReLU": lambda nn: nn.LeakyReLU(),
    "LeakyReLU_args": lambda nn: nn.LeakyReLU(0.2, inplace=True),
    "Sigmoid": lambda nn: nn.Sigmoid(),
    "Tanh": lambda nn: nn.Tanh(),
    "GELU": lambda nn: nn.GELU(),
    "GELU_tanh": lambda nn: nn.GELU(approximate="tanh"),
    "SiLU": lambda nn: nn.SiLU(),
    "SiLU_inplace": lambda nn: nn.SiLU(inplace=True),
    "Softmax": lambda nn: nn.Softmax(dim=1),
    "LogSoftmax": lambda nn: nn.LogSoftmax(dim=-1),
    "Softplus": lambda nn: nn.Softplus(beta=2, threshold=1.0),
    "ELU": lambda nn: nn.ELU(alpha=0.5),
    "ELU_inplace": lambda nn: nn.ELU(inplace=True),
    "Hardtanh": lambda nn: nn.Hardtanh(-0.5, 0.5),
    "ReLU6": lambda nn: nn.ReLU6(inplace=True),
    "LogSigmoid": lambda nn: nn.LogSigmoid(),
    "Flatten": lambda nn: nn.Flatten(),
    "Flatten_dims": lambda nn: nn.Flatten(0, -2),
    "Unflatten": lambda nn: nn.Unflatten(1, (3, 1)),
    "Unflatten_list": lambda nn: nn.Unflatten(-1, [1, 3]),
    "Sequential_MLP": lambda nn: nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2),
                                               nn.LogSoftmax(dim=1)),
}


@needs_torch
@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_torch(name, device):
    check_module(LAYERS[name], rand(4, 3) * 3, device=device)


@needs_torch
def test_linear_on_batched_input(device):
    check_module(lambda nn: nn.Linear(3, 2), rand(2, 5, 3), device=device)
    check_module(lambda nn: nn.Linear(3, 2), rand(3), device=device)


@needs_torch
def test_bilinear_matches_torch(device):
    check_module(lambda nn: nn.Bilinear(3, 2, 4), rand(5, 3), rand(5, 2, seed=1), device=device)
    check_module(lambda nn: nn.Bilinear(3, 2, 4, bias=False), rand(5, 3), rand(5, 2, seed=1),
                 device=device)


@needs_torch
def test_flatten_on_image_batch(device):
    check_module(lambda nn: nn.Flatten(), rand(2, 1, 3, 3), device=device)
    check_module(lambda nn: nn.Unflatten(1, (2, 3, 3)), rand(2, 18), device=device)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda nn: nn.Softmax(), lambda nn: nn.Softmax(1), lambda nn: nn.ReLU6(True),
    lambda nn: nn.Hardtanh(), lambda nn: nn.GELU("tanh"), lambda nn: nn.ELU(inplace=True),
    lambda nn: nn.Softplus(), lambda nn: nn.Dropout(), lambda nn: nn.Dropout(0.1, True),
    lambda nn: nn.Unflatten(1, [2, 3]), lambda nn: nn.Flatten(), lambda nn: nn.Identity(),
    lambda nn: nn.Bilinear(2, 3, 4), lambda nn: nn.Linear(2, 3, bias=False),
])
def test_repr_matches_torch(make):
    assert repr(make(tnn)) == repr(make(torch.nn))


# ---------------------------------------------------------------------------- Linear
def test_linear_default_init_follows_pytorch():
    m = tnn.Linear(1000, 200)
    w, b = to_np(m.weight), to_np(m.bias)
    bound = 1 / math.sqrt(1000)  # kaiming_uniform_(a=sqrt(5)) on weight, uniform on bias
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert abs(b.std() - bound / math.sqrt(3)) < 0.2 * bound
    assert m.weight.shape == (200, 1000) and m.bias.shape == (200,)
    assert m.weight.requires_grad and m.weight.dtype == taimatsu.float32


def test_linear_init_is_reproducible_with_manual_seed():
    taimatsu.manual_seed(3)
    a = tnn.Linear(4, 5)
    taimatsu.manual_seed(3)
    b = tnn.Linear(4, 5)
    np.testing.assert_array_equal(to_np(a.weight), to_np(b.weight))
    np.testing.assert_array_equal(to_np(a.bias), to_np(b.bias))


def test_linear_attributes_and_parameters(device):
    m = tnn.Linear(3, 4, bias=False, device=device, dtype=taimatsu.float64)
    assert (m.in_features, m.out_features) == (3, 4)
    assert m.bias is None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert m.weight.dtype == taimatsu.float64 and m.weight.device.type == device
    assert m(taimatsu.ones(2, 3, dtype=taimatsu.float64, device=device)).shape == (2, 4)
    m = tnn.Linear(3, 4)
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
def test_linear_zero_in_features():
    m = tnn.Linear(0, 3)
    assert not to_np(m.bias).any()
    assert not to_np(m(taimatsu.zeros(2, 0))).any()


def test_linear_wrong_input_width():
    m = tnn.Linear(1000, 100)
    x = taimatsu.zeros(64, 999)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(64x999 and 1000x100\)"):
        m(x)


def test_linear_reset_parameters_redraws():
    m = tnn.Linear(4, 4)
    before = to_np(m.weight).copy()
    m.reset_parameters()
    assert (to_np(m.weight) != before).any()


def test_identity_returns_its_input():
    x = taimatsu.ones(2)
    assert tnn.Identity()(x) is x


# ---------------------------------------------------------------------------- activations
def test_activation_bad_construction():
    with pytest.raises(AssertionError, match=r"max_val \(-1\) must be greater than min_val \(1\)"):
        tnn.Hardtanh(1, -1)


@needs_torch
def test_softmax_module_without_dim_warns(device):
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        check_module(lambda nn: nn.Softmax(), rand(2, 3), device=device)


# ---------------------------------------------------------------------------- Dropout
def test_dropout_module_train_and_eval(device):
    m = tnn.Dropout(0.25)
    x = taimatsu.ones(400, 10, device=device)
    y = to_np(m(x))
    assert set(np.unique(y).tolist()) == {0.0, float(np.float32(1 / 0.75))}
    assert abs((y == 0).mean() - 0.25) < 0.03
    m.eval()
    assert m(x) is x


def test_dropout_module_bad_probability():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                                         "got 2"):
        tnn.Dropout(2)


def test_dropout_module_inplace(device):
    m = tnn.Dropout(0.5, inplace=True)
    x = taimatsu.ones(20, device=device)
    assert m(x) is x


# ---------------------------------------------------------------------------- Flatten
def test_unflatten_bad_sizes():
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found "
                                        "type int"):
        tnn.Unflatten(1, 6)
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found "
                                        "element of type float at pos 1"):
        tnn.Unflatten(1, (2, 2.5))
