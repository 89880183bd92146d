"""The public ``autograd.Function`` API that built-in ops use too."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
from taimatsu.autograd import Function, once_differentiable
from tests.helpers import needs_torch, to_np


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


def test_custom_function_forward_backward_and_name(device):
    x = taimatsu.tensor([1.0, 2.0], dtype=taimatsu.float64, device=device, requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    np.testing.assert_allclose(to_np(y), [2.0, 16.0])
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [6.0, 24.0])


def test_custom_function_is_twice_differentiable(device):
    x = taimatsu.tensor([1.5], dtype=taimatsu.float64, device=device, requires_grad=True)
    assert taimatsu.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), [x])
    assert taimatsu.autograd.gradgradcheck(lambda t: Cube.apply(t, 2.0), [x])


def test_no_graph_when_no_input_requires_grad(device):
    y = Cube.apply(taimatsu.ones(2, device=device), 1.0)
    assert y.grad_fn is None and not y.requires_grad


def test_forward_runs_with_grad_mode_off():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(taimatsu.is_grad_enabled())
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Probe.apply(taimatsu.ones(1, requires_grad=True))
    assert seen == [False]


def test_needs_input_grad():
    flags = []

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):
            flags.append(ctx.needs_input_grad)
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return (g * b if ctx.needs_input_grad[0] else None,
                    g * a if ctx.needs_input_grad[1] else None)

    a = taimatsu.ones(2, requires_grad=True)
    b = taimatsu.ones(2)
    Mul.apply(a, b).sum().backward()
    assert flags == [(True, False)]
    assert b.grad is None and a.grad is not None


def test_multiple_outputs_and_non_differentiable(device):
    class SortLike(Function):
        @staticmethod
        def forward(ctx, x):
            idx = taimatsu.tensor([1, 0], device=x.device)
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            assert g_idx is None or not g_idx.requires_grad
            return g * 2

    x = taimatsu.ones(2, device=device, requires_grad=True)
    out, idx = SortLike.apply(x)
    assert out.requires_grad and not idx.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [2.0, 2.0])


def test_materialize_grads_default_and_off(device):
    received = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            received.append(g2)
            return g1 + (0 if g2 is None else g2 * 2), None

    for materialize in (True, False):
        x = taimatsu.ones(2, device=device, requires_grad=True)
        a, _ = Two.apply(x, materialize)
        a.sum().backward()
    assert received[0] is not None and float(received[0].sum()) == 0.0
    assert received[1] is None


def test_mark_dirty_inplace_function(device):
    class AddOneInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x._data += 1
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    w = taimatsu.ones(2, device=device, requires_grad=True)
    y = w * 3
    out = AddOneInplace.apply(y)
    assert out is y and y.grad_fn.name() == "AddOneInplaceBackward"
    np.testing.assert_allclose(to_np(y), [4.0, 4.0])
    y.sum().backward()
    np.testing.assert_allclose(to_np(w.grad), [3.0, 3.0])


def test_returning_an_input_gives_an_alias_with_history(device):
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = taimatsu.ones(2, device=device, requires_grad=True)
    y = Ident.apply(x)
    assert y is not x and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [5.0, 5.0])


def test_wrong_number_of_gradients(device):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    x = taimatsu.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"function BadBackward returned an incorrect number of "
                                           r"gradients \(expected 2, got 1\)"):
        Bad.apply(x, x).sum().backward()
    assert x.grad is None


def test_wrong_gradient_shape(device):
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return taimatsu.ones(3, device=g.device)

    x = taimatsu.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"returned an invalid gradient at index 0 - got \[3\] "
                                           r"but expected shape compatible with \[2\]"):
        Bad.apply(x).sum().backward()
    assert x.grad is None


def test_saved_tensor_modified_in_place_is_caught():
    x = taimatsu.ones(2, requires_grad=True)
    y = x * 1
    out = Cube.apply(y, 1.0)
    y.add_(1)
    with pytest.raises(RuntimeError, match="saved by CubeBackward, is at version 1; expected "
                                           "version 0"):
        out.sum().backward()


def test_once_differentiable(device):
    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = taimatsu.tensor([3.0], device=device, requires_grad=True)
    (g,) = taimatsu.autograd.grad(Sq.apply(x).sum(), x)
    assert to_np(g)[0] == 6.0
    go = taimatsu.ones(1, device=device, requires_grad=True)
    (g,) = taimatsu.autograd.grad(Sq.apply(x), x, go, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


@needs_torch
def test_tutorial_relu_function_matches_torch():
    import torch

    from taimatsu.examples.tutorial.custom_function import MyReLU

    data = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    x = taimatsu.tensor(data, requires_grad=True)
    MyReLU.apply(x).sum().backward()
    tx = torch.tensor(data, requires_grad=True)
    torch.relu(tx).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy())
