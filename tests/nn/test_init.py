"""nn.init: fan computation and gains equal to PyTorch's; sample statistics of each
initialiser; in-place, no-grad and reproducible under ``manual_seed``."""
from __future__ import annotations

import math

import numpy as np
import pytest

import taimatsu
from taimatsu import nn
from taimatsu.nn import init
from tests.helpers import needs_torch, to_np, torch

SHAPES = [(2, 3), (7, 5), (4, 3, 5), (6, 2, 3, 3), (3, 4, 2, 2, 2), (1, 1)]


def param(*shape, device="cpu"):
    return nn.Parameter(taimatsu.empty(*shape, device=device))


@needs_torch
@pytest.mark.parametrize("shape", SHAPES)
def test_fan_in_and_fan_out_match_torch(shape):
    assert (init._calculate_fan_in_and_fan_out(taimatsu.empty(shape))
            == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)))


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with "
                                         "fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(taimatsu.empty(3))


@needs_torch
@pytest.mark.parametrize("nl,param_", [
    ("linear", None), ("conv2d", None), ("conv_transpose3d", None), ("sigmoid", None),
    ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", 1), ("selu", None)])
def test_calculate_gain_matches_torch(nl, param_):
    assert init.calculate_gain(nl, param_) == torch.nn.init.calculate_gain(nl, param_)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity nope"):
        init.calculate_gain("nope")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_inits_are_in_place_no_grad_and_return_tensor(device):
    p = param(8, 6, device=device)
    fns = [lambda t: init.uniform_(t), lambda t: init.normal_(t), lambda t: init.trunc_normal_(t),
           lambda t: init.constant_(t, 0.5), init.ones_, init.zeros_, init.eye_,
           init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
           init.kaiming_normal_, init.orthogonal_, lambda t: init.sparse_(t, 0.5)]
    for fn in fns:
        before = p._version_counter
        assert fn(p) is p
        assert p.grad_fn is None and p.requires_grad and p.is_leaf
        assert p._version_counter > before
        assert p.dtype is taimatsu.float32 and p.device.type == device


def test_constant_family():
    t = taimatsu.empty(3, 4)
    assert to_np(init.constant_(t, 2.5)).tolist() == [[2.5] * 4] * 3
    assert not to_np(init.zeros_(t)).any()
    assert (to_np(init.ones_(t)) == 1).all()


@needs_torch
@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_matches_torch(shape):
    np.testing.assert_array_equal(to_np(init.eye_(taimatsu.empty(shape))),
                                  to_np(torch.nn.init.eye_(torch.empty(shape))))


def test_eye_needs_2d():
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(taimatsu.empty(2, 2, 2))


@needs_torch
@pytest.mark.parametrize("shape,groups", [((4, 3, 3), 1), ((4, 2, 3, 3), 2), ((6, 6, 3, 3, 3), 3),
                                          ((2, 5, 4, 4), 1)])
def test_dirac_matches_torch(shape, groups):
    np.testing.assert_array_equal(to_np(init.dirac_(taimatsu.empty(shape), groups)),
                                  to_np(torch.nn.init.dirac_(torch.empty(shape), groups)))


def test_dirac_errors():
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        init.dirac_(taimatsu.empty(2, 2))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(taimatsu.empty(3, 2, 2), groups=2)


def _stats(t):
    a = to_np(t).astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


def test_uniform_and_normal_statistics(device):
    t = taimatsu.empty(200, 200, device=device)
    mean, std, lo, hi = _stats(init.uniform_(t, -2.0, 4.0))
    assert -2.0 <= lo and hi <= 4.0
    assert abs(mean - 1.0) < 0.05 and abs(std - 6 / math.sqrt(12)) < 0.03
    mean, std, _, _ = _stats(init.normal_(t, 3.0, 0.5))
    assert abs(mean - 3.0) < 0.01 and abs(std - 0.5) < 0.01


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("relu")])
def test_xavier_statistics(shape, gain):
    t = taimatsu.empty(shape)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(t)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    _, s, lo, hi = _stats(init.xavier_uniform_(t, gain=gain))
    bound = math.sqrt(3.0) * std
    assert -bound <= lo and hi <= bound and abs(s / std - 1) < 0.03
    m, s, _, _ = _stats(init.xavier_normal_(t, gain=gain))
    assert abs(m) < 0.05 * std and abs(s / std - 1) < 0.03


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("a,nl", [(0, "relu"), (math.sqrt(5), "leaky_relu"), (0, "tanh")])
def test_kaiming_statistics(mode, a, nl):
    t = taimatsu.empty(128, 64, 3, 3)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(t)
    std = init.calculate_gain(nl, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    _, s, lo, hi = _stats(init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nl))
    bound = math.sqrt(3.0) * std
    assert -bound <= lo and hi <= bound and abs(s / std - 1) < 0.03
    m, s, _, _ = _stats(init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nl))
    assert abs(m) < 0.05 * std and abs(s / std - 1) < 0.03


