"""The backward pass: accumulation, retain/create graph, autograd.grad, hooks, errors, depth."""
from __future__ import annotations

import gc

import numpy as np
import pytest

import taimatsu
from tests.helpers import compare, needs_torch, to_np


def leaf(values, device, dtype=taimatsu.float64):
    return taimatsu.tensor(values, dtype=dtype, device=device, requires_grad=True)


def test_scalar_backward_fills_leaf_grad(device):
    x = leaf([1.0, 2.0, 3.0], device)
    (x * x).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [2.0, 4.0, 6.0])
    assert x.grad.requires_grad is False and x.grad.device == x.device


def test_grad_accumulates_across_backward_calls(device):
    x = leaf([1.0, 2.0], device)
    y = (x * 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(to_np(x.grad), [6.0, 6.0])


def test_nonscalar_backward_needs_gradient(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()
    assert x.grad is None
    (x * 2).backward(taimatsu.tensor([1.0, 10.0], dtype=taimatsu.float64, device=device))
    np.testing.assert_allclose(to_np(x.grad), [2.0, 20.0])


def test_gradient_shape_mismatch_is_named(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\[3\].*\[2\]"):
        (x * 2).backward(taimatsu.ones(3, dtype=taimatsu.float64, device=device))


def test_second_backward_through_freed_graph_fails(device):
    x = leaf([1.0, 2.0], device)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward(device):
    x = leaf([0.5], device)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = to_np(x.grad).copy()
    y.backward()
    np.testing.assert_allclose(to_np(x.grad), 2 * first)


def test_saved_tensors_are_freed_after_backward(device):
    x = leaf([1.0, 2.0], device)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node._saved is None


def test_backward_on_tensor_without_grad_fails(device):
    x = taimatsu.tensor([1.0], device=device)
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        x.sum().backward()


def test_create_graph_gives_second_derivative(device):
    x = leaf([0.3, -1.2, 2.0], device)
    y = (x * x * x).sum()
    (g,) = taimatsu.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(to_np(g), 3 * to_np(x) ** 2)
    g.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), 6 * to_np(x))


def test_third_derivative_of_exp(device):
    x = leaf([0.7], device)
    y = x.exp()
    for _ in range(3):
        (y,) = taimatsu.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(to_np(y), np.exp([0.7]))


def test_autograd_grad_leaves_dot_grad_alone(device):
    x = leaf([1.0, 2.0], device)
    w = leaf([3.0, 4.0], device)
    gx, gw = taimatsu.autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(to_np(gx), [3.0, 4.0])
    np.testing.assert_allclose(to_np(gw), [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_of_intermediate(device):
    x = leaf([1.0, 2.0], device)
    h = x * 2
    (gh,) = taimatsu.autograd.grad((h * h).sum(), h)
    np.testing.assert_allclose(to_np(gh), 2 * to_np(h))


def test_autograd_grad_unused_input(device):
    x = leaf([1.0], device)
    z = leaf([1.0], device)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        taimatsu.autograd.grad((x * 2).sum(), [x, z], retain_graph=True)
    gx, gz = taimatsu.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and to_np(gx)[0] == 2.0
    gx, gz = taimatsu.autograd.grad((x * 2).sum(), [x, z], materialize_grads=True)
    assert to_np(gz)[0] == 0.0


def test_autograd_grad_does_not_run_unrelated_branches(device):
    x = leaf([1.0], device)
    other = leaf([2.0], device)
    calls = []
    other.register_hook(lambda g: calls.append(g))
    taimatsu.autograd.grad((x * 2 + other * 3).sum(), x)
    assert calls == []


def test_backward_inputs_restricts_accumulation(device):
    x = leaf([1.0], device)
    w = leaf([2.0], device)
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None
    np.testing.assert_allclose(to_np(w.grad), [1.0])


def test_user_gradient_is_not_stored_as_grad(device):
    x = leaf([1.0, 2.0], device)
    g = taimatsu.ones(2, dtype=taimatsu.float64, device=device)
    (x * 1).backward(g)
    x.grad.add_(5)
    np.testing.assert_allclose(to_np(g), [1.0, 1.0])


def test_leaf_hook_can_replace_gradient(device):
    x = leaf([1.0, 2.0], device)
    seen = []
    handle = x.register_hook(lambda g: (seen.append(to_np(g).copy()), g * 10)[1])
    (x * 2).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 2.0])
    np.testing.assert_allclose(to_np(x.grad), [20.0, 20.0])
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [2.0, 2.0])


def test_nonleaf_hook_and_retain_grad(device):
    x = leaf([1.0, 2.0], device)
    h = x * 3
    h.retain_grad()
    h.register_hook(lambda g: g * 2)
    (h * h).sum().backward()
    np.testing.assert_allclose(to_np(h.grad), 4 * to_np(h))  # retain_grad sees the hooked grad
    np.testing.assert_allclose(to_np(x.grad), 2 * 2 * 3 * to_np(h))
    assert h.retains_grad and h.grad_fn is not None


