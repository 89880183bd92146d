"""The engine's contract with the user: a gradient has one owner, hooks run in PyTorch's order
and their results count, grad mode is per thread, and bad hook results or autograd calls raise.

Each test here failed before the fix it names (or is the one that makes a planted bug visible).
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import taimatsu
from taimatsu.autograd.gradcheck import GradcheckError
from tests.helpers import compare, needs_torch, to_np, torch


def leaf(values, device="cpu", dtype=taimatsu.float64):
    return taimatsu.tensor(values, dtype=dtype, device=device, requires_grad=True)


# ------------------------------------------------------------------ one owner per gradient
def test_leaves_never_share_gradient_memory(device):
    # Add's backward hands the very same (writable, contiguous) gradient to both leaves.
    x, y = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    ((x + y) * 2).sum().backward()
    assert x.grad.data_ptr() != y.grad.data_ptr()
    x.grad.mul_(10)
    np.testing.assert_allclose(to_np(y.grad), [2.0, 2.0])


def test_create_graph_gives_each_leaf_its_own_gradient(device):
    x, z = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    g = taimatsu.ones(2, dtype=taimatsu.float64, device=device)
    (x + z).backward(g, create_graph=True)
    assert x.grad is not z.grad and x.grad is not g
    x.grad.mul_(10)
    np.testing.assert_allclose(to_np(z.grad), [1.0, 1.0])
    np.testing.assert_allclose(to_np(g), [1.0, 1.0])


def test_create_graph_accumulates_instead_of_overwriting(device):
    x = leaf([1.0, 2.0], device)
    (x * x).sum().backward(create_graph=True)
    (x * x * x).sum().backward(create_graph=True)
    np.testing.assert_allclose(to_np(x.grad), [2 + 3, 4 + 12])
    assert x.grad.requires_grad  # the gradient keeps its history for a higher order
    (gg,) = taimatsu.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(to_np(gg), [2 + 6, 2 + 12])


def test_gradient_kept_by_a_tensor_hook_is_never_written_into(device):
    x = leaf([1.0, 2.0], device)
    kept = []
    y = (x * 3) + 1  # Add passes its gradient through: x receives the tensor the hook saw
    y.register_hook(kept.append)
    y.sum().backward()
    seen = to_np(kept[0]).copy()
    (x * 3).sum().backward()  # accumulates into x.grad in place
    np.testing.assert_allclose(to_np(kept[0]), seen)
    np.testing.assert_allclose(to_np(x.grad), [6.0, 6.0])


def test_gradient_kept_by_a_leaf_hook_is_never_written_into(device):
    x = leaf([1.0, 2.0], device)
    kept = []
    x.register_hook(kept.append)
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    np.testing.assert_allclose(to_np(kept[0]), [2.0, 2.0])
    np.testing.assert_allclose(to_np(x.grad), [4.0, 4.0])


def test_custom_backward_returning_a_held_tensor_is_copied(device):
    held = taimatsu.ones(2, dtype=taimatsu.float64, device=device)

    class Const(taimatsu.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, g):
            return held

    x = leaf([1.0, 2.0], device)
    Const.apply(x).sum().backward()
    Const.apply(x).sum().backward()
    np.testing.assert_allclose(to_np(held), [1.0, 1.0])
    np.testing.assert_allclose(to_np(x.grad), [2.0, 2.0])


def test_root_gradient_is_not_adopted(device):
    x = leaf([1.0, 2.0], device)
    g = taimatsu.ones(2, dtype=taimatsu.float64, device=device)
    x.backward(g)  # a leaf as the root: its gradient is the caller's tensor
    x.backward(g)
    np.testing.assert_allclose(to_np(g), [1.0, 1.0])
    np.testing.assert_allclose(to_np(x.grad), [2.0, 2.0])


# ------------------------------------------------------------------ hooks: order and results
def _hook_order(lib):
    x = lib.ones(2, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 3)
    y.grad_fn.register_prehook(lambda go: (go[0] * 5,))
    y.sum().backward()
    return to_np(y.grad), to_np(x.grad)


def test_retain_grad_sees_tensor_hooks_but_not_node_prehooks():
    yg, xg = _hook_order(taimatsu)
    np.testing.assert_allclose(yg, [3.0, 3.0])
    np.testing.assert_allclose(xg, [30.0, 30.0])
    if torch is not None:
        tyg, txg = _hook_order(torch)
        np.testing.assert_allclose(yg, tyg)
        np.testing.assert_allclose(xg, txg)


def test_retain_grad_accumulates_and_never_aliases_the_flowing_gradient(device):
    x = leaf([1.0, 2.0], device)
    y = x * 1
    y.retain_grad()
    z = (y * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(to_np(y.grad), [4.0, 4.0])
    np.testing.assert_allclose(to_np(x.grad), [4.0, 4.0])
    y.grad.mul_(100)
    np.testing.assert_allclose(to_np(x.grad), [4.0, 4.0])


def test_node_post_hook_result_replaces_the_gradients(device):
    x = leaf([1.0, 1.0], device)
    y = x * 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 7, None))
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [14.0, 14.0])


def _leaf_hook_order(lib):
    a = lib.ones(2, requires_grad=True)
    b = lib.ones(2, requires_grad=True)
    order = []
    a.register_hook(lambda g: order.append("a"))
    b.register_hook(lambda g: order.append("b"))
    c = a * 2
    d = c.exp() * b
    c.register_hook(lambda g: order.append(("c", b.grad is not None)))
    e = d.sum()
    e.register_hook(lambda g: order.append("e"))
    e.backward()
    return order


def test_leaf_is_finished_as_soon_as_its_last_sender_has_run():
    order = _leaf_hook_order(taimatsu)
    # b's gradient is complete once Mul has run: its hook fires and .grad is set before the
    # older nodes run (PyTorch's AccumulateGrad order), not at the end of the pass.
    assert order == ["e", "b", ("c", True), "a"]
    if torch is not None:
        assert order == _leaf_hook_order(torch)


def test_leaf_used_twice_finishes_once_with_the_sum(device):
    x = leaf([1.0, 2.0], device)
    calls = []
    x.register_hook(lambda g: calls.append(to_np(g).copy()))
    ((x * 2) + (x * x).exp().log()).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [4.0, 6.0])


@pytest.mark.parametrize("bad, error, match", [
    (lambda g: taimatsu.ones(3, dtype=g.dtype), RuntimeError, "has changed the size of value"),
    (lambda g: g.float(), RuntimeError,
     r"has changed the type of value \(was torch.DoubleTensor got torch.FloatTensor\)"),
    (lambda g: 5, TypeError, "expected Variable, but hook returned 'int'"),
])
@pytest.mark.parametrize("on", ["leaf", "non-leaf"])
def test_tensor_hook_returning_a_bad_gradient_raises(bad, error, match, on):
    x = leaf([1.0, 2.0])
    y = x * 2
    (x if on == "leaf" else y).register_hook(bad)
    with pytest.raises(error, match=match):
        y.sum().backward()
    assert x.grad is None


def test_node_hook_returning_the_wrong_count_raises():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0],))
    with pytest.raises(RuntimeError, match=r"returned an incorrect number of values \(got 1, "
                       r"but expected 2\)"):
        y.sum().backward()
    assert x.grad is None


def test_custom_backward_with_a_gradient_for_a_non_tensor_input_raises():
    class Scale(taimatsu.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g, taimatsu.ones(1)

    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="returned a gradient different than None at position "
                       "2, but the corresponding forward input was not a Variable"):
        Scale.apply(x, 3.0).sum().backward()
    assert x.grad is None


# ------------------------------------------------------------------ custom forward, grad mode
def test_custom_forward_runs_with_grad_mode_off_even_without_grad_inputs():
    w = leaf([2.0, 2.0])

    class TimesW(taimatsu.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            assert not taimatsu.is_grad_enabled()
            return a * w  # a closed-over parameter: must not be recorded

        @staticmethod
        def backward(ctx, g):
            return g * 100

    x = taimatsu.ones(2, dtype=taimatsu.float64)
    out = TimesW.apply(x)
    assert out.grad_fn is None and not out.requires_grad
    assert taimatsu.is_grad_enabled()


def test_grad_mode_is_per_thread():
    entered, done = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with taimatsu.no_grad():
            entered.set()
            done.wait(5)
            seen["worker"] = taimatsu.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    assert entered.wait(5)
    x = leaf([1.0])
    y = x * 2  # the other thread is inside no_grad right now
    done.set()
    t.join()
    assert y.requires_grad and y.grad_fn is not None
    assert seen["worker"] is False


def test_inference_mode_is_per_thread_too():
    out = {}

    def worker():
        out["inference"] = taimatsu.is_inference_mode_enabled()
        out["grad"] = taimatsu.is_grad_enabled()

    with taimatsu.inference_mode():
        assert taimatsu.is_inference_mode_enabled()
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert out == {"inference": False, "grad": True}
    assert not taimatsu.is_inference_mode_enabled()


def test_two_threads_backward_on_independent_graphs():
    errors = []

    def work(scale):
        try:
            for _ in range(200):
                x = leaf(np.arange(4.0))
                y = ((x * scale).exp() * x).sum()
                y.backward()
                expect = np.exp(scale * np.arange(4.0)) * (1 + scale * np.arange(4.0))
                np.testing.assert_allclose(to_np(x.grad), expect)
        except Exception as e:  # noqa: BLE001 (any failure is reported by the main thread)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in (0.1, 0.2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# ------------------------------------------------------------------ autograd API edges
def test_grad_with_no_inputs_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty"):
        taimatsu.autograd.grad((x * 2).sum(), [])


def test_backward_with_fewer_gradients_than_tensors_raises():
    x = leaf([1.0])
    y1, y2 = (x * 2).sum(), (x * 3).sum()
    with pytest.raises(RuntimeError, match="got 2 tensors and 1 gradients"):
        taimatsu.autograd.backward([y1, y2], [taimatsu.tensor(1.0, dtype=taimatsu.float64)])
    assert x.grad is None


# ------------------------------------------------------------------ oracles that must be able to fail
@needs_torch
@pytest.mark.parametrize("shapes", [((3, 4), (4, 4)), ((4, 4), (4, 4)), ((4, 4), (4, 3))])
@pytest.mark.parametrize("op", ["mm", "matmul"])
def test_square_right_operand_products_match_pytorch(shapes, op):
    # A backward that transposed the wrong factor is only wrong when the right operand is square.
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s) for s in shapes)
    compare(lambda T, x, y: getattr(T, op)(x, y), a, b)


class _WrongSquare(taimatsu.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a * 2.01  # off by 0.5%: beyond rtol=1e-3, so gradcheck must see it


class _RightFirstWrongSecond(taimatsu.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a * a

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        # Right values, but computed from a detached copy: the second derivative is lost.
        return g * 3 * (a.detach() * a.detach())


def test_gradcheck_fails_on_a_wrong_backward():
    x = leaf([0.5, -1.5, 2.0])
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        taimatsu.autograd.gradcheck(_WrongSquare.apply, (x,))
    assert taimatsu.autograd.gradcheck(_WrongSquare.apply, (x,), raise_exception=False) is False
    assert taimatsu.autograd.gradcheck(lambda t: t * t, (x,))


def test_gradgradcheck_fails_on_a_wrong_double_backward():
    x = leaf([0.5, -1.5, 2.0])
    assert taimatsu.autograd.gradcheck(_RightFirstWrongSecond.apply, (x,))
    assert taimatsu.autograd.gradgradcheck(_RightFirstWrongSecond.apply, (x,),
                                           raise_exception=False) is False
    assert taimatsu.autograd.gradgradcheck(lambda t: t * t * t, (x,))