def test_kaiming_errors_and_empty():
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of "
                                         r"\['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(taimatsu.empty(2, 2), mode="fan_avg")
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_normal_(taimatsu.empty(0, 3))


@needs_torch
@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 3.0),
                                          (0.0, 1.0, 2.0, 2.5), (1.0, 0.1, 0.0, 0.5)])
def test_trunc_normal_statistics_match_torch(mean, std, a, b):
    """Both regimes: mostly-inside (redraw outliers) and narrow/far windows (accept-reject)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (1.0, 0.1, 0.0, 0.5) is far from mean on purpose
        ours = to_np(init.trunc_normal_(taimatsu.empty(100_000), mean, std, a, b))
        torch.manual_seed(0)
        ref = to_np(torch.nn.init.trunc_normal_(torch.empty(100_000), mean, std, a, b))
    assert a <= ours.min() and ours.max() <= b
    scale = b - a
    assert abs(ours.mean() - ref.mean()) < 0.02 * scale
    assert abs(ours.std() - ref.std()) < 0.02 * scale


def test_trunc_normal_warns_far_mean():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(taimatsu.empty(10), mean=10.0, std=1.0, a=-1.0, b=1.0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (8, 2, 3, 3)])
def test_orthogonal(shape, device):
    t = taimatsu.empty(shape, device=device)
    init.orthogonal_(t, gain=2.0)
    q = to_np(t).reshape(shape[0], -1).astype(np.float64)
    small = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(small, 4.0 * np.eye(small.shape[0]), atol=1e-4)


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(taimatsu.empty(3))
    assert init.orthogonal_(taimatsu.empty(0, 3)).shape == (0, 3)


def test_sparse():
    t = init.sparse_(taimatsu.empty(10, 7), sparsity=0.3, std=0.1)
    zeros_per_col = (to_np(t) == 0).sum(axis=0)
    assert (zeros_per_col == 3).all()
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(taimatsu.empty(2, 2, 2), 0.1)


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.trunc_normal_,
                                init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
                                init.kaiming_normal_, init.orthogonal_,
                                lambda t: init.sparse_(t, 0.5)])
def test_reproducible_under_manual_seed(fn, device):
    taimatsu.manual_seed(123)
    a = to_np(fn(taimatsu.empty(6, 5, device=device))).copy()
    b = to_np(fn(taimatsu.empty(6, 5, device=device))).copy()
    taimatsu.manual_seed(123)
    c = to_np(fn(taimatsu.empty(6, 5, device=device)))
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_generator_argument():
    g1 = taimatsu.Generator().manual_seed(7)
    g2 = taimatsu.Generator().manual_seed(7)
    for fn in (init.trunc_normal_, init.orthogonal_):
        a = to_np(fn(taimatsu.empty(4, 3), generator=g1))
        b = to_np(fn(taimatsu.empty(4, 3), generator=g2))
        np.testing.assert_array_equal(a, b)


def test_float64_and_float16_targets():
    for dt in (taimatsu.float64, taimatsu.float16):
        t = init.kaiming_uniform_(taimatsu.empty(8, 8, dtype=dt))
        assert t.dtype is dt and to_np(t).any()