def test_hook_on_tensor_without_grad_fails(device):
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        taimatsu.ones(2, device=device).register_hook(lambda g: g)


def test_deep_chain_has_no_recursion_limit(device):
    x = leaf([1.0], device)
    y = x
    for _ in range(20000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [1.0])


def test_graph_is_freed_after_backward():
    x = leaf(np.ones(10), "cpu")
    y = x.exp().sum()
    import weakref

    ref = weakref.ref(y.grad_fn)
    y.backward()
    del y
    gc.collect()
    assert ref() is None


def test_broadcast_gradient_is_summed_to_input_shape(device):
    x = leaf(np.ones((3, 1)), device)
    b = leaf(np.ones(4), device)
    (x * b).sum().backward()
    assert tuple(x.grad.shape) == (3, 1) and tuple(b.grad.shape) == (4,)
    np.testing.assert_allclose(to_np(x.grad), np.full((3, 1), 4.0))
    np.testing.assert_allclose(to_np(b.grad), np.full(4, 3.0))


def test_mixed_dtype_gradients_match_input_dtype(device):
    x = taimatsu.ones(3, dtype=taimatsu.float32, device=device, requires_grad=True)
    y = taimatsu.ones(3, dtype=taimatsu.float64, device=device, requires_grad=True)
    z = x * y
    assert z.dtype is taimatsu.float64
    z.sum().backward()
    assert x.grad.dtype is taimatsu.float32 and y.grad.dtype is taimatsu.float64


def test_grad_fn_names_and_repr(device):
    x = leaf([1.0], device)
    y = x * 2
    assert y.grad_fn.name() == "MulBackward0"
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert "requires_grad=True" in repr(x)
    nxt = y.grad_fn.next_functions
    assert nxt[0][0].name() == "AccumulateGrad" and nxt[0][0].variable is x


# ------------------------------------------------------------------ version counter, in-place
def test_inplace_on_saved_tensor_is_caught(device):
    x = leaf([1.0, 2.0], device)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*output 0 of "
                                           r"ExpBackward0, is at version 1; expected version 0"):
        y.sum().backward()


def test_inplace_on_leaf_requiring_grad_fails_and_changes_nothing(device):
    x = leaf([1.0, 2.0], device)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        x.add_(1)
    np.testing.assert_allclose(to_np(x), [1.0, 2.0])
    with taimatsu.no_grad():
        x.add_(1)
    np.testing.assert_allclose(to_np(x), [2.0, 3.0])


def test_inplace_replaces_history(device):
    x = leaf([1.0, 2.0], device)
    y = x * 2
    y.mul_(3)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [6.0, 6.0])


def test_inplace_mul_by_tensor_keeps_original_value_for_backward(device):
    x = leaf([1.0, 2.0], device)
    w = leaf([3.0, 4.0], device)
    y = x * 1
    y.mul_(w)
    y.sum().backward()
    np.testing.assert_allclose(to_np(w.grad), [1.0, 2.0])
    np.testing.assert_allclose(to_np(x.grad), [3.0, 4.0])


def test_inplace_int_result_cast_error(device):
    x = taimatsu.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        x += 1.5
    np.testing.assert_array_equal(to_np(x), [1, 2])


@needs_torch
def test_write_through_view_gives_base_history(device):
    def fn(T, a, w):
        b = a * 1
        b.transpose(0, 1)[0].mul_(w)
        return b

    compare(fn, np.arange(6.0).reshape(2, 3), np.array([2.0, 3.0]), device=device)


def test_view_shares_storage_and_version(device):
    a = taimatsu.zeros(2, 3, device=device)
    v = a.transpose(0, 1)
    v.add_(1)
    np.testing.assert_allclose(to_np(a), np.ones((2, 3)))
    assert a._version_counter == v._version_counter == 1


def test_detach_and_data_share_storage(device):
    x = leaf([1.0, 2.0], device)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.add_(1)
    np.testing.assert_allclose(to_np(x), [2.0, 3.0])
    assert x._version_counter == 1  # detach shares the version counter
    x.data.add_(1)
    assert x._version_counter == 1  # .data does not
    np.testing.assert_allclose(to_np(x), [3.0, 4.0])


def test_requires_grad_only_for_float(device):
    with pytest.raises(RuntimeError, match="floating point"):
        taimatsu.tensor([1, 2], device=device).requires_grad_()


def test_requires_grad_off_on_nonleaf_fails(device):
    y = leaf([1.0], device) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)


def test_numpy_of_tensor_requiring_grad_fails():
    x = leaf([1.0], "cpu")
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\)"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0]
