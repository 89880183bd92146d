"""nn.utils: clip_grad_norm_ / clip_grad_value_ / get_total_norm against PyTorch;
parameters_to_vector / vector_to_parameters."""
from __future__ import annotations

import math

import numpy as np
import pytest

import taimatsu
from taimatsu import nn
from taimatsu.nn import utils
from tests.helpers import needs_torch, to_np, torch

SHAPES = [(3, 4), (5,), (), (2, 0), (2, 3, 2)]


def make_params(lib, grads=True, scale=1.0, dtype=np.float32, device="cpu"):
    rng = np.random.default_rng(0)
    params = []
    for i, s in enumerate(SHAPES):
        p = lib.nn.Parameter(lib.tensor(rng.standard_normal(s).astype(dtype)))
        if lib is taimatsu:
            p = nn.Parameter(p.to(device))
        if grads and i != 1:  # one parameter without a gradient
            g = (rng.standard_normal(s) * scale).astype(dtype)
            p.grad = lib.tensor(g) if lib is torch else taimatsu.tensor(g, device=device)
        params.append(p)
    return params


def grads_np(params):
    return [None if p.grad is None else to_np(p.grad) for p in params]


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, -math.inf, 0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, device):
    ours, ref = make_params(taimatsu, device=device), make_params(torch)
    if math.isinf(float(norm_type)):  # max/min of an empty gradient is undefined
        ours, ref = ours[:3], ref[:3]
    t_o = utils.clip_grad_norm_(ours, max_norm, norm_type=float(norm_type))
    t_r = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type=float(norm_type))
    assert isinstance(t_o, taimatsu.Tensor) and t_o.shape == () and t_o.dtype is taimatsu.float32
    assert t_o.device.type == device
    np.testing.assert_allclose(to_np(t_o), to_np(t_r), rtol=1e-5)
    for a, b in zip(grads_np(ours), grads_np(ref)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@needs_torch
def test_inf_norm_of_empty_gradient_raises():
    p = nn.Parameter(taimatsu.empty(0))
    p.grad = taimatsu.empty(0)
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        utils.clip_grad_norm_([p], 1.0, norm_type="inf")


@needs_torch
def test_clip_grad_norm_float64_and_single_tensor():
    ours = make_params(taimatsu, dtype=np.float64)
    ref = make_params(torch, dtype=np.float64)
    t_o = utils.clip_grad_norm_(ours[0], 0.1)  # a lone tensor is accepted
    t_r = torch.nn.utils.clip_grad_norm_(ref[0], 0.1)
    assert t_o.dtype is taimatsu.float64
    np.testing.assert_allclose(to_np(t_o), to_np(t_r), rtol=1e-12)
    np.testing.assert_allclose(to_np(ours[0].grad), to_np(ref[0].grad), rtol=1e-12)


def test_clip_grad_norm_generator_and_no_grads():
    m = nn.Linear(4, 3)
    total = utils.clip_grad_norm_(m.parameters(), 1.0)
    assert total.item() == 0.0
    m(taimatsu.randn(5, 4)).sum().backward()
    before = [to_np(p.grad).copy() for p in m.parameters()]
    total = utils.clip_grad_norm_(m.parameters(), 1e-3)  # a generator, walked twice
    expected = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in before))
    assert abs(total.item() - expected) < 1e-4 * expected
    after = math.sqrt(sum(float((to_np(p.grad).astype(np.float64) ** 2).sum())
                          for p in m.parameters()))
    assert abs(after - 1e-3) < 1e-5


def test_clip_grad_norm_nonfinite():
    params = make_params(taimatsu)
    params[0].grad._data[0, 0] = np.inf
    snapshot = grads_np(params)
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite, so it cannot be clipped"):
        utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    for a, b in zip(grads_np(params), snapshot):  # nothing scaled
        if a is not None:
            np.testing.assert_array_equal(a, b)
    total = utils.clip_grad_norm_(params, 1.0)
    assert math.isinf(total.item())


def test_get_total_norm_and_clip_with_norm():
    params = make_params(taimatsu)
    grads = [p.grad for p in params if p.grad is not None]
    total = utils.get_total_norm(grads)
    flat = np.concatenate([to_np(g).ravel() for g in grads]).astype(np.float64)
    assert abs(total.item() - np.linalg.norm(flat)) < 1e-5
    utils.clip_grads_with_norm_(params, 1.0, total)
    assert abs(utils.get_total_norm(grads).item() - 1.0) < 1e-4


@needs_torch
@pytest.mark.parametrize("clip_value", [0.3, 5])
def test_clip_grad_value_matches_torch(clip_value, device):
    ours, ref = make_params(taimatsu, scale=2.0, device=device), make_params(torch, scale=2.0)
    assert utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(ref, clip_value)
    for a, b in zip(grads_np(ours), grads_np(ref)):
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_clip_does_not_record_graph():
    m = nn.Linear(3, 2)
    m(taimatsu.randn(4, 3)).sum().backward()
    utils.clip_grad_norm_(m.parameters(), 0.01)
    utils.clip_grad_value_(m.parameters(), 0.001)
    assert all(p.grad.grad_fn is None and not p.grad.requires_grad for p in m.parameters())


@needs_torch
def test_parameters_to_vector_matches_torch():
    ours, ref = make_params(taimatsu), make_params(torch)
    v_o = utils.parameters_to_vector(ours)
    v_r = torch.nn.utils.parameters_to_vector(ref)
    np.testing.assert_array_equal(to_np(v_o), to_np(v_r))
    v_o.sum().backward()  # differentiable back to every parameter
    assert all(p.grad is not None for p in ours)


def test_vector_to_parameters_round_trip():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    params = list(m.parameters())
    n = sum(p.numel() for p in params)
    vec = taimatsu.arange(float(n))
    utils.vector_to_parameters(vec, m.parameters())
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]  # identity kept
    assert m[0].weight.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert m[2].bias.tolist() == [float(n - 1)]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    np.testing.assert_array_equal(to_np(utils.parameters_to_vector(m.parameters())), to_np(vec))
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        utils.vector_to_parameters([1.0], m.parameters())
