"""Lazy modules: shape inference on the first call, placeholders, state dicts, errors."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
from taimatsu import nn
from taimatsu.nn.parameter import Parameter, UninitializedBuffer, UninitializedParameter
from tests.helpers import needs_torch, rand, to_np, torch

LAZY = [
    ("LazyLinear", "Linear", (5,), {}, (3, 7)),
    ("LazyConv1d", "Conv1d", (4, 3), {"stride": 2}, (2, 3, 9)),
    ("LazyConv2d", "Conv2d", (6, 3), {"padding": 1, "groups": 2}, (2, 4, 5, 5)),
    ("LazyConv2d", "Conv2d", (6, 3), {"bias": False}, (4, 5, 5)),  # unbatched
    ("LazyConv3d", "Conv3d", (2, 2), {}, (1, 3, 3, 3, 3)),
    ("LazyConvTranspose1d", "ConvTranspose1d", (4, 3), {"stride": 2}, (2, 3, 5)),
    ("LazyConvTranspose2d", "ConvTranspose2d", (4, 3), {"groups": 2}, (2, 6, 4, 4)),
    ("LazyConvTranspose3d", "ConvTranspose3d", (2, 2), {}, (1, 3, 2, 3, 2)),
]


@pytest.mark.parametrize("lazy, eager, args, kw, shape", LAZY)
def test_first_call_materialises_and_becomes_eager(device, lazy, eager, args, kw, shape):
    m = getattr(nn, lazy)(*args, **kw).to(device)
    assert m.has_uninitialized_params()
    assert isinstance(m.weight, UninitializedParameter)
    y = m(taimatsu.randn(*shape, device=device))
    assert type(m) is getattr(nn, eager)
    assert not isinstance(m.weight, UninitializedParameter)
    assert isinstance(m.weight, Parameter) and m.weight.requires_grad
    assert m.weight.device == taimatsu.device(device)
    eager_m = getattr(nn, eager)
    in_dim = shape[-1] if lazy == "LazyLinear" else shape[1 if len(shape) == len(
        m.weight.shape) else 0]
    ref = eager_m(in_dim, *args, **kw)
    assert tuple(m.weight.shape) == tuple(ref.weight.shape)
    assert list(m.state_dict()) == list(ref.state_dict())
    assert y.shape == ref.to(device)(taimatsu.randn(*shape, device=device)).shape
    assert repr(m) == repr(ref)


@needs_torch
@pytest.mark.parametrize("lazy, eager, args, kw, shape", LAZY)
def test_matches_torch_lazy_module(lazy, eager, args, kw, shape):
    ours, theirs = getattr(nn, lazy)(*args, **kw), getattr(torch.nn, lazy)(*args, **kw)
    assert repr(ours) == repr(theirs)
    x = rand(*shape)
    ours(taimatsu.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(to_np(v)) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(to_np(ours(taimatsu.tensor(x))), to_np(theirs(torch.tensor(x))),
                               rtol=1e-4, atol=1e-5)


def test_initialisation_is_pytorch_default():
    taimatsu.manual_seed(0)
    m = nn.LazyConv2d(8, 3)
    m(taimatsu.randn(1, 4, 6, 6))
    bound = 1 / np.sqrt(4 * 9)
    w = to_np(m.weight)
    assert np.abs(w).max() <= bound and w.std() > bound / 3


def test_state_dict_of_placeholders_and_loading_values():
    lazy = nn.LazyLinear(4)
    sd = lazy.state_dict()
    assert isinstance(sd["weight"], UninitializedParameter)
    assert repr(sd["weight"]) == "<UninitializedParameter>"
    ref = nn.Linear(7, 4)
    lazy.load_state_dict(ref.state_dict())
    assert tuple(lazy.weight.shape) == (4, 7)
    np.testing.assert_array_equal(to_np(lazy.weight), to_np(ref.weight))
    # Loaded values are kept by the first call (it only infers what is still missing).
    lazy(taimatsu.randn(2, 7))
    assert type(lazy) is nn.Linear
    np.testing.assert_array_equal(to_np(lazy.weight), to_np(ref.weight))


def test_dtype_set_before_first_call_is_kept():
    m = nn.LazyConv1d(3, 2).double()
    m(taimatsu.randn(2, 4, 5, dtype=taimatsu.float64))
    assert m.weight.dtype == taimatsu.float64 and m.bias.dtype == taimatsu.float64


def test_optimizer_sees_materialised_parameters():
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
    model(taimatsu.randn(4, 3))
    opt = taimatsu.optim.SGD(model.parameters(), lr=0.1)
    loss = model(taimatsu.randn(4, 3)).pow(2).sum()
    loss.backward()
    before = to_np(model[0].weight).copy()
    opt.step()
    assert not np.array_equal(before, to_np(model[0].weight))


def test_placeholder_has_no_shape():
    p = UninitializedParameter()
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized "
                                           "parameter or buffer"):
        p.shape  # noqa: B018 - the access is the test
    b = UninitializedBuffer()
    assert repr(b) == "<UninitializedBuffer>"
    b.materialize((2, 3))
    assert type(b) is taimatsu.Tensor and tuple(b.shape) == (2, 3)


def test_wrong_rank_input_leaves_module_lazy():
    m = nn.LazyConv2d(4, 3)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input "
                                           r"to LazyConv2d, but got input of size"):
        m(taimatsu.randn(5, 5))
    assert type(m) is nn.LazyConv2d and m.has_uninitialized_params()


def test_groups_must_divide_inferred_channels():
    m = nn.LazyConv2d(4, 3, groups=2)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        m(taimatsu.randn(1, 3, 5, 5))
    assert type(m) is nn.LazyConv2d and m.has_uninitialized_params()


def test_initialize_parameters_is_required():
    class Bad(nn.modules.lazy.LazyModuleMixin, nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented "
                                                  "for Bad"):
        Bad()(taimatsu.ones(1))
