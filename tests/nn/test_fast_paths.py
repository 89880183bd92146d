"""The fused training-step nodes (linear, mse_loss, cross_entropy) and the flat parameters()
walk: same numbers, gradients and node names as PyTorch, and the layouts the speed relies on."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn.functional as F
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np


def labels(*shape, classes=5, seed=0):
    return np.random.default_rng(seed).integers(0, classes, shape)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_weight_grad_is_stored_without_a_copy(bias, device):
    x = taimatsu.tensor(rand(6, 4), device=device)
    w = taimatsu.tensor(rand(3, 4, seed=1), device=device, requires_grad=True)
    b = taimatsu.tensor(rand(3, seed=2), device=device, requires_grad=True) if bias else None
    out = F.linear(x, w, b)
    assert out.grad_fn.name() == ("AddmmBackward0" if bias else "MmBackward0")
    out.sum().backward()
    assert w.grad.is_contiguous() and w.grad.shape == w.shape


@needs_torch
def test_linear_double_backward_matches_torch(device):
    def fn(T, x, w, b):
        y = T.nn.functional.linear(x, w, b)
        (gx,) = T.autograd.grad((y * y).sum(), x, create_graph=True)
        return gx

    compare(fn, rand(5, 3), rand(4, 3, seed=1), rand(4, seed=2), device=device)


def test_linear_mixed_dtypes_raise_like_torch(device):
    x = taimatsu.tensor(rand(2, 3), dtype=taimatsu.float64, device=device)
    w = taimatsu.tensor(rand(4, 3), device=device)
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype"):
        F.linear(x, w, taimatsu.zeros(4, device=device))


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_target_gradient_matches_torch(reduction, device):
    compare(lambda T, x, t: T.nn.functional.mse_loss(x, t, reduction=reduction), rand(4, 3),
            rand(4, 3, seed=1), device=device)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_gradcheck_both_inputs(reduction, device):
    gradcheck(lambda x, t: F.mse_loss(x, t, reduction=reduction), rand(3, 2), rand(3, 2, seed=1),
              device=device)


@needs_torch
@pytest.mark.parametrize("ignore", [-100, 2, 5])  # none, some, all targets ignored (t < 5)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 5), (5,), (3, 5, 2)])
def test_cross_entropy_second_derivative_matches_torch(reduction, shape, ignore, device):
    tshape = () if len(shape) == 1 else shape[:1] + shape[2:]
    t = np.full(tshape, 5) if ignore == 5 else labels(*tshape)

    def fn(T, x, t):
        loss = T.nn.functional.cross_entropy(x, t, reduction=reduction, ignore_index=ignore)
        (gx,) = T.autograd.grad(loss.sum() if reduction == "none" else loss, x,
                                create_graph=True)
        return gx

    compare(fn, rand(*shape) * 3, t, device=device)


@pytest.mark.parametrize("ignore", [-100, 2])
def test_cross_entropy_node_is_named_like_torch(ignore, device):
    x = taimatsu.tensor(rand(4, 5), device=device, requires_grad=True)
    loss = F.cross_entropy(x, taimatsu.tensor(labels(4), device=device), ignore_index=ignore)
    assert loss.grad_fn.name() == "NllLossBackward0"


def test_cross_entropy_gradient_of_grad_output(device):
    # gradgradcheck perturbs the incoming gradient too: CrossEntropyGrad's grad w.r.t. g.
    t = taimatsu.tensor(labels(4), device=device)
    gradcheck(lambda x: F.cross_entropy(x, t, reduction="none"), rand(4, 5), device=device)
    # with ignored targets: the fused node's per-target scales
    gradcheck(lambda x: F.cross_entropy(x, t, reduction="none", ignore_index=2), rand(4, 5),
              device=device)
    gradcheck(lambda x: F.cross_entropy(x, t, ignore_index=2), rand(4, 5), device=device)


def test_parameters_order_matches_named_parameters_with_sharing():
    nn = taimatsu.nn
    shared = nn.Linear(2, 2)
    model = nn.Sequential(nn.Sequential(shared, nn.ReLU(), nn.Linear(2, 3)), shared,
                          nn.Sequential(nn.Linear(3, 1), shared))
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
    assert [id(p) for p in model.parameters(recurse=False)] == []
    assert len(list(model.parameters())) == 6
    assert to_np(next(model.parameters())).shape == (2, 2)
