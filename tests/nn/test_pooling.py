"""Pooling: every F.*pool* form and the pooling layers against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch

F = taimatsu.nn.functional

MAX_CASES = [
    (1, (3, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),  # unbatched
    (1, (2, 3, 8), {"kernel_size": 2, "dilation": 3, "ceil_mode": True}),
    (2, (2, 3, 9, 8), {"kernel_size": 2}),
    (2, (2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    (2, (2, 3, 9, 8), {"kernel_size": (3, 2), "stride": (2, 3), "padding": (1, 1), "dilation": (2, 1),
                           "ceil_mode": True}),
    (2, (3, 5, 5), {"kernel_size": 2, "stride": 1}),  # unbatched
    (3, (1, 2, 3, 4, 5), {"kernel_size": 2, "stride": 1, "padding": 1}),
    (3, (1, 2, 5, 4, 5), {"kernel_size": (3, 2, 2), "stride": 2, "ceil_mode": True}),
]


@needs_torch
@pytest.mark.parametrize("n, shape, kw", MAX_CASES)
def test_max_pool_matches_torch(device, n, shape, kw):
    compare(lambda T, x: getattr(T.nn.functional, f"max_pool{n}d")(x, return_indices=True, **kw),
            rand(*shape), device=device)
    compare(lambda T, x: getattr(T.nn.functional, f"max_pool{n}d_with_indices")(x, **kw),
            rand(*shape), device=device, non_contiguous=True)


@needs_torch
def test_max_pool_ties_nan_and_int(device):
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 1] = np.nan
    compare(lambda T, x: T.nn.functional.max_pool2d(x, 2, return_indices=True), x, grad=False,
            device=device)
    xi = np.arange(32).reshape(2, 1, 4, 4) % 5
    compare(lambda T, x: T.nn.functional.max_pool2d(x, 2, 1, return_indices=True), xi,
            device=device)


AVG_CASES = [
    (1, (3, 9), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    (2, (2, 3, 9, 8), {"kernel_size": 2}),
    (2, (2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                           "count_include_pad": False}),
    (2, (2, 3, 9, 8), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    (2, (3, 9, 8), {"kernel_size": 3, "padding": 1, "divisor_override": 5}),
    (3, (1, 2, 3, 4, 5), {"kernel_size": 2, "stride": 1, "padding": 1, "ceil_mode": True}),
]


@needs_torch
def test_avg_pool_integers(device):
    x = (np.arange(2 * 5 * 5).reshape(1, 2, 5, 5) * 7 % 11 - 5).astype(np.int64)
    compare(lambda T, x: T.nn.functional.avg_pool2d(x, 2, 1, padding=1), x, device=device)
    compare(lambda T, x: T.nn.functional.avg_pool2d(x, 3, divisor_override=4), x, device=device)


@needs_torch
@pytest.mark.parametrize("n, shape, kw", AVG_CASES)
def test_avg_pool_matches_torch(device, n, shape, kw):
    compare(lambda T, x: getattr(T.nn.functional, f"avg_pool{n}d")(x, **kw), rand(*shape),
            device=device, non_contiguous=n > 1)


ADAPTIVE_CASES = [
    (1, (2, 3, 7), 4),
    (1, (3, 7), 9),  # upsampling windows overlap
    (2, (2, 3, 9, 8), (4, None)),
    (2, (2, 3, 9, 8), (5, 3)),
    (2, (3, 6, 5), 1),
    (3, (1, 2, 3, 4, 5), (2, 3, 2)),
]


@needs_torch
@pytest.mark.parametrize("n, shape, size", ADAPTIVE_CASES)
def test_adaptive_pools_match_torch(device, n, shape, size):
    compare(lambda T, x: getattr(T.nn.functional, f"adaptive_avg_pool{n}d")(x, size),
            rand(*shape), device=device)
    compare(lambda T, x: getattr(T.nn.functional, f"adaptive_max_pool{n}d")(
        x, size, return_indices=True), rand(*shape), device=device)


@needs_torch
@pytest.mark.parametrize("n, shape, args", [
    (1, (2, 3, 9), (3, 2)), (2, (2, 3, 9, 8), (2, 3, 2)), (2, (3, 9, 8), (1.5, 2, 1, True)),
    (3, (1, 2, 4, 5, 4), (2, 2)),
])
def test_lp_pool_matches_torch(device, n, shape, args):
    compare(lambda T, x: getattr(T.nn.functional, f"lp_pool{n}d")(x, *args),
            rand(*shape, low=0.1), device=device)


@needs_torch
def test_lp_pool_infinite_norm(device):
    compare(lambda T, x: T.nn.functional.lp_pool2d(x, float("inf"), 2), rand(1, 2, 4, 4),
            device=device)


@needs_torch
@pytest.mark.parametrize("n, shape, kernel, kw", [
    (2, (2, 3, 9, 8), 2, {"output_size": (5, 4)}),
    (2, (2, 3, 9, 8), (2, 3), {"output_ratio": (0.5, 0.5)}),
    (2, (3, 7, 7), 3, {"output_size": 1}),  # unbatched
    (3, (1, 2, 5, 6, 7), 2, {"output_size": (3, 3, 4)}),
])
def test_fractional_max_pool_matches_torch_given_samples(device, n, shape, kernel, kw):
    batch = 1 if len(shape) == n + 1 else shape[0]
    u = rand(batch, shape[-n - 1], n, low=0, high=1, seed=7)
    compare(lambda T, x: getattr(T.nn.functional, f"fractional_max_pool{n}d")(
        x, kernel, return_indices=True, _random_samples=T.tensor(u, device=x.device), **kw),
        rand(*shape), device=device)


def test_fractional_max_pool_draws_from_the_generator(device):
    x = taimatsu.randn(2, 3, 9, 9, device=device)
    taimatsu.manual_seed(3)
    a = F.fractional_max_pool2d(x, 2, output_size=4)
    taimatsu.manual_seed(3)
    b = taimatsu.nn.FractionalMaxPool2d(2, output_size=4)(x)
    np.testing.assert_array_equal(to_np(a), to_np(b))


@needs_torch
@pytest.mark.parametrize("n, shape, kw, size", [
    (1, (2, 3, 9), {"kernel_size": 3, "stride": 2}, None),
    (2, (2, 3, 9, 8), {"kernel_size": 2}, (9, 8)),
    (2, (3, 8, 8), {"kernel_size": 3, "stride": 2, "padding": 1}, (8, 8)),  # unbatched
    (3, (1, 2, 4, 4, 4), {"kernel_size": 2}, None),
])
def test_max_unpool_matches_torch(device, n, shape, kw, size):
    def roundtrip(T, x):
        y, i = getattr(T.nn.functional, f"max_pool{n}d")(x, return_indices=True, **kw)
        return getattr(T.nn.functional, f"max_unpool{n}d")(y, i, output_size=size, **kw)

    compare(roundtrip, rand(*shape), device=device)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.max_pool2d(x, 2, 1, dilation=2),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
    lambda x: F.adaptive_max_pool2d(x, (4, 3)),
    lambda x: F.lp_pool2d(x, 2, 2),
    lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
    lambda x: F.max_pool1d(x.flatten(2), 3),
    lambda x: F.avg_pool3d(x.unsqueeze(2), (1, 2, 2), padding=(0, 1, 1)),
])
def test_pool_gradcheck(device, fn):
    # Distinct values: a max with ties has no derivative there.
    x = np.random.default_rng(0).permutation(60).reshape(1, 2, 6, 5) / 10 + 0.5
    gradcheck(fn, x, device=device)


def test_max_pool_gradient_paths_agree(device):
    """The fused array backward (bincount) equals the create_graph one (scatter_add)."""
    x = taimatsu.tensor(rand(2, 3, 7, 6), device=device, requires_grad=True)
    g = taimatsu.tensor(rand(2, 3, 4, 4, seed=2), device=device, requires_grad=True)
    (a,) = taimatsu.autograd.grad(F.max_pool2d(x, 3, 2, 1, ceil_mode=True), x, g)
    (b,) = taimatsu.autograd.grad(F.max_pool2d(x, 3, 2, 1, ceil_mode=True), x, g,
                                  create_graph=True)
    assert b.requires_grad
    np.testing.assert_allclose(to_np(a), to_np(b), rtol=1e-6)


# ------------------------------------------------------------------------------ errors
def _x(*shape):
    return taimatsu.randn(*shape)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: F.max_pool2d(_x(1, 1, 5, 5), 3, padding=2), RuntimeError,
     ("pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
     "dilation=1")),
    (lambda: F.max_pool2d(_x(1, 1, 5, 5), 7), RuntimeError,
     r"Given input size: \(1x5x5\). Calculated output size: \(1x0x0\). Output size is too small"),
    (lambda: F.max_pool2d(_x(5), 2), RuntimeError,
     r"non-empty 3D or 4D \(batch mode\) tensor expected for input"),
    (lambda: F.max_pool2d(_x(1, 1, 0, 4), 1), RuntimeError,
     (r"Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, but "
     r"got:\[1, 1, 0, 4\]")),
    (lambda: F.max_pool2d(_x(1, 1, 5, 5), 2, stride=0), RuntimeError,
     "stride should not be zero"),
    (lambda: F.max_pool2d(_x(1, 1, 5, 5), 2, dilation=0), RuntimeError,
     "dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda: F.avg_pool2d(_x(1, 1, 5, 5), 2, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size"),
    (lambda: F.max_unpool2d(_x(1, 1, 5, 5), taimatsu.zeros(1, 1, 4, 4, dtype=taimatsu.long), 2),
     RuntimeError, (r"Expected shape of indices to be same as that of the input tensor "
                   r"\(\[1, 1, 5, 5\]\) but got indices tensor with shape: \[1, 1, 4, 4\]")),
    (lambda: F.max_unpool2d(_x(1, 1, 5, 5), taimatsu.full((1, 1, 5, 5), 100), 2), RuntimeError,
     r"Found an invalid max index: 100 \(output volumes are of size 10x10\)"),
    (lambda: F.max_unpool2d(_x(1, 1, 5, 5), _x(1, 1, 5, 5), 2), RuntimeError,
     "elements in indices should be type int64 but got: Float"),
    (lambda: F.max_unpool2d(*F.max_pool2d(_x(1, 1, 4, 4), 2, return_indices=True), 2,
                            output_size=(9, 9)), ValueError,
     r'invalid output_size "\(9, 9\)" \(dim 0 must be between 2 and 6\)'),
    (lambda: F.fractional_max_pool2d(_x(1, 1, 5, 5), 2), ValueError,
     "fractional_max_pool2d requires specifying either an output_size or an output_ratio"),
    (lambda: F.fractional_max_pool2d(_x(1, 1, 5, 5), 2, output_size=5), RuntimeError,
     r"fractional_max_pool2d\(\): pool height 2 too large relative to input height 5"),
    (lambda: taimatsu.nn.FractionalMaxPool2d(2, output_ratio=1.5), ValueError,
     r"output_ratio must be between 0 and 1 \(got 1.5\)"),
    (lambda: taimatsu.nn.FractionalMaxPool2d(2, output_size=2, output_ratio=0.5), ValueError,
     "only one of output_size and output_ratio may be specified"),
])
def test_pool_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_unpool_misuse_changes_nothing():
    x = taimatsu.randn(1, 1, 4, 4)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    before = to_np(i).copy()
    with pytest.raises(RuntimeError, match="elements in indices should be type int64"):
        taimatsu.nn.MaxUnpool2d(2)(y, y)  # values passed where the indices belong
    np.testing.assert_array_equal(to_np(i), before)


# ------------------------------------------------------------------------------ layers
LAYERS = [
    ("MaxPool1d", (3, 1, 1), {"return_indices": True}, (2, 3, 7)),
    ("MaxPool2d", (3, 2, 1), {"ceil_mode": True}, (2, 3, 8, 7)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AvgPool1d", (3,), {"count_include_pad": False, "padding": 1}, (2, 3, 7)),
    ("AvgPool2d", (3,), {"divisor_override": 2}, (2, 3, 7, 7)),
    ("AvgPool3d", (2,), {"ceil_mode": True}, (2, 3, 3, 5)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 4, 7)),
    ("AdaptiveAvgPool2d", ((2, None),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 3, 4, 5)),
    ("AdaptiveMaxPool1d", (3, True), {}, (2, 4, 7)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool3d", ((1, 2, 2),), {}, (1, 2, 3, 4, 5)),
    ("LPPool1d", (2, 3), {}, (2, 3, 7)),
    ("LPPool2d", (2, 3), {"stride": 2}, (2, 3, 7, 7)),
    ("LPPool3d", (1, 2), {}, (1, 2, 4, 4, 4)),
]


@needs_torch
@pytest.mark.parametrize("name, args, kw, shape", LAYERS)
def test_layer_matches_torch(device, name, args, kw, shape):
    ours, theirs = getattr(taimatsu.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    compare(lambda T, x: (ours if T is taimatsu else theirs)(x), rand(*shape, low=0.1),
            device=device)


@needs_torch
@pytest.mark.parametrize("name, n", [("FractionalMaxPool2d", 2), ("FractionalMaxPool3d", 3)])
def test_fractional_layers_match_torch(device, name, n):
    u = rand(2, 3, n, low=0, high=1)
    shape = (2, 3) + (7,) * n

    def run(T, x):
        m = getattr(T.nn, name)(2, output_ratio=0.5, return_indices=True,
                                _random_samples=T.tensor(u, device=device if T is taimatsu
                                                         else "cpu"))
        assert repr(m) == f"{name}()"
        return m(x)

    compare(run, rand(*shape), device=device)


@needs_torch
@pytest.mark.parametrize("n", [1, 2, 3])
def test_unpool_layers_match_torch(device, n):
    ours, theirs = getattr(taimatsu.nn, f"MaxUnpool{n}d")(2), getattr(torch.nn, f"MaxUnpool{n}d")(2)
    assert repr(ours) == repr(theirs)
    shape = (2, 3) + (4,) * n

    def run(T, x):
        y, i = getattr(T.nn, f"MaxPool{n}d")(2, return_indices=True)(x)
        return (ours if T is taimatsu else theirs)(y, i)

    compare(run, rand(*shape), device=device)


def test_empty_batch(device):
    x = taimatsu.zeros(0, 3, 4, 4, device=device, requires_grad=True)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    assert tuple(y.shape) == (0, 3, 2, 2) and tuple(i.shape) == (0, 3, 2, 2)
    assert tuple(F.avg_pool2d(x, 2).shape) == (0, 3, 2, 2)
    assert tuple(F.adaptive_avg_pool2d(x, 3).shape) == (0, 3, 3, 3)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 4, 4)
