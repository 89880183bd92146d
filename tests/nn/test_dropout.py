"""Channel and alpha dropout (functions and modules). Masks come from taimatsu's generator, so
they are not PyTorch's bits: the tests check the exact structure and scaling of the result,
its statistics, eval-mode identity, gradients, warnings and errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
import taimatsu.nn.functional as F
from tests.helpers import gradcheck, needs_torch, rand, to_np, torch

ALPHA = 1.7580993408473766  # SELU's scale * alpha


def _channels(y, x, scale):
    """Per (n, c) channel: True if kept (exactly ``x * scale``), False if zeroed; fails on any
    channel that is neither."""
    y, x = to_np(y), to_np(x)
    n, c = y.shape[:2]
    y, x = y.reshape(n, c, -1), x.reshape(n, c, -1)
    zero = (y == 0).all(-1)
    kept = np.isclose(y, x * scale, rtol=1e-6, atol=0).all(-1)
    assert (zero | kept).all(), "a channel was partly dropped"
    return kept


@pytest.mark.parametrize("fn,shape", [(F.dropout1d, (40, 30, 5)), (F.dropout2d, (40, 30, 2, 3)),
                                      (F.dropout3d, (40, 30, 2, 2, 2))])
def test_channel_dropout_zeroes_whole_channels(fn, shape, device):
    x = taimatsu.tensor(rand(*shape, low=0.5, high=1.5), device=device)
    kept = _channels(fn(x, 0.3), x, 1 / 0.7)
    assert abs(kept.mean() - 0.7) < 0.05  # 1200 channels: 4 standard deviations


@pytest.mark.parametrize("fn,shape", [(F.dropout1d, (200, 5)), (F.dropout3d, (200, 2, 2, 2))])
def test_channel_dropout_unbatched_drops_along_dim0(fn, shape, device):
    x = taimatsu.tensor(rand(*shape, low=0.5, high=1.5), device=device)
    y = fn(x, 0.5)
    assert tuple(y.shape) == shape
    kept = _channels(y.unsqueeze(0), x.unsqueeze(0), 2.0)
    assert 0.35 < kept.mean() < 0.65


def test_dropout2d_3d_input_is_1d_channel_dropout_with_warning(device):
    x = taimatsu.tensor(rand(20, 30, 4, low=0.5, high=1.5), device=device)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d and assuming that "
                                         "channel-wise 1D dropout"):
        y = F.dropout2d(x, 0.5)
    _channels(y, x, 2.0)


@pytest.mark.parametrize("fn,nd,spatial", [(F.dropout2d, 5, 2), (F.dropout2d, 2, 2),
                                           (F.dropout3d, 6, 3), (F.dropout3d, 3, 3)])
def test_channel_dropout_deprecated_ranks_warn(fn, nd, spatial, device):
    x = taimatsu.ones(*([4] * nd), device=device)
    with pytest.warns(UserWarning, match=f"Received a {nd}-D input to dropout{spatial}d, which is "
                                         "deprecated"):
        assert tuple(fn(x, 0.5, training=False).shape) == (4,) * nd


def test_dropout1d_wrong_rank_and_feature_dropout_of_1d():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a "
                                           "4D input"):
        F.dropout1d(taimatsu.ones(2, 3, 4, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            F.dropout2d(taimatsu.ones(4))
        assert tuple(F.dropout2d(taimatsu.ones(4), training=False).shape) == (4,)


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                F.feature_alpha_dropout])
def test_bad_probability(fn):
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, "
                                             f"but got {p}"):
            fn(taimatsu.ones(2, 3, 4, 4), p)


@pytest.mark.parametrize("cls", ["Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                 "FeatureAlphaDropout"])
def test_module_bad_probability_and_repr(cls):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        getattr(tnn, cls)(1.2)
    if torch is not None:
        assert repr(getattr(tnn, cls)(0.2, True)) == repr(getattr(torch.nn, cls)(0.2, True))


def test_alpha_dropout_values_and_moments(device):
    p = 0.2
    x = taimatsu.tensor(np.random.default_rng(0).standard_normal(200_000).astype(np.float32),
                        device=device)
    y = to_np(F.alpha_dropout(x, p, training=True))
    a = 1 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    b = ALPHA * a * p
    kept = np.isclose(y, to_np(x) * a + b, rtol=1e-5, atol=1e-6)
    dropped = np.isclose(y, -ALPHA * a + b, rtol=1e-5, atol=1e-6)
    assert (kept | dropped).all()
    assert abs(dropped.mean() - p) < 0.005
    # the point of alpha dropout: a standardised input stays standardised
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01


def test_feature_alpha_dropout_drops_whole_channels(device):
    p = 0.5
    x = taimatsu.tensor(rand(30, 40, 3, 2), device=device)
    y, xs = to_np(F.feature_alpha_dropout(x, p, training=True)), to_np(x)
    a = 1 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    b = ALPHA * a * p
    kept = np.isclose(y, xs * a + b, rtol=1e-5, atol=1e-6).reshape(30, 40, -1).all(-1)
    dropped = np.isclose(y, -ALPHA * a + b, rtol=1e-5, atol=1e-6).reshape(30, 40, -1).all(-1)
    assert (kept ^ dropped).all()
    assert 0.4 < dropped.mean() < 0.6


@pytest.mark.parametrize("fn", [F.alpha_dropout, F.feature_alpha_dropout])
def test_alpha_dropout_defaults_to_eval_and_edge_probabilities(fn, device):
    x = taimatsu.tensor(rand(3, 4, 2), device=device)
    assert fn(x) is x  # training defaults to False, as in PyTorch
    assert fn(x, 0.0, training=True) is x
    np.testing.assert_array_equal(to_np(fn(x, 1.0, training=True)), np.zeros((3, 4, 2)))


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout2d, F.dropout3d])
def test_channel_dropout_eval_p0_p1(fn, device):
    shape = {F.dropout1d: (3, 4, 5), F.dropout2d: (3, 4, 2, 2), F.dropout3d: (3, 4, 2, 2, 2)}[fn]
    x = taimatsu.tensor(rand(*shape), device=device)
    assert fn(x, 0.5, training=False) is x
    assert fn(x, 0.0) is x
    np.testing.assert_array_equal(to_np(fn(x, 1.0)), np.zeros(shape))


@pytest.mark.parametrize("fn,shape", [(F.dropout1d, (4, 6, 3)), (F.dropout1d, (6, 3)),
                                      (F.dropout2d, (4, 6, 2, 2)), (F.dropout3d, (6, 2, 2, 2)),
                                      (F.feature_alpha_dropout, (4, 6, 3)),
                                      (F.alpha_dropout, (4, 6))])
def test_inplace_writes_into_the_input(fn, shape, device):
    data = rand(*shape, low=0.5, high=1.5)
    taimatsu.manual_seed(7)
    expected = to_np(fn(taimatsu.tensor(data, device=device), 0.5, True))
    x = taimatsu.tensor(data, device=device)
    version = x._version[0]
    taimatsu.manual_seed(7)
    assert fn(x, 0.5, True, True) is x
    np.testing.assert_array_equal(to_np(x), expected)
    assert x._version[0] > version


@pytest.mark.parametrize("fn", [F.dropout2d, F.feature_alpha_dropout])
def test_gradient_is_the_mask_scale(fn, device):
    x = taimatsu.tensor(rand(5, 6, 2, 2, low=0.5, high=1.5), device=device, requires_grad=True)
    y = fn(x, 0.4, True)
    y.backward(taimatsu.ones_like(y))
    xs, ys, gs = to_np(x), to_np(y), to_np(x.grad)
    scale = gs  # y = x * scale + shift, shift independent of x
    shift = ys - xs * scale
    assert len(np.unique(np.round(scale, 5))) == 2
    if fn is F.dropout2d:
        np.testing.assert_allclose(shift, 0, atol=1e-6)


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout3d, F.alpha_dropout])
def test_gradcheck_with_a_fixed_mask(fn, device):
    shape = {F.dropout1d: (2, 3, 2), F.dropout3d: (2, 3, 1, 2, 1), F.alpha_dropout: (3, 4)}[fn]

    def f(x):
        taimatsu.manual_seed(3)  # the same mask on every evaluation
        return fn(x, 0.5, True)

    gradcheck(f, rand(*shape, dtype=np.float64), device=device)


@pytest.mark.parametrize("cls,shape", [("Dropout1d", (8, 16, 3)), ("Dropout2d", (8, 16, 2, 2)),
                                       ("Dropout3d", (8, 16, 2, 2, 2)), ("AlphaDropout", (8, 16)),
                                       ("FeatureAlphaDropout", (8, 16, 3))])
def test_modules_train_and_eval(cls, shape, device):
    m = getattr(tnn, cls)(0.5)
    x = taimatsu.tensor(rand(*shape, low=0.5, high=1.5), device=device)
    y = m(x)
    assert not np.allclose(to_np(y), to_np(x))
    m.eval()
    assert m(x) is x


def test_module_inplace_and_seed_reproducibility(device):
    x = taimatsu.tensor(rand(6, 8, 4, low=0.5, high=1.5), device=device)
    taimatsu.manual_seed(5)
    a = to_np(tnn.Dropout1d(0.5)(x))
    taimatsu.manual_seed(5)
    b = to_np(tnn.Dropout1d(0.5)(x))
    np.testing.assert_array_equal(a, b)
    y = x.clone()
    taimatsu.manual_seed(5)
    assert tnn.Dropout1d(0.5, inplace=True)(y) is y
    np.testing.assert_array_equal(to_np(y), a)


@needs_torch
def test_alpha_dropout_matches_torch_structure():
    """The same affine constants as PyTorch: a kept unit maps to ``a x + b``, a dropped one to
    ``-alpha a + b``; the set of (x -> y) pairs PyTorch produces fits that map exactly."""
    p = 0.3
    x = torch.randn(4000)
    y = torch.nn.functional.alpha_dropout(x, p, True)
    ours = to_np(F.alpha_dropout(taimatsu.tensor(x.numpy()), p, True))
    a = 1 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    b = ALPHA * a * p
    for out in (y.numpy(), ours):
        kept = np.isclose(out, x.numpy() * a + b, rtol=1e-5, atol=1e-6)
        assert (kept | np.isclose(out, -ALPHA * a + b, rtol=1e-5, atol=1e-6)).all()
