"""no_grad / enable_grad / set_grad_enabled / inference_mode as context managers and decorators."""
from __future__ import annotations

import taimatsu


def test_no_grad_context_records_nothing(device):
    x = taimatsu.ones(2, device=device, requires_grad=True)
    with taimatsu.no_grad():
        y = x * 2
        assert not taimatsu.is_grad_enabled()
    assert taimatsu.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_decorator():
    @taimatsu.no_grad()
    def f(x):
        return x * 2

    x = taimatsu.ones(2, requires_grad=True)
    assert not f(x).requires_grad
    assert taimatsu.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = taimatsu.ones(2, requires_grad=True)
    with taimatsu.no_grad():
        with taimatsu.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_as_function_and_context():
    x = taimatsu.ones(2, requires_grad=True)
    with taimatsu.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert taimatsu.is_grad_enabled()
    taimatsu.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    taimatsu.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_inference_mode_context_and_decorator():
    x = taimatsu.ones(2, requires_grad=True)
    with taimatsu.inference_mode():
        assert not (x * 2).requires_grad

    @taimatsu.inference_mode()
    def f():
        return x * 2

    assert not f().requires_grad
    with taimatsu.inference_mode(False):
        assert (x * 2).requires_grad


def test_grad_mode_restored_after_exception():
    try:
        with taimatsu.no_grad():
            raise ValueError
    except ValueError:
        pass
    assert taimatsu.is_grad_enabled()
